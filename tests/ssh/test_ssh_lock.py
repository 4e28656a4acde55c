"""One upload and apply at a time per folder on a real sshd, and a lock that ends with SSH.

A holder takes the server's lock and only then is the second apply started, so it always finds
the lock held; nothing here waits on the clock but for the one state a test needs.
"""

import getpass
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from screens.remote import RemoteTarget
from screens.ssh_session import SshSession
from tests.conftest import ROOT, busybox_applets, next_line
from tests.ssh.conftest import APPLY_STATUS, NO_AGENT, make_bundle, target_for
from tests.ssh.sshd_server import SshServer
from wizard.deliver.folder_swap import stale_staging_dirs
from wizard.deliver.remote import RemoteSteps, read_local_bundle, upload_bundle
from wizard.deliver.remote_lock import remote_lock
from wizard.errors import WizardError
from wizard.ssh.connection import connect

pytestmark = pytest.mark.ssh

TIMEOUT = 120
SINCE = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}"
HOLDER = """
import sys
from pathlib import Path
from wizard.ssh.connection import ConnectOptions, connect
from wizard.ssh.target import resolve_target
from wizard.deliver.remote_lock import remote_lock

where, key, ssh_dir, remote_dir = sys.argv[1:]
target = resolve_target(where, identity=Path(key), ssh_dir=Path(ssh_dir))
with connect(target, ConnectOptions(use_agent=False)) as connection:
    with remote_lock(connection, remote_dir):
        print("held", flush=True)
        sys.stdin.read()
"""


def apply_cli(
    sshd: SshServer, home: Path, bundle: Path, remote: Path
) -> subprocess.CompletedProcess[str]:
    """Run `matrix-wizard apply` of a bundle to a folder on the test server, as root."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "wizard",
            "apply",
            str(bundle),
            "--remote-dir",
            str(remote),
            "--ssh",
            f"root@127.0.0.1:{sshd.port}",
            "--identity",
            str(sshd.client_keys["ed25519"]),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "HOME": str(home), "SSH_AUTH_SOCK": ""},
        stdin=subprocess.DEVNULL,
        timeout=TIMEOUT,
        check=False,
    )


def holder_pid(lock_file: Path) -> int:
    """Return the pid a held lock file names."""
    first = lock_file.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("pid "), first
    return int(first.removeprefix("pid "))


def test_a_second_apply_is_refused_with_who_holds_the_remote_folder(
    sshd: SshServer, ssh_dir: Path, tmp_path: Path
) -> None:
    home = ssh_dir.parent
    (home / ".ssh").symlink_to(ssh_dir)
    remote = tmp_path / "server" / "matrix"
    lock_file = remote.parent / ".matrix.lock"
    with connect(target_for(sshd, ssh_dir), NO_AGENT) as connection:
        upload_bundle(connection, read_local_bundle(make_bundle(tmp_path / "a", "a")), str(remote))
    before = sorted(path.name for path in remote.parent.iterdir())
    second = make_bundle(tmp_path / "b", "b")
    with (
        connect(target_for(sshd, ssh_dir), NO_AGENT) as connection,
        remote_lock(connection, str(remote)) as notices,
    ):
        assert notices == ()
        pid = holder_pid(lock_file)
        refused = apply_cli(sshd, home, second, remote)
        assert (remote / "secrets.yaml").read_text() == "password: a-secret\n"
    assert refused.returncode == 1, refused.stderr
    who = re.escape(f"matrix-wizard apply from {getpass.getuser()}@{socket.gethostname()}")
    assert re.fullmatch(
        f"matrix-wizard: error: {re.escape(f'root@127.0.0.1:{sshd.port}:{remote}')} is locked "
        f"by another run, pid {pid} on the server \\({who}\\), since {SINCE}: wait for it to "
        "finish, then run the same command again\n",
        refused.stderr,
    ), refused.stderr
    assert refused.stdout == ""
    assert sorted(path.name for path in remote.parent.iterdir()) == before
    assert stale_staging_dirs(remote) == []

    done = apply_cli(sshd, home, second, remote)
    assert done.returncode == APPLY_STATUS, done.stderr
    assert f"applying b as 0 in {remote}\n" in done.stdout
    assert not lock_file.exists()


def test_a_killed_wizard_lets_the_remote_folder_go_with_its_ssh_session(
    sshd: SshServer, ssh_dir: Path, tmp_path: Path
) -> None:
    home = ssh_dir.parent
    (home / ".ssh").symlink_to(ssh_dir)
    remote = tmp_path / "server" / "matrix"
    lock_file = remote.parent / ".matrix.lock"
    holding = subprocess.Popen(
        [
            sys.executable,
            "-c",
            HOLDER,
            f"root@127.0.0.1:{sshd.port}",
            str(sshd.client_keys["ed25519"]),
            str(ssh_dir),
            str(remote),
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert next_line(holding.stdout) == "held\n"
        assert lock_file.exists()
    finally:
        holding.kill()
        holding.wait(timeout=TIMEOUT)
    # The shell on the server holding the lock sees its input end with the session, deletes
    # the lock file and ends; wait for that state, not for a time.
    deadline = time.monotonic() + TIMEOUT
    while lock_file.exists():
        assert time.monotonic() < deadline, "the lock outlived its SSH session"
        time.sleep(0.01)
    done = apply_cli(sshd, home, make_bundle(tmp_path / "bundle", "after"), remote)
    assert done.returncode == APPLY_STATUS, done.stderr
    assert f"applying after as 0 in {remote}\n" in done.stdout


def test_the_wizard_on_screen_is_refused_too(
    sshd: SshServer, ssh_dir: Path, tmp_path: Path
) -> None:
    remote = tmp_path / "server" / "matrix"
    session = SshSession(ssh_dir=ssh_dir, use_agent=False, remote_dir=str(remote))
    target = RemoteTarget("127.0.0.1", sshd.port, "root", str(sshd.client_keys["ed25519"]))
    session.connect(target, lambda key: False, lambda prompt: None)
    lines: list[str] = []
    try:
        with (
            connect(target_for(sshd, ssh_dir), NO_AGENT) as connection,
            remote_lock(connection, str(remote)),
            pytest.raises(WizardError) as refused,
        ):
            session.upload_and_apply(
                make_bundle(tmp_path / "bundle", "tui"), lines.append, dry_run=False
            )
    finally:
        session.close()
    assert refused.value.message.startswith(
        f"root@127.0.0.1:{sshd.port}:{remote} is locked by another run, pid "
    )
    assert lines == []
    assert not remote.exists()


def test_a_server_without_flock_is_used_unlocked_with_a_notice(
    sshd: SshServer, ssh_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = busybox_applets(tmp_path / "busybox-bin", flock=False)
    command = RemoteSteps.command

    def without_flock(steps: RemoteSteps, step: str, *args: str) -> str:
        return f"PATH={path} {command(steps, step, *args)}"

    monkeypatch.setattr(RemoteSteps, "command", without_flock)
    remote = tmp_path / "server" / "matrix"
    with (
        connect(target_for(sshd, ssh_dir), NO_AGENT) as connection,
        remote_lock(connection, str(remote)) as notices,
    ):
        assert notices == (
            f"root@127.0.0.1:{sshd.port} has no flock command, so nothing keeps another run "
            f"from changing {remote} at the same time; install util-linux there to have it "
            "locked.",
        )
        assert list(remote.parent.iterdir()) == []
