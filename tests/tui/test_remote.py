"""Remote mode through a stand-in session: the failure shapes the real server cannot easily give.

This is the stand-in only for what test_remote_real.py cannot make the real OpenSSH server do
on demand (a failing apply.sh with a chosen status, markup in an error, a build without SSH);
the real connect, host-key dialog, probe and apply are tested there against the real sshd.
"""

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Log, Static

from screens.dialogs import ApplyDialog, HostKeyDialog
from screens.done import DoneStep
from screens.machine import MachineStep
from screens.remote import HostKey, HostKeyQuestion, LineSink, RemoteTarget, SecretQuestion
from screens.state import WizardState
from screens.step import StepPane
from screens.widgets.choices import Choices
from screens.write import WriteStep
from tests.tui.conftest import (
    STABLE_PROFILE,
    apply_for_real,
    assert_generate_reproduces,
    asynctest,
    connect_on_screen,
    dialog_on_screen,
    field_problem,
    go_on,
    refused,
    settle,
    step,
    type_into,
    wizard,
    write_and_dry_run,
)
from wizard.errors import WizardError
from wizard.probe.facts import HostFacts
from wizard.probe.profile import load_profile

pytestmark = pytest.mark.tui

FINGERPRINT = "SHA256:Lp3T0dcUC8nKsbBfVt4cvmqkJ2pi4hXvJZrmWkp9Svs"


class StandInSession:
    """A RemoteSession that answers from a profile, as the real one answers from the machine."""

    def __init__(
        self,
        *,
        connect_error: str | None = None,
        lines: tuple[str, ...] = ("apply.sh: checking the bundle", "apply.sh: done"),
        status: int = 0,
    ) -> None:
        self.connect_error = connect_error
        self.lines = lines
        self.status = status
        self.asked: list[HostKey] = []
        self.applied: list[tuple[Path, bool]] = []
        self.closed = False

    def connect(
        self, target: RemoteTarget, on_unknown_key: HostKeyQuestion, on_secret: SecretQuestion
    ) -> HostFacts:
        key = HostKey(host=target.host, key_type="ssh-ed25519", fingerprint=FINGERPRINT)
        self.asked.append(key)
        if not on_unknown_key(key):
            raise WizardError(f"the host key of {target.host} was refused", "nothing was sent")
        if self.connect_error is not None:
            raise WizardError(self.connect_error)
        facts = load_profile(STABLE_PROFILE)
        return facts.model_copy(update={"source": "ssh", "hostname": target.host})

    def upload_and_apply(self, bundle_dir: Path, on_line: LineSink, *, dry_run: bool) -> int:
        self.applied.append((bundle_dir, dry_run))
        for line in self.lines:
            on_line(line)
        return self.status

    def close(self) -> None:
        self.closed = True


async def connect(pilot: Pilot[int], *, accept: bool) -> MachineStep:
    """Choose remote mode, connect to vps.example.com, and accept or refuse its key."""
    machine = await connect_on_screen(pilot, "vps.example.com")
    await pilot.pause()
    await pilot.pause()
    dialog = pilot.app.screen
    assert isinstance(dialog, HostKeyDialog)
    assert FINGERPRINT in str(dialog.query_one("#fingerprint", Static).content)
    await pilot.click("#accept" if accept else "#refuse")
    await settle(pilot)
    return machine


@asynctest
async def test_remote_run_accepts_the_key_writes_and_streams_apply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session = StandInSession()
    out = tmp_path / "bundle"
    app = wizard(WizardState(out_dir=str(out)), session_factory=lambda: session)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        machine = await connect(pilot, accept=True)
        assert machine.valid
        assert machine.facts is not None
        assert machine.facts.hostname == "vps.example.com"
        done = await write_and_dry_run(pilot)
        assert session.applied == [(out.resolve(), True)]
        log = done.query_one("#apply-log", Log)
        assert list(log.lines) == list(session.lines)
        assert "apply.sh finished" in str(done.query_one("#apply-status", Static).content)
        asked = await apply_for_real(pilot, confirm=False)
        assert f"uploads {out.resolve()} to vps.example.com and runs apply.sh there" in asked
        assert session.applied[-1] == (out.resolve(), True)
        await pilot.click("#apply")
        await dialog_on_screen(pilot, ApplyDialog)
        await pilot.press("enter")  # by habit: Cancel has the focus
        await settle(pilot)
        assert session.applied[-1] == (out.resolve(), True)
        await apply_for_real(pilot)
        assert session.applied[-1] == (out.resolve(), False)
    assert session.closed
    assert_generate_reproduces(out, tmp_path, capsys)


@asynctest
async def test_refusing_the_key_leaves_the_step_unfinished() -> None:
    session = StandInSession()
    async with wizard(session_factory=lambda: session).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        machine = await connect(pilot, accept=False)
        assert await refused(pilot)
        problem = field_problem(machine, "remote.host")
        assert problem is not None
        assert problem.startswith("the host key of vps.example.com was refused")


@asynctest
async def test_a_changed_key_is_refused_and_its_words_shown_as_written() -> None:
    warning = "the host key of vps.example.com [b]CHANGED[/b]: refused"
    session = StandInSession(connect_error=warning)
    async with wizard(session_factory=lambda: session).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        machine = await connect(pilot, accept=True)
        assert await refused(pilot)
        assert field_problem(machine, "remote.host") == warning


@asynctest
async def test_a_failed_apply_says_so() -> None:
    session = StandInSession(lines=("apply.sh: port 443 is taken",), status=3)
    app = wizard(session_factory=lambda: session)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await connect(pilot, accept=True)
        for _ in range(3):
            await go_on(pilot)
        await type_into(pilot, "#server-name", "example.com")
        while not isinstance(step(app), DoneStep):
            if isinstance(step(app), WriteStep):
                await pilot.click("#write")
                await settle(pilot)
            await go_on(pilot)
        done = step(app)
        await apply_for_real(pilot)
        assert "failed with status 3" in str(done.query_one("#apply-status", Static).content)
        assert done.valid


@asynctest
async def test_the_apply_log_shows_only_once_it_has_lines_leaving_dns_in_view() -> None:
    session = StandInSession()
    app = wizard(session_factory=lambda: session)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await connect(pilot, accept=True)
        for _ in range(3):
            await go_on(pilot)
        await type_into(pilot, "#server-name", "example.com")
        while not isinstance(step(app), DoneStep):
            if isinstance(step(app), WriteStep):
                await pilot.click("#write")
                await settle(pilot)
            await go_on(pilot)
        done = step(app)
        log = done.query_one("#apply-log", Log)
        assert not log.display
        records = done.query_one("#dns")
        assert records.region.y < done.region.bottom, "the DNS records start below the fold"
        await pilot.click("#dry-run")
        await settle(pilot)
        assert log.display and list(log.lines) == list(session.lines)


async def remote_machine_step(pilot: Pilot[int]) -> StepPane:
    """Choose remote mode, go on to the Machine step and name vps.example.com as the host."""
    await settle(pilot)
    step(pilot.app).query_one("#mode", Choices).choose("remote")
    await pilot.pause()
    machine = await go_on(pilot)
    await type_into(pilot, "#host", "vps.example.com")
    return machine


@asynctest
async def test_without_ssh_support_connecting_says_how_else() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        machine = await remote_machine_step(pilot)
        await pilot.click("#connect")
        await settle(pilot)
        assert await refused(pilot)
        problem = field_problem(machine, "remote.host")
        assert problem is not None
        assert problem.startswith("connecting over SSH is not available in this build")


@asynctest
async def test_after_a_long_refusal_the_connect_button_is_still_in_view() -> None:
    refusal = (
        "vps.example.com refused every way of logging in: "
        "key file /home/you/.ssh/id_ed25519 (ED25519 SHA256:AAAA): refused by the server; "
        "key file /home/you/.ssh/id_rsa (RSA SHA256:BBBB): refused by the server; "
        "agent key (ED25519 SHA256:CCCC): refused by the server; "
        "agent key (ECDSA SHA256:DDDD): refused by the server; "
        "agent key (RSA SHA256:EEEE): refused by the server; "
        "password: refused by the server"
    )
    session = StandInSession(connect_error=refusal)
    async with wizard(session_factory=lambda: session).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        machine = await connect(pilot, accept=True)
        assert await refused(pilot)
        assert field_problem(machine, "remote.host") == refusal
        await pilot.pause()
        button = machine.query_one("#connect")
        assert machine.region.contains_region(button.region)


@asynctest
async def test_a_port_that_is_no_port_is_pointed_out_not_a_crash() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        machine = await remote_machine_step(pilot)
        machine.query_one("#port").focus()
        await pilot.press("tab")  # left once, the port's problem shows as it is typed
        for port in ("²", "٨٤٤٨", "0", "65536", "9" * 5000):
            await type_into(pilot, "#port", port)
            problem = field_problem(machine, "remote.port")
            assert problem is not None and problem.endswith("is not a port: use 1 to 65535")
        await type_into(pilot, "#port", "2222")
        assert field_problem(machine, "remote.port") is None
