"""A field's problem shows once the person leaves it or tries to go on, never before typing."""

from pathlib import Path

import pytest
import yaml
from textual.pilot import Pilot
from textual.widgets import Button, Input, Static

from screens.domain import DomainStep
from screens.machine import MachineStep
from screens.step import StepPane
from screens.widgets.choices import Choices
from tests.tui.conftest import (
    asynctest,
    field_problem,
    go_on,
    settle,
    step,
    type_into,
    walk_to,
    wizard,
)

pytestmark = pytest.mark.tui


def status(pane: StepPane) -> str:
    """Return what the navigation row's status line says."""
    return str(pane.screen.query_one("#nav-status", Static).content)


def next_disabled(pane: StepPane) -> bool:
    """Return whether the Next button is greyed out."""
    return pane.screen.query_one("#next", Button).disabled


async def planning_by_hand(pilot: Pilot[int]) -> MachineStep:
    """Walk to the Machine step of a planning run and choose to give its figures."""
    await settle(pilot)
    machine = await walk_to(pilot, MachineStep)
    assert isinstance(machine, MachineStep)
    machine.query_one("#source", Choices).choose("hand")
    await pilot.pause()
    return machine


@asynctest
async def test_empty_plan_figures_wait_until_the_person_leaves_them() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        machine = await planning_by_hand(pilot)
        for path in ("plan.cores", "plan.ram", "plan.disk"):
            assert field_problem(machine, path) is None
        assert next_disabled(machine)
        assert status(machine) == "3 answers still need something to go on"

        machine.query_one("#cores", Input).focus()
        await pilot.pause()
        await pilot.press("tab")
        await pilot.pause()
        problem = field_problem(machine, "plan.cores")
        assert problem is not None and "CPU cores" in problem
        assert field_problem(machine, "plan.ram") is None

        # Once shown, the problem follows the typing.
        await type_into(pilot, "#cores", "2")
        assert field_problem(machine, "plan.cores") is None
        await type_into(pilot, "#cores", "0")
        assert field_problem(machine, "plan.cores") is not None


@asynctest
async def test_the_server_name_is_asked_for_only_once_the_person_tries_to_go_on() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        domain = await walk_to(pilot, DomainStep)
        assert pilot.app.focused is domain.query_one("#server-name", Input)
        assert field_problem(domain, "domain.server_name") is None
        assert next_disabled(domain)
        assert status(domain) == "1 answer still needs something to go on"

        await pilot.press("enter")
        await settle(pilot)
        assert step(pilot.app) is domain
        assert field_problem(domain, "domain.server_name") == (
            "a server name is needed, such as example.com"
        )
        assert status(domain).startswith("Server name: a server name is needed")


@asynctest
async def test_next_pressed_while_greyed_out_shows_why() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        machine = await planning_by_hand(pilot)
        machine.query_one("#kind", Choices).focus()
        await pilot.pause()
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert step(pilot.app) is machine
        for path in ("plan.cores", "plan.ram", "plan.disk"):
            assert field_problem(machine, path) is not None
        assert next_disabled(machine)


@asynctest
async def test_a_resumed_draft_shows_its_problems_at_once(tmp_path: Path) -> None:
    draft = tmp_path / "draft.yaml"
    draft.write_text(
        yaml.safe_dump(
            {
                "homeserver": {"kind": "synapse", "tier": "minimum"},
                "domain": {"server_name": "nodot"},
                "machine": {"cores": 2, "ram_mb": 4096},
            }
        )
    )
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        step(pilot.app).query_one("#mode", Choices).choose("resume")
        await pilot.pause()
        await type_into(pilot, "#draft-path", str(draft))
        machine = await go_on(pilot)
        # The draft gave the cores and RAM, not the free disk: only what it gave shows now.
        assert field_problem(machine, "plan.disk") is None
        await type_into(pilot, "#disk", "80G")
        while not isinstance(step(pilot.app), DomainStep):
            await go_on(pilot)
        domain = step(pilot.app)
        problem = field_problem(domain, "domain.server_name")
        assert problem is not None and "nodot" in problem
