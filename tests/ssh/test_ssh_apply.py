"""Upload and apply over SSH against a real sshd: whole or not at all, then apply.sh, streamed."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_program
from tests.ssh.conftest import APPLY_STATUS, NO_AGENT, make_bundle, target_for
from tests.ssh.sshd_server import SshServer
from wizard.deliver.folder_swap import stale_staging_dirs
from wizard.deliver.manifest import verify_bundle
from wizard.deliver.remote import read_local_bundle, run_apply, upload_bundle
from wizard.errors import WizardError
from wizard.ssh.connection import connect

pytestmark = pytest.mark.ssh


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wizard", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "HOME": str(home), "SSH_AUTH_SOCK": ""},
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )


def _files(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Return each file under a folder: its bytes and mode."""
    return {
        path.relative_to(folder).as_posix(): (path.read_bytes(), stat.S_IMODE(path.stat().st_mode))
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_apply_uploads_swaps_in_runs_apply_sh_and_passes_its_status_on(
    sshd: SshServer, ssh_dir: Path, tmp_path: Path
) -> None:
    home = ssh_dir.parent
    (home / ".ssh").symlink_to(ssh_dir)
    bundle = make_bundle(tmp_path / "bundle", "first")
    remote = tmp_path / "server" / "matrix"
    flags = ["--ssh", f"root@127.0.0.1:{sshd.port}", "--identity", str(sshd.client_keys["ecdsa"])]
    done = _cli(home, "apply", str(bundle), "--remote-dir", str(remote), *flags)
    assert done.returncode == APPLY_STATUS, done.stderr
    assert f"applying first as 0 in {remote}\n" in done.stdout
    assert "a warning on stderr" in done.stderr
    assert _files(remote) == _files(bundle)
    assert _files(remote)["secrets.yaml"][1] == 0o600
    assert verify_bundle(remote) == []
    make_bundle(bundle, "second")
    again = _cli(home, "apply", str(bundle), "--remote-dir", str(remote), *flags)
    assert again.returncode == APPLY_STATUS, again.stderr
    assert f"applying second as 0 in {remote}\n" in again.stdout
    assert f"The bundle it replaced is kept in {remote}.previous." in again.stderr
    assert b"first-secret" in _files(Path(f"{remote}.previous"))["secrets.yaml"][0]
    assert b"second-secret" in _files(remote)["secrets.yaml"][0]
    assert sorted(path.name for path in remote.parent.iterdir()) == ["matrix", "matrix.previous"]


def test_a_dry_run_shows_the_plan_and_changes_nothing(
    sshd: SshServer, ssh_dir: Path, tmp_path: Path
) -> None:
    home = ssh_dir.parent
    (home / ".ssh").symlink_to(ssh_dir)
    bundle = make_bundle(tmp_path / "bundle", "dry")
    remote = tmp_path / "server" / "matrix"
    done = _cli(
        home,
        "apply",
        str(bundle),
        "--remote-dir",
        str(remote),
        "--dry-run",
        "--ssh",
        f"root@127.0.0.1:{sshd.port}",
        "--identity",
        str(sshd.client_keys["ed25519"]),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        f"Dry run: nothing was uploaded or changed on root@127.0.0.1:{sshd.port}."
    )
    assert "    0600  secrets.yaml" in done.stdout
    assert f"  run: cd {remote} && ./apply.sh\n" in done.stdout + "\n"
    assert not remote.parent.exists()


def test_a_bundle_without_apply_sh_is_refused(tmp_path: Path, sshd: SshServer) -> None:
    bundle = make_bundle(tmp_path / "bundle", "incomplete")
    (bundle / "apply.sh").unlink()
    done = _cli(tmp_path, "apply", str(bundle), "--ssh", f"root@127.0.0.1:{sshd.port}")
    assert done.returncode == 2
    assert f"{bundle} holds no apply.sh: there is nothing to run on the server" in done.stderr


def test_a_connection_dropped_mid_upload_leaves_the_previous_bundle_whole(
    sshd: SshServer, ssh_dir: Path, tmp_path: Path
) -> None:
    remote = tmp_path / "server" / "matrix"
    first = read_local_bundle(make_bundle(tmp_path / "first", "first"))
    with connect(target_for(sshd, ssh_dir), NO_AGENT) as connection:
        upload_bundle(connection, first, str(remote))
    before = _files(remote)
    big = read_local_bundle(make_bundle(tmp_path / "big", "big", big=48 * 1024 * 1024))
    killed: list[int] = []

    def cut_at_a_quarter(path: str, sent: int, total: int) -> None:
        if not killed and sent > total // 4:
            for process in sshd.session_processes():
                killed.append(process.pid)
                process.kill()

    with (
        connect(target_for(sshd, ssh_dir), NO_AGENT) as connection,
        pytest.raises(WizardError) as lost,
    ):
        upload_bundle(connection, big, str(remote), progress=cut_at_a_quarter)
    assert killed
    assert lost.value.message.startswith(f"the connection to root@127.0.0.1:{sshd.port} was lost")
    assert _files(remote) == before
    assert verify_bundle(remote) == []
    stale = stale_staging_dirs(remote)
    assert len(stale) == 1
    with connect(target_for(sshd, ssh_dir), NO_AGENT) as connection:
        result = upload_bundle(connection, first, str(remote))
    assert f"Deleted {stale[0]}, left behind by an interrupted earlier upload." in result.notices
    assert stale_staging_dirs(remote) == []


def test_permission_denied_on_the_server_is_said_and_leaves_nothing(
    sshd: SshServer, ssh_dir: Path, tmp_path: Path
) -> None:
    bundle = read_local_bundle(make_bundle(tmp_path / "bundle", "denied"))
    remote = sshd.root_only / "matrix"
    user = sshd.password_user.name
    with (
        connect(target_for(sshd, ssh_dir, user=user), NO_AGENT) as connection,
        pytest.raises(WizardError) as refused,
    ):
        upload_bundle(connection, bundle, str(remote))
    assert refused.value.message == (
        f"cannot upload to {user}@127.0.0.1:{sshd.port}:{remote}: permission denied beside "
        f"{remote} (nothing was changed there)"
    )
    assert list(sshd.root_only.iterdir()) == []


def test_a_bundle_bigger_than_the_free_space_is_refused_before_sending(
    sshd: SshServer, ssh_dir: Path, tmp_path: Path
) -> None:
    bundle = read_local_bundle(make_bundle(tmp_path / "bundle", "huge", big=512 * 1024))
    remote = sshd.small / "matrix"
    with (
        connect(target_for(sshd, ssh_dir), NO_AGENT) as connection,
        pytest.raises(WizardError) as refused,
    ):
        upload_bundle(connection, bundle, str(remote))
    assert f"the disk holding {sshd.small} has" in refused.value.message
    assert "(nothing was changed there)" in refused.value.message
    assert list(sshd.remote_path(sshd.small).iterdir()) == []


def test_a_disk_that_fills_during_the_upload_is_said_and_cleaned(
    sshd: SshServer, ssh_dir: Path, tmp_path: Path
) -> None:
    bundle = read_local_bundle(make_bundle(tmp_path / "bundle", "filled", big=96 * 1024))
    remote = sshd.small / "matrix"
    filler = sshd.remote_path(sshd.small) / "filler"

    def fill_the_disk(path: str, sent: int, total: int) -> None:
        if not filler.exists():
            with filler.open("wb") as file, pytest.raises(OSError):
                while True:
                    file.write(b"\0" * 4096)
                    file.flush()

    try:
        with (
            connect(target_for(sshd, ssh_dir), NO_AGENT) as connection,
            pytest.raises(WizardError) as refused,
        ):
            upload_bundle(connection, bundle, str(remote), progress=fill_the_disk)
        assert refused.value.message.startswith(
            f"cannot upload to root@127.0.0.1:{sshd.port}:{remote}: the server's disk is full "
            f"(nothing was changed in {remote}"
        )
        assert [path.name for path in sshd.remote_path(sshd.small).iterdir()] == ["filler"]
    finally:
        filler.unlink(missing_ok=True)


def test_a_user_without_sudo_gets_the_bundle_but_apply_sh_is_not_run(
    sshd: SshServer, ssh_dir: Path, tmp_path: Path
) -> None:
    bundle = read_local_bundle(make_bundle(tmp_path / "bundle", "plain"))
    output: list[tuple[str, str]] = []
    with connect(target_for(sshd, ssh_dir, user=sshd.password_user.name), NO_AGENT) as connection:
        result = upload_bundle(connection, bundle, "~/matrix")
        with pytest.raises(WizardError) as refused:
            run_apply(connection, result.state, lambda stream, text: output.append((stream, text)))
    assert result.state.target == f"{sshd.password_user.home}/matrix"
    assert "apply.sh was not run: this user is not root and has no passwordless sudo" in str(
        refused.value
    )
    assert output == []
    assert (sshd.password_user.home / "matrix" / "apply.sh").is_file()


def test_a_user_with_passwordless_sudo_runs_apply_sh_as_root(
    sshd: SshServer, ssh_dir: Path, tmp_path: Path
) -> None:
    require_program("sudo")
    bundle = read_local_bundle(make_bundle(tmp_path / "bundle", "sudo"))
    output: list[tuple[str, str]] = []
    with connect(target_for(sshd, ssh_dir, user=sshd.sudo_user.name), NO_AGENT) as connection:
        result = upload_bundle(connection, bundle, "~/matrix")
        status = run_apply(
            connection, result.state, lambda stream, text: output.append((stream, text))
        )
    assert status == APPLY_STATUS
    stdout = "".join(text for stream, text in output if stream == "stdout")
    assert stdout == f"applying sudo as 0 in {sshd.sudo_user.home}/matrix\n"
    assert stat.S_IMODE((sshd.sudo_user.home / "matrix" / "secrets.yaml").stat().st_mode) == 0o600


def test_apply_output_arrives_while_apply_sh_still_runs(
    sshd: SshServer, ssh_dir: Path, tmp_path: Path
) -> None:
    folder = make_bundle(tmp_path / "bundle", "live")
    signal_file = tmp_path / "go-on"
    (folder / "apply.sh").write_text(
        "#!/bin/sh\n"
        "echo started\n"
        "tries=0\n"
        f"while [ ! -e {signal_file} ] && [ $tries -lt 300 ]; do\n"
        "    sleep 0.1\n"
        "    tries=$((tries + 1))\n"
        "done\n"
        f"[ -e {signal_file} ] && echo 'saw the reply' || echo 'never saw the reply'\n",
        encoding="utf-8",
    )
    output: list[str] = []

    def reply(stream: str, text: str) -> None:
        output.append(text)
        if "started" in text:
            signal_file.touch()

    with connect(target_for(sshd, ssh_dir), NO_AGENT) as connection:
        result = upload_bundle(connection, read_local_bundle(folder), str(tmp_path / "remote"))
        assert run_apply(connection, result.state, reply) == 0
    assert "".join(output) == "started\nsaw the reply\n"
