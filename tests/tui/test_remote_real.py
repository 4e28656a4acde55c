"""Remote mode on screen against the real OpenSSH server: host keys, the probe, upload and apply."""

import os
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Input, Log, Static

from screens.dialogs import HostKeyDialog, SecretDialog
from screens.machine import MachineStep
from screens.remote import HostKey, RemoteTarget
from screens.ssh_session import SshSession
from screens.state import WizardState
from screens.widgets.choices import Choices
from tests.ssh.conftest import APPLY_STATUS, make_bundle, ssh_dir
from tests.ssh.sshd_server import KEY_PASSPHRASE, SshServer, sshd
from tests.tui.conftest import (
    asynctest,
    connect_on_screen,
    dialog_on_screen,
    field_problem,
    go_on,
    refused,
    screen_text,
    settle,
    step,
    type_into,
    wizard,
    write_and_dry_run,
)
from wizard.deliver.remote import read_local_bundle
from wizard.ssh.known_hosts import known_hosts_name
from wizard.ssh.timeouts import Timeouts

__all__ = ["ssh_dir", "sshd"]

pytestmark = [pytest.mark.tui, pytest.mark.ssh]

QUICK = Timeouts(connect=5.0, banner=5.0, auth=10.0)


@pytest.fixture
def stranger_dir(tmp_path: Path) -> Path:
    """Return a ~/.ssh folder whose known_hosts does not exist yet."""
    folder = tmp_path / "stranger-ssh"
    folder.mkdir(mode=0o700)
    return folder


def session_for(folder: Path, remote_dir: Path | None = None) -> SshSession:
    """Return a session that reads known_hosts from folder and asks no agent."""
    return SshSession(
        timeouts=QUICK,
        ssh_dir=folder,
        use_agent=False,
        remote_dir=str(remote_dir) if remote_dir else None,
    )


async def fill_in_and_connect(
    pilot: Pilot[int], sshd: SshServer, *, user: str = "root", key: Path | None = None
) -> MachineStep:
    """Choose remote mode, fill in the test server and press Connect."""
    return await connect_on_screen(
        pilot, "127.0.0.1", sshd.port, user, key or sshd.client_keys["ed25519"]
    )


async def host_key_dialog(pilot: Pilot[int]) -> HostKeyDialog:
    """Wait for the SSH worker to ask about the host key, and return the dialog."""
    return await dialog_on_screen(pilot, HostKeyDialog)


async def give_secret(pilot: Pilot[int], secret: str | None) -> str:
    """Answer the password or passphrase question, or decline it; return its prompt."""
    dialog = await dialog_on_screen(pilot, SecretDialog)
    prompt = screen_text(pilot.app)
    if secret is None:
        await pilot.press("escape")
    else:
        dialog.query_one("#secret", Input).value = secret
        await pilot.pause()
        assert secret not in screen_text(pilot.app)
        await pilot.press("enter")
    await settle(pilot)
    return prompt


@asynctest
async def test_accepting_the_real_key_shows_the_remote_probe_then_applies_a_dry_run(
    sshd: SshServer, stranger_dir: Path, tmp_path: Path
) -> None:
    remote = tmp_path / "server" / "matrix"
    session = session_for(stranger_dir, remote)
    out = tmp_path / "bundle"
    app = wizard(WizardState(out_dir=str(out)), session_factory=lambda: session)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        machine = await fill_in_and_connect(pilot, sshd)
        dialog = await host_key_dialog(pilot)
        shown = str(dialog.query_one("#fingerprint", Static).content)
        assert sshd.fingerprint in shown
        await pilot.click("#accept")
        await settle(pilot)
        assert machine.failure is None
        assert machine.facts is not None
        assert machine.facts.source == "ssh"
        assert machine.facts.cpu.logical == os.cpu_count()
        assert machine.valid
        known = (stranger_dir / "known_hosts").read_text(encoding="utf-8")
        assert known == sshd.known_hosts_line

        done = await write_and_dry_run(pilot)
        lines = list(done.query_one("#apply-log", Log).lines)
        status = str(done.query_one("#apply-status", Static).content)
        assert status == "apply.sh finished", "\n".join(lines)
        assert lines[0].startswith(f"Uploaded {len(read_local_bundle(out).files)} files")
        assert "apply.sh: dry run: the actions below are printed, none is taken" in lines
        assert "==> checking the programs this needs" in lines
        assert (remote / "apply.sh").read_bytes() == (out / "apply.sh").read_bytes()
    assert session.connection is None


@asynctest
async def test_refusing_the_real_key_leaves_it_unconnected(
    sshd: SshServer, stranger_dir: Path
) -> None:
    session = session_for(stranger_dir)
    async with wizard(session_factory=lambda: session).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        machine = await fill_in_and_connect(pilot, sshd)
        await host_key_dialog(pilot)
        await pilot.click("#refuse")
        await settle(pilot)
        assert await refused(pilot)
        problem = field_problem(machine, "remote.host")
        assert problem is not None
        assert f"is not known: it is ssh-ed25519 {sshd.fingerprint}" in problem
        assert session.connection is None
    assert not (stranger_dir / "known_hosts").exists()


@asynctest
async def test_a_changed_real_key_is_refused_without_a_question(
    sshd: SshServer, stranger_dir: Path
) -> None:
    other = Path(f"{sshd.stranger_key}.pub").read_text(encoding="utf-8").split()
    line = f"{known_hosts_name('127.0.0.1', sshd.port)} {other[0]} {other[1]}\n"
    (stranger_dir / "known_hosts").write_text(line, encoding="utf-8")
    session = session_for(stranger_dir)
    async with wizard(session_factory=lambda: session).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        machine = await fill_in_and_connect(pilot, sshd)
        await settle(pilot)
        assert not isinstance(pilot.app.screen, HostKeyDialog)
        assert await refused(pilot)
        problem = field_problem(machine, "remote.host")
        assert problem is not None
        name = known_hosts_name("127.0.0.1", sshd.port)
        assert problem.startswith(f"WARNING: the host key of {name} has changed: it is now ")
        assert sshd.fingerprint in problem
    assert (stranger_dir / "known_hosts").read_text(encoding="utf-8") == line


@asynctest
async def test_a_key_with_a_passphrase_is_unlocked_with_what_the_person_types(
    sshd: SshServer, ssh_dir: Path
) -> None:
    session = session_for(ssh_dir)
    app = wizard(session_factory=lambda: session)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        machine = await fill_in_and_connect(pilot, sshd, key=sshd.encrypted_key)
        prompt = await give_secret(pilot, KEY_PASSPHRASE)
        assert f"Passphrase for the key {sshd.encrypted_key}" in prompt
        assert machine.failure is None, machine.failure
        assert machine.facts is not None and machine.facts.source == "ssh"
        assert KEY_PASSPHRASE not in repr(app.state)
    session.close()


@asynctest
async def test_a_password_logs_in_and_a_declined_one_says_what_was_tried(
    sshd: SshServer, ssh_dir: Path
) -> None:
    user = sshd.password_user
    assert user.password is not None
    session = session_for(ssh_dir)
    async with wizard(session_factory=lambda: session).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        machine = await fill_in_and_connect(pilot, sshd, user=user.name, key=sshd.stranger_key)
        prompt = await give_secret(pilot, None)
        assert f"Password for {user.name}@127.0.0.1" in prompt
        problem = field_problem(machine, "remote.host")
        assert problem is not None and "password: none given" in problem
        machine.query_one("#connect", Button).press()
        await give_secret(pilot, user.password)
        assert machine.failure is None, machine.failure
        assert machine.facts is not None and machine.facts.source == "ssh"
    session.close()


@asynctest
async def test_a_host_of_the_ssh_config_brings_its_port_and_user(
    sshd: SshServer, ssh_dir: Path
) -> None:
    config = (
        f"Host matrixbox\n  HostName 127.0.0.1\n  Port {sshd.port}\n  User root\n"
        f"  IdentityFile {sshd.client_keys['ed25519']}\n"
    )
    (ssh_dir / "config").write_text(config, encoding="utf-8")
    session = session_for(ssh_dir)
    async with wizard(session_factory=lambda: session).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        step(pilot.app).query_one("#mode", Choices).choose("remote")
        await pilot.pause()
        machine = await go_on(pilot)
        assert isinstance(machine, MachineStep)
        await type_into(pilot, "#host", "matrixbox")
        assert field_problem(machine, "remote.host") is None
        await pilot.click("#connect")
        await settle(pilot)
        assert machine.failure is None, machine.failure
        assert machine.facts is not None and machine.facts.source == "ssh"
        assert machine.valid
        session.close()


def test_a_real_apply_streams_each_line_and_passes_its_status_on(
    sshd: SshServer, ssh_dir: Path, tmp_path: Path
) -> None:
    remote = tmp_path / "server" / "matrix"
    bundle = make_bundle(tmp_path / "bundle", "real")
    session = session_for(ssh_dir, remote)
    asked: list[HostKey] = []

    def ask(key: HostKey) -> bool:
        asked.append(key)
        return False

    target = RemoteTarget("127.0.0.1", sshd.port, "root", str(sshd.client_keys["ecdsa"]))
    facts = session.connect(target, ask, lambda prompt: None)
    assert facts.source == "ssh"
    assert asked == []
    lines: list[str] = []
    try:
        status = session.upload_and_apply(bundle, lines.append, dry_run=False)
    finally:
        session.close()
    assert status == APPLY_STATUS
    assert f"applying real as 0 in {remote}" in lines
    assert "a warning on stderr" in lines
    assert all("\n" not in line for line in lines)
