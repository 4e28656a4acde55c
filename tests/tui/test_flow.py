"""Whole runs of the wizard, from Welcome to Done, compared with what `generate` makes."""

import re
from pathlib import Path

import pytest
import yaml
from textual.pilot import Pilot
from textual.widgets import Checkbox, Select, Static

from screens.database import DatabaseStep
from screens.deployment import DeploymentStep
from screens.domain import DomainStep
from screens.done import DoneStep
from screens.extras import ExtrasStep
from screens.machine import MachineStep
from screens.proxy import ProxyStep
from screens.review import ReviewStep
from screens.tier import TierStep
from screens.welcome import WelcomeStep
from screens.widgets.choices import Choices
from screens.write import WriteStep
from tests.tui.conftest import (
    STABLE_PROFILE,
    assert_generate_reproduces,
    asynctest,
    go_on,
    screen_text,
    settle,
    step,
    type_into,
    wizard,
)
from wizard.probe.profile import load_profile

pytestmark = pytest.mark.tui


async def review_write_and_finish(pilot: Pilot[int], out_dir: Path) -> None:
    """From Extras, go on to a valid Review, write the bundle to out_dir and finish."""
    review = await go_on(pilot)
    assert isinstance(review, ReviewStep)
    assert review.valid
    await write_and_finish(pilot, out_dir)


async def write_and_finish(pilot: Pilot[int], out_dir: Path) -> None:
    """From Review, write the bundle to out_dir, go on to Done and finish."""
    write = await go_on(pilot)
    assert isinstance(write, WriteStep)
    assert not write.valid
    await type_into(pilot, "#out-dir", str(out_dir))
    await pilot.click("#write")
    await settle(pilot)
    assert write.valid, write.screen.query_one("#nav-status", Static).content
    done = await go_on(pilot)
    assert isinstance(done, DoneStep)
    assert str(out_dir) in str(done.query_one("#where", Static).content)
    await pilot.press("ctrl+n")
    await pilot.pause()


@asynctest
async def test_planning_by_hand_writes_a_bundle_that_generate_reproduces(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bundle"
    app = wizard()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(step(app), WelcomeStep)
        step(app).query_one("#mode", Choices).choose("plan")
        await pilot.pause()

        machine = await go_on(pilot)
        assert isinstance(machine, MachineStep)
        machine.query_one("#source", Choices).choose("hand")
        await pilot.pause()
        await type_into(pilot, "#cores", "2")
        await type_into(pilot, "#ram", "2G")
        await type_into(pilot, "#disk", "40G")
        assert machine.valid

        tier = await go_on(pilot)
        assert isinstance(tier, TierStep)
        tier.query_one("#kind", Choices).choose("dendrite")
        await pilot.pause()
        tier.query_one("#tier", Choices).choose("recommended")
        await pilot.pause()

        deployment = await go_on(pilot)
        assert isinstance(deployment, DeploymentStep)
        assert deployment.query_one("#kind", Choices).selected == "compose"
        assert "The machine's programs are not known" in screen_text(app)
        needs = deployment.query_one("#needs", Static)
        deployment.query_one("#kind", Choices).choose("native")
        await pilot.pause()
        assert "apply.sh builds Dendrite on the machine" in str(needs.content)

        domain = await go_on(pilot)
        assert isinstance(domain, DomainStep)
        await type_into(pilot, "#server-name", "chat.example.net")
        assert str(domain.query_one("#preview", Static).content).endswith("@you:chat.example.net")

        database = await go_on(pilot)
        assert isinstance(database, DatabaseStep)

        proxy = await go_on(pilot)
        assert isinstance(proxy, ProxyStep)
        proxy.query_one("#kind", Choices).choose("caddy")
        await pilot.pause()

        extras = await go_on(pilot)
        assert isinstance(extras, ExtrasStep)
        extras.query_one("#turn", Checkbox).value = True
        extras.query_one("#registration", Choices).choose("token")
        await pilot.pause()
        assert not extras.valid  # Dendrite does not check registration tokens
        extras.query_one("#registration", Choices).choose("open")
        await pilot.pause()
        assert extras.valid

        await review_write_and_finish(pilot, out)
    assert app.return_code == 0

    saved = yaml.safe_load((out / "answers.yaml").read_text())
    assert saved["homeserver"] == {
        "kind": "dendrite",
        "tier": "recommended",
        "workers": None,
        "report_stats": False,
    }
    assert saved["machine"] == {"cores": 2, "ram_mb": 2048}
    assert saved["deployment"]["kind"] == "native"
    assert saved["domain"]["server_name"] == "chat.example.net"
    assert saved["proxy"]["kind"] == "caddy"
    assert saved["calls"]["turn"] is True
    assert saved["registration"]["mode"] == "open"
    assert_generate_reproduces(out, tmp_path, capsys)


@asynctest
async def test_planning_from_a_profile_tunes_for_that_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bundle"
    app = wizard()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        step(app).query_one("#mode", Choices).choose("plan")
        await pilot.pause()
        machine = await go_on(pilot)
        machine.query_one("#profile", Select).value = "vps-8g"
        await pilot.pause()
        for _ in range(3):
            await go_on(pilot)
        await type_into(pilot, "#server-name", "example.org")
        for _ in range(4):
            await go_on(pilot)
        assert isinstance(step(app), ReviewStep)
        await write_and_finish(pilot, out)

    profile = load_profile("vps-8g")
    saved = yaml.safe_load((out / "answers.yaml").read_text())
    assert saved["machine"]["cores"] == profile.cpu.logical
    assert saved["machine"]["ram_mb"] * 1024 * 1024 == profile.memory.total
    assert_generate_reproduces(out, tmp_path, capsys)


@asynctest
async def test_this_machine_flow_probes_and_writes_a_reproducible_bundle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The probe is replaced by a profile so that the facts, and so the bundle, never change.
    out = tmp_path / "bundle"
    app = wizard()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        machine = await go_on(pilot)
        assert isinstance(machine, MachineStep)
        assert machine.facts == load_profile(STABLE_PROFILE)
        assert re.search(r"^CPU +2 cores, x86_64", screen_text(app), re.MULTILINE)
        assert machine.valid
        tier = await go_on(pilot)
        assert tier.query_one("#kind", Choices).selected == "synapse"
        await go_on(pilot)
        await go_on(pilot)
        await type_into(pilot, "#server-name", "example.com")
        for _ in range(4):
            await go_on(pilot)
        await write_and_finish(pilot, out)
    assert_generate_reproduces(out, tmp_path, capsys)


@asynctest
async def test_the_real_probe_reads_this_machine() -> None:
    from screens.app import WizardApp

    app = WizardApp(cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        machine = await go_on(pilot)
        assert isinstance(machine, MachineStep)
        assert machine.facts is not None
        assert machine.facts.source == "local"
        assert machine.valid
