"""Host keys against a real sshd: unknown keys need the person's word, changed keys are refused."""

import socket
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import require_program
from tests.ssh.conftest import NO_AGENT, target_for
from tests.ssh.sshd_server import SshServer, free_port, start_server
from wizard.errors import WizardError
from wizard.ssh.connection import ConnectOptions, HostKeyQuestion, connect
from wizard.ssh.timeouts import Timeouts

pytestmark = pytest.mark.ssh


@pytest.fixture
def stranger_dir(tmp_path: Path) -> Path:
    """Return a ~/.ssh folder that knows no host yet."""
    folder = tmp_path / "dot-ssh"
    folder.mkdir(mode=0o700)
    return folder


def _logged_in(sshd: SshServer, offset: int) -> bool:
    return "Accepted publickey" in sshd.log_of_ended_connection(offset)


def test_an_unknown_key_is_refused_without_the_persons_word(
    sshd: SshServer, stranger_dir: Path
) -> None:
    offset = sshd.log_offset()
    with pytest.raises(WizardError) as refused:
        connect(target_for(sshd, stranger_dir), NO_AGENT)
    assert sshd.fingerprint in refused.value.message
    assert f"--accept-host-key {sshd.fingerprint}" in refused.value.hint
    assert not (stranger_dir / "known_hosts").exists()
    assert not _logged_in(sshd, offset)


def test_the_right_fingerprint_accepts_and_remembers_the_key(
    sshd: SshServer, stranger_dir: Path
) -> None:
    options = ConnectOptions(use_agent=False, accept_host_key=sshd.fingerprint)
    with connect(target_for(sshd, stranger_dir), options) as connection:
        assert connection.notices == [
            f"Remembered the host key of [127.0.0.1]:{sshd.port} in {stranger_dir / 'known_hosts'}."
        ]
    assert (stranger_dir / "known_hosts").read_text(encoding="utf-8") == sshd.known_hosts_line
    assert (stranger_dir / "known_hosts").stat().st_mode & 0o777 == 0o600
    with connect(target_for(sshd, stranger_dir), NO_AGENT) as again:
        assert again.notices == []


def test_a_wrong_fingerprint_is_refused(sshd: SshServer, stranger_dir: Path) -> None:
    wrong = "SHA256:" + "A" * 43
    offset = sshd.log_offset()
    options = ConnectOptions(use_agent=False, accept_host_key=wrong)
    with pytest.raises(WizardError) as refused:
        connect(target_for(sshd, stranger_dir), options)
    assert f"not the {wrong} given with --accept-host-key" in refused.value.message
    assert not (stranger_dir / "known_hosts").exists()
    assert not _logged_in(sshd, offset)


@pytest.mark.parametrize("accepted", [True, False])
def test_the_person_is_asked_with_the_fingerprint(
    sshd: SshServer, stranger_dir: Path, accepted: bool
) -> None:
    questions: list[HostKeyQuestion] = []

    def decide(question: HostKeyQuestion) -> bool:
        questions.append(question)
        return accepted

    options = ConnectOptions(use_agent=False, confirm_host_key=decide)
    if accepted:
        connect(target_for(sshd, stranger_dir), options).close()
    else:
        with pytest.raises(WizardError):
            connect(target_for(sshd, stranger_dir), options)
    assert questions == [
        HostKeyQuestion(f"[127.0.0.1]:{sshd.port}", "ssh-ed25519", sshd.fingerprint)
    ]
    assert (stranger_dir / "known_hosts").exists() == accepted


def test_a_hashed_known_hosts_entry_is_recognised(sshd: SshServer, ssh_dir: Path) -> None:
    require_program("ssh-keygen")
    subprocess.run(
        ["ssh-keygen", "-H", "-f", str(ssh_dir / "known_hosts")],
        check=True,
        capture_output=True,
        timeout=30,
    )
    assert (ssh_dir / "known_hosts").read_text(encoding="utf-8").startswith("|1|")
    connect(target_for(sshd, ssh_dir), NO_AGENT).close()


@pytest.fixture
def restartable() -> Iterator[SshServer]:
    """Yield a server of this test's own, free to restart with a new host key."""
    yield from start_server()


def test_a_changed_key_is_refused_whatever_the_flags(restartable: SshServer, ssh_dir: Path) -> None:
    known = restartable.known_hosts_line
    (ssh_dir / "known_hosts").write_text(known, encoding="utf-8")
    connect(target_for(restartable, ssh_dir), NO_AGENT).close()
    restartable.restart(new_host_key=True)
    offset = restartable.log_offset()
    asked: list[HostKeyQuestion] = []

    def say_yes(question: HostKeyQuestion) -> bool:
        asked.append(question)
        return True

    options = ConnectOptions(
        use_agent=False, accept_host_key=restartable.fingerprint, confirm_host_key=say_yes
    )
    with pytest.raises(WizardError) as refused:
        connect(target_for(restartable, ssh_dir), options)
    assert refused.value.message.startswith(
        f"WARNING: the host key of [127.0.0.1]:{restartable.port} has changed"
    )
    assert restartable.fingerprint in refused.value.message
    assert f"ssh-keygen -R '[127.0.0.1]:{restartable.port}'" in refused.value.hint
    assert asked == []
    assert (ssh_dir / "known_hosts").read_text(encoding="utf-8") == known
    assert not _logged_in(restartable, offset)


def test_a_closed_port_fails_at_once(sshd: SshServer, ssh_dir: Path) -> None:
    target = target_for(sshd, ssh_dir)
    closed = replace(target, port=free_port())
    with pytest.raises(WizardError) as refused:
        connect(closed, NO_AGENT)
    assert refused.value.message == (
        f"127.0.0.1 port {closed.port} refused the connection: no SSH server listens there"
    )


def test_a_server_that_sends_no_banner_times_out(sshd: SshServer, ssh_dir: Path) -> None:
    target = target_for(sshd, ssh_dir)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        mute = replace(target, port=silent.getsockname()[1])
        options = ConnectOptions(use_agent=False, timeouts=Timeouts(banner=0.5))
        with pytest.raises(WizardError) as refused:
            connect(mute, options)
    assert refused.value.message == (
        f"127.0.0.1 port {mute.port} accepted the connection but sent no SSH banner within 0.5 s"
    )


def test_a_host_that_never_answers_fails_within_the_connect_timeout(
    sshd: SshServer, ssh_dir: Path
) -> None:
    target = target_for(sshd, ssh_dir)
    with socket.socket() as full, socket.socket() as filler:
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        filler.connect(full.getsockname())  # fills the backlog: further SYNs are dropped
        unanswered = replace(target, port=full.getsockname()[1])
        options = ConnectOptions(use_agent=False, timeouts=Timeouts(connect=0.5))
        with pytest.raises(WizardError) as refused:
            connect(unanswered, options)
    assert refused.value.message == f"no answer from 127.0.0.1 port {unanswered.port} within 0.5 s"
