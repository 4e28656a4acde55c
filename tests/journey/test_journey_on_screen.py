"""The same journey with the wizard on screen: remote mode reaches the box, writes and applies.

Driven through Textual's Pilot as a person would at 120x40: Remote on Welcome, the box's SSH
port, user and key on Machine, its host key checked against the box's own and accepted; the
probe's facts (the box's cgroup limits, and no Docker) lead the Deployment step to preselect
native; the answers of the command-line journey are entered step by step; Write writes the
bundle; the self-signed certificate is put where the Proxy step said; Done's "Upload and apply"
runs apply.sh on the box with no staging prefix. Then the README's admin command and
matrix-nio through the box's HTTPS port prove the homeserver the screen built.
"""

import asyncio
from contextlib import ExitStack
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Checkbox, Log, Static

from screens.app import WizardApp
from screens.deployment import DeploymentStep
from screens.dialogs import HostKeyDialog
from screens.domain import DomainStep
from screens.done import DoneStep
from screens.extras import ExtrasStep
from screens.proxy import ProxyStep
from screens.review import ReviewStep
from screens.ssh_session import SshSession
from screens.state import WizardState
from screens.tier import TierStep
from screens.widgets.choices import Choices
from screens.write import WriteStep
from tests.compose.engine import PROJECT_PREFIX, Engine
from tests.conftest import require_program
from tests.e2e.client import converse
from tests.e2e.support import CERTIFICATE, PRIVATE_KEY, SERVER_NAME, Timings
from tests.journey.box import Box, running_box
from tests.journey.support import bundle_context
from tests.journey.test_journey import (
    GIB,
    MESSAGE,
    PASSWORD,
    USER,
    check_running,
    install_certificate,
)
from tests.tui.conftest import (
    apply_for_real,
    connect_on_screen,
    dialog_on_screen,
    go_on,
    settle,
    step,
    type_into,
)
from wizard.answers.model import Deployment
from wizard.bundle import apply_script
from wizard.bundle.context import RenderContext

pytestmark = [pytest.mark.journey, pytest.mark.slow]


async def enter_the_answers(pilot: Pilot[int]) -> None:
    """From the connected Machine step, enter the journey's answers up to the Review step."""
    tier = await go_on(pilot)
    assert isinstance(tier, TierStep)
    tier.query_one("#kind", Choices).choose("synapse")
    await pilot.pause()
    deployment = await go_on(pilot)
    assert isinstance(deployment, DeploymentStep)
    assert deployment.query_one("#kind", Choices).selected == Deployment.NATIVE.value
    machine_has = str(deployment.query_one("#machine-has", Static).content)
    assert machine_has.startswith("This machine has no Docker with compose")
    domain = await go_on(pilot)
    assert isinstance(domain, DomainStep)
    await type_into(pilot, "#server-name", SERVER_NAME)
    await go_on(pilot)
    proxy = await go_on(pilot)
    assert isinstance(proxy, ProxyStep)
    proxy.query_one("#tls", Choices).choose("files")
    await pilot.pause()
    await type_into(pilot, "#cert-path", CERTIFICATE)
    await type_into(pilot, "#key-path", PRIVATE_KEY)
    extras = await go_on(pilot)
    assert isinstance(extras, ExtrasStep)
    for switch in ("#turn", "#prometheus"):
        extras.query_one(switch, Checkbox).value = True
        await pilot.pause()
    review = await go_on(pilot)
    assert isinstance(review, ReviewStep)
    assert review.valid, review.status


async def upload_and_apply(pilot: Pilot[int]) -> list[str]:
    """Press Done's "Upload and apply", wait for apply.sh to end there, and return its lines."""
    done = step(pilot.app)
    assert isinstance(done, DoneStep)
    await apply_for_real(pilot)
    lines = list(done.query_one("#apply-log", Log).lines)
    status = str(done.query_one("#apply-status", Static).content)
    assert status == "apply.sh finished", "\n".join(lines)
    return lines


async def drive_the_wizard(
    box: Box, bundle: Path, session: SshSession, folder: Path, timings: Timings
) -> tuple[RenderContext, list[str]]:
    """Run the journey on screen, from Welcome to apply.sh's end; return the bundle and its log."""
    app = WizardApp(
        WizardState(out_dir=str(bundle)), session_factory=lambda: session, cursor_blink=False
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        with timings.step("1. connect and probe from the Machine step"):
            machine = await connect_on_screen(pilot, "127.0.0.1", box.ports["ssh"], "root", box.key)
            dialog = await dialog_on_screen(pilot, HostKeyDialog)
            shown = str(dialog.query_one("#fingerprint", Static).content)
            assert box.host_key in shown
            await pilot.click("#accept")
            await settle(pilot)
        assert machine.failure is None
        assert machine.facts is not None
        assert machine.facts.memory.limit == 2 * GIB
        assert machine.facts.cpu.limit == 1.0
        with timings.step("2. the answers, step by step, and Write"):
            await enter_the_answers(pilot)
            write = await go_on(pilot)
            assert isinstance(write, WriteStep)
            await pilot.click("#write")
            await settle(pilot)
            assert write.valid, write.status
            await go_on(pilot)
        ctx = bundle_context(bundle)
        assert ctx.answers.deployment.kind is Deployment.NATIVE
        install_certificate(box, ctx, folder)
        with timings.step("3. Upload and apply on the Done step"):
            lines = await upload_and_apply(pilot)
    return ctx, lines


def test_the_wizard_on_screen_writes_and_applies_a_bundle_to_a_fresh_box(
    engine: Engine, tmp_path: Path, e2e_timings: list[Timings]
) -> None:
    require_program("ssh-keygen")
    timings = Timings("journey-on-screen-native-synapse-postgresql-nginx-turn-monitoring")
    e2e_timings.append(timings)
    known_hosts = tmp_path / "ssh"
    known_hosts.mkdir(mode=0o700)
    session = SshSession(ssh_dir=known_hosts, use_agent=False)
    with ExitStack() as cleanup:
        with timings.step("box started (systemd running)"):
            box = cleanup.enter_context(
                running_box(tmp_path, f"{PROJECT_PREFIX}-screen-{tmp_path.name}")
            )
        bundle = tmp_path / "bundle"
        ctx, lines = asyncio.run(drive_the_wizard(box, bundle, session, tmp_path, timings))
        assert not any("(staging: not done)" in line for line in lines)
        assert any("synapse answers" in line for line in lines), "\n".join(lines)
        assert session.connection is None
        check_running(box, ctx)

        with timings.step("4. admin from the README, then matrix-nio through HTTPS"):
            command = apply_script.admin_command(ctx)
            assert command is not None
            assert "Success" in box.run(f"{command} -u {USER} -p '{PASSWORD}'")
            base_url = f"https://{ctx.homeserver_host}:{box.ports['https']}"
            seen = converse(base_url, f"@{USER}:{ctx.server_name}", PASSWORD, MESSAGE)
        assert MESSAGE in seen.bodies
    timings.finish()
