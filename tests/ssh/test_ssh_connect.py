"""Connecting to a real sshd: each key type, passphrases, passwords, the agent and ssh config."""

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_program
from tests.ssh.conftest import NO_AGENT, target_for
from tests.ssh.sshd_server import CLIENT_KEY_TYPES, KEY_PASSPHRASE, SshServer
from tests.waiting import wait_until
from wizard.errors import WizardError
from wizard.ssh.connection import ConnectOptions, connect
from wizard.ssh.target import resolve_target

pytestmark = pytest.mark.ssh


def _user_of(options: ConnectOptions, sshd: SshServer, ssh_dir: Path, **target: object) -> str:
    with connect(target_for(sshd, ssh_dir, **target), options) as connection:  # type: ignore[arg-type]
        return connection.run("id -un").stdout.decode().strip()


@pytest.mark.parametrize("kind", CLIENT_KEY_TYPES)
def test_each_key_type_logs_in(sshd: SshServer, ssh_dir: Path, kind: str) -> None:
    offset = sshd.log_offset()
    assert _user_of(NO_AGENT, sshd, ssh_dir, key=sshd.client_keys[kind]) == "root"
    assert "Accepted publickey for root" in sshd.log_of_ended_connection(offset)


def test_an_encrypted_key_is_opened_with_the_passphrase_asked_for(
    sshd: SshServer, ssh_dir: Path
) -> None:
    prompts: list[str] = []

    def answer(prompt: str) -> str:
        prompts.append(prompt)
        return KEY_PASSPHRASE

    options = ConnectOptions(use_agent=False, ask_secret=answer)
    assert _user_of(options, sshd, ssh_dir, key=sshd.encrypted_key) == "root"
    assert prompts == [f"Passphrase for the key {sshd.encrypted_key}: "]


def test_a_wrong_passphrase_is_named_among_the_ways_tried(sshd: SshServer, ssh_dir: Path) -> None:
    options = ConnectOptions(use_agent=False, ask_secret=lambda prompt: "not it")
    with pytest.raises(WizardError) as refused:
        connect(target_for(sshd, ssh_dir, key=sshd.encrypted_key), options)
    assert f"key file {sshd.encrypted_key}: wrong passphrase" in refused.value.details
    assert "not it" not in str(refused.value)


def test_an_encrypted_key_without_a_terminal_says_so(sshd: SshServer, ssh_dir: Path) -> None:
    with pytest.raises(WizardError) as refused:
        connect(target_for(sshd, ssh_dir, key=sshd.encrypted_key), NO_AGENT)
    assert any("passphrase and there is no terminal" in line for line in refused.value.details)


def test_a_key_the_server_does_not_know_is_refused_with_each_way_tried(
    sshd: SshServer, ssh_dir: Path
) -> None:
    with pytest.raises(WizardError) as refused:
        connect(target_for(sshd, ssh_dir, key=sshd.stranger_key), NO_AGENT)
    error = refused.value
    assert error.message == f"cannot log in to root@127.0.0.1:{sshd.port}: every way was refused"
    assert len(error.details) == 2
    assert error.details[0].startswith(f"key file {sshd.stranger_key} (ED25519 SHA256:")
    assert error.details[0].endswith(": refused by the server")
    assert error.details[1] == "password: not asked, there is no terminal to ask on"


def _password_target(sshd: SshServer, tmp_path: Path, ssh_dir: Path) -> object:
    empty = tmp_path / "no-keys"
    empty.mkdir()
    (empty / "known_hosts").write_text(sshd.known_hosts_line, encoding="utf-8")
    return resolve_target(f"{sshd.password_user.name}@127.0.0.1:{sshd.port}", ssh_dir=empty)


def test_a_password_logs_in_and_a_wrong_one_is_refused(
    sshd: SshServer, tmp_path: Path, ssh_dir: Path
) -> None:
    target = _password_target(sshd, tmp_path, ssh_dir)
    right = ConnectOptions(use_agent=False, ask_secret=lambda prompt: sshd.password_user.password)
    with connect(target, right) as connection:  # type: ignore[arg-type]
        assert connection.run("id -un").stdout.decode().strip() == sshd.password_user.name
    wrong = ConnectOptions(use_agent=False, ask_secret=lambda prompt: "wrong password")
    with pytest.raises(WizardError) as refused:
        connect(target, wrong)  # type: ignore[arg-type]
    assert refused.value.details == ["password: refused by the server"]
    assert "wrong password" not in str(refused.value)


@pytest.fixture
def agent(tmp_path: Path, sshd: SshServer) -> Iterator[str]:
    """Yield the socket of a real ssh-agent holding the server's RSA client key."""
    require_program("ssh-agent")
    socket_path = str(tmp_path / "agent.sock")
    process = subprocess.Popen(
        ["ssh-agent", "-D", "-a", socket_path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_until(lambda: os.path.exists(socket_path), "ssh-agent to make its socket")
        subprocess.run(
            ["ssh-add", "-q", str(sshd.client_keys["rsa"])],
            env={**os.environ, "SSH_AUTH_SOCK": socket_path},
            check=True,
            timeout=30,
            capture_output=True,
        )
        yield socket_path
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_agent_key_is_tried_first(
    sshd: SshServer, tmp_path: Path, agent: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSH_AUTH_SOCK", agent)
    offset = sshd.log_offset()
    empty = tmp_path / "no-keys"
    empty.mkdir()
    (empty / "known_hosts").write_text(sshd.known_hosts_line, encoding="utf-8")
    target = resolve_target(f"root@127.0.0.1:{sshd.port}", ssh_dir=empty)
    assert target.identity_files == ()
    with connect(target, ConnectOptions()) as connection:
        assert connection.run("id -un").stdout.decode().strip() == "root"
    log = sshd.log_of_ended_connection(offset)
    assert "Accepted publickey for root" in log
    assert "RSA SHA256:" in log


def test_a_host_alias_is_resolved_from_the_ssh_config(sshd: SshServer, ssh_dir: Path) -> None:
    (ssh_dir / "config").write_text(
        "Host matrix-box\n"
        "    HostName 127.0.0.1\n"
        f"    Port {sshd.port}\n"
        f"    User {sshd.sudo_user.name}\n"
        f"    IdentityFile {sshd.client_keys['ecdsa']}\n",
        encoding="utf-8",
    )
    target = resolve_target("matrix-box", ssh_dir=ssh_dir)
    assert (target.hostname, target.port, target.user) == ("127.0.0.1", sshd.port, "mwsudo")
    with connect(target, NO_AGENT) as connection:
        assert connection.run("id -un").stdout.decode().strip() == sshd.sudo_user.name
