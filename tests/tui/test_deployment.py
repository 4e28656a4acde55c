"""The Deployment step: preselected by the machine's programs, explained, and kept as chosen."""

from pathlib import Path

import pytest
import yaml
from textual.pilot import Pilot
from textual.widgets import Static

from screens.app import WizardApp
from screens.deployment import DeploymentStep
from screens.state import Mode, WizardState
from screens.widgets.choices import Choices
from tests.tui.conftest import (
    STABLE_PROFILE,
    asynctest,
    field_problem,
    go_back,
    go_on,
    settle,
    step,
    type_into,
)
from wizard.probe.facts import HostFacts
from wizard.probe.profile import load_profile

pytestmark = pytest.mark.tui

WITHOUT_DOCKER = {"docker": False, "docker compose": False, "systemd": True}
WITH_DOCKER = {"docker": True, "docker compose": True, "systemd": True}


def probed_with(tools: dict[str, bool]) -> WizardApp:
    """Return the wizard in this-machine mode, its probe finding the stable profile and tools."""
    facts = load_profile(STABLE_PROFILE).model_copy(update={"source": "local", "tools": tools})

    def probe(data_path: str) -> HostFacts:
        return facts

    return WizardApp(probe=probe, cursor_blink=False)


async def deployment_step(pilot: Pilot[int]) -> DeploymentStep:
    """Walk from Welcome to the Deployment step and return it."""
    await settle(pilot)
    while not isinstance(step(pilot.app), DeploymentStep):
        await go_on(pilot)
    shown = step(pilot.app)
    assert isinstance(shown, DeploymentStep)
    return shown


def chosen(shown: DeploymentStep) -> str | None:
    """Return the deployment the step has chosen."""
    return shown.query_one("#kind", Choices).selected


def said(shown: DeploymentStep, widget_id: str) -> str:
    """Return the words of one of the step's lines."""
    return str(shown.query_one(f"#{widget_id}", Static).content)


@asynctest
async def test_a_machine_without_docker_gets_native_preselected_and_told_why() -> None:
    async with probed_with(WITHOUT_DOCKER).run_test(size=(80, 24)) as pilot:
        shown = await deployment_step(pilot)
        assert chosen(shown) == "native"
        assert said(shown, "machine-has").startswith("This machine has no Docker with compose")
        assert "apply.sh installs the packages with apt" in said(shown, "needs")


@asynctest
async def test_a_machine_with_docker_and_compose_gets_compose_preselected() -> None:
    async with probed_with(WITH_DOCKER).run_test(size=(80, 24)) as pilot:
        shown = await deployment_step(pilot)
        assert chosen(shown) == "compose"
        assert said(shown, "machine-has").startswith("This machine has Docker with compose")
        assert "Needs Docker Engine with its compose plugin" in said(shown, "needs")


@asynctest
async def test_docker_without_compose_is_not_enough_for_compose() -> None:
    app = probed_with({**WITH_DOCKER, "docker compose": False})
    async with app.run_test(size=(80, 24)) as pilot:
        assert chosen(await deployment_step(pilot)) == "native"


@asynctest
async def test_the_choice_made_is_kept_over_what_the_machine_suggests() -> None:
    app = probed_with(WITHOUT_DOCKER)
    async with app.run_test(size=(80, 24)) as pilot:
        shown = await deployment_step(pilot)
        shown.query_one("#kind", Choices).choose("compose")
        await pilot.pause()
        await go_on(pilot)
        again = await go_back(pilot)
        assert isinstance(again, DeploymentStep)
        assert chosen(again) == "compose"
    assert app.state.draft["deployment"]["kind"] == "compose"


@asynctest
async def test_native_is_taken_for_a_resumed_draft_with_workers(tmp_path: Path) -> None:
    draft = tmp_path / "answers.yaml"
    data = {
        "machine": {"cores": 8, "ram_mb": 16384},
        "homeserver": {"kind": "synapse", "tier": "production", "workers": True},
        "domain": {"server_name": "example.org"},
    }
    draft.write_text(yaml.safe_dump(data), encoding="utf-8")
    app = WizardApp(WizardState(mode=Mode.RESUME), cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await type_into(pilot, "#draft-path", str(draft))
        await go_on(pilot)
        await type_into(pilot, "#disk", "80G")  # a draft does not keep the free disk
        await go_on(pilot)
        shown = await go_on(pilot)
        assert isinstance(shown, DeploymentStep)
        shown.query_one("#kind", Choices).choose("native")
        await pilot.pause()
        assert field_problem(shown, "deployment.kind") is None
        assert shown.valid
        assert not isinstance(await go_on(pilot), DeploymentStep)
    assert app.state.draft["deployment"]["kind"] == "native"
    assert app.state.draft["homeserver"]["workers"] is True
