"""Synapse's workers on the Homeserver and tier step: the choice, the layout, and where it goes."""

from pathlib import Path

import pytest
import yaml
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import DataTable, Select, Static

from screens.app import WizardApp
from screens.database import DatabaseStep
from screens.deployment import DeploymentStep
from screens.review import ReviewStep
from screens.state import WizardState
from screens.tier import TierStep
from screens.widgets.choices import Choices
from tests.tui.conftest import (
    asynctest,
    field_problem,
    go_back,
    go_on,
    refused,
    screen_text,
    settle,
    step,
    type_into,
    walk_to,
    wizard,
)
from wizard.bundle.worker_layout import MAIN_DUTY, ROLES, role_count

pytestmark = pytest.mark.tui


async def tier_step(pilot: Pilot[int], profile: str) -> TierStep:
    """Plan for a profile's machine and go on to the Homeserver and tier step."""
    await settle(pilot)
    step(pilot.app).query_one("#mode", Choices).choose("plan")
    await pilot.pause()
    machine = await go_on(pilot)
    machine.query_one("#profile", Select).value = profile
    await pilot.pause()
    tier = await go_on(pilot)
    assert isinstance(tier, TierStep)
    return tier


def rendered(shown: Static, width: int) -> str:
    """Return what a Static shows at a width, as plain text."""
    console = Console(width=width, record=True, color_system=None)
    console.print(shown.content)
    return console.export_text()


def plan_shown(tier: TierStep) -> str:
    """Return the workers' explanation, a line per row, single-spaced, or "" when hidden."""
    shown = tier.query_one("#workers-plan", Static)
    if not (shown.display and tier.query_one("#workers-field").display):
        return ""
    return "\n".join(" ".join(line.split()) for line in rendered(shown, 400).splitlines())


async def choose(pilot: Pilot[int], selector: str, value: str) -> None:
    """Choose an option of a list on the step shown, and let the step check it."""
    step(pilot.app).query_one(selector, Choices).choose(value)
    await pilot.pause()


async def back_to_tier(pilot: Pilot[int]) -> TierStep:
    """Go back one step, to the Homeserver and tier step."""
    tier = await go_back(pilot)
    assert isinstance(tier, TierStep)
    return tier


def draft_workers(pilot: Pilot[int]) -> object:
    """Return homeserver.workers as the app's draft holds it."""
    app = pilot.app
    assert isinstance(app, WizardApp)
    return app.state.draft["homeserver"]["workers"]


@asynctest
async def test_synapse_at_production_explains_its_workers_one_line_per_role() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        tier = await tier_step(pilot, "vps-8g")
        assert tier.query_one("#tier", Choices).selected == "production"
        assert tier.query_one("#workers", Choices).selected == "tier"
        said = plan_shown(tier)
        assert "Synapse runs as 8 processes, as the production tier does" in said
        assert "sized to 4 cores and 8 GiB of RAM" in said
        lines = said.splitlines()
        assert f"main process {MAIN_DUTY}" in lines
        for role, spec in ROLES.items():
            assert f"{role_count(role, 1)} {spec.duty}" in lines
        assert "Workers need PostgreSQL" in said
        assert "one process is recommended" not in said  # the machine reaches production
        # At 80 columns every line wraps within the step: no word is cut off.
        explanation = tier.query_one("#workers-plan", Static)
        width = explanation.content_region.width
        assert width < 80
        assert rendered(explanation, width).split() == rendered(explanation, 400).split()
        tier.query_one("#workers-field").scroll_visible(top=True, animate=False)
        await settle(pilot)
        shown = screen_text(pilot.app)
        assert "Synapse workers" in shown and "as the tier decides" in shown
        assert "Synapse runs as 8 processes" in shown


@asynctest
async def test_dendrite_has_no_workers_to_choose_and_says_so() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        tier = await tier_step(pilot, "vps-8g")
        await choose(pilot, "#workers", "on")
        await choose(pilot, "#kind", "dendrite")
        assert not tier.query_one("#workers-field").display
        assert plan_shown(tier) == ""
        assert str(tier.query_one("#workers-plan", Static).content).startswith(
            "Synapse workers, chosen on, are left out: they are a Synapse feature, so Dendrite "
            "runs without them"
        )
        assert tier.valid
        await go_on(pilot)
        assert draft_workers(pilot) is None
        tier = await back_to_tier(pilot)
        await choose(pilot, "#kind", "synapse")
        assert "Synapse runs as 8 processes" in plan_shown(tier)


@asynctest
async def test_the_choice_is_written_to_homeserver_workers_and_kept_going_back() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        tier = await tier_step(pilot, "vps-8g")
        await choose(pilot, "#workers", "off")
        assert plan_shown(tier).startswith("Synapse runs as one process: workers are off.")
        deployment = await go_on(pilot)
        assert isinstance(deployment, DeploymentStep)
        assert draft_workers(pilot) is False
        tier = await back_to_tier(pilot)
        assert tier.query_one("#workers", Choices).selected == "off"
        await choose(pilot, "#workers", "tier")
        await go_on(pilot)
        assert draft_workers(pilot) is None  # the tier decides again, as if never changed
        tier = await back_to_tier(pilot)
        await choose(pilot, "#workers", "on")
        await go_on(pilot)
        assert draft_workers(pilot) is True


@asynctest
async def test_a_small_machine_is_told_one_process_is_recommended() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        tier = await tier_step(pilot, "vps-4g")
        assert tier.query_one("#tier", Choices).selected == "recommended"
        said = plan_shown(tier)
        assert "Synapse runs as one process, as the recommended tier does" in said
        assert (
            "A machine of 2 cores and 4 GiB of RAM is below Synapse's production tier "
            "(4 cores and 8 GiB of RAM): one process is recommended there" in said
        )
        assert MAIN_DUTY not in said
        await choose(pilot, "#workers", "on")
        said = plan_shown(tier)
        assert "Synapse runs as 8 processes: the main process and 7 workers" in said
        assert MAIN_DUTY in said
        assert "one process is recommended there" in said


@asynctest
async def test_workers_on_and_sqlite_are_refused_on_the_database_step_in_words() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await tier_step(pilot, "vps-4g")
        await choose(pilot, "#workers", "on")
        database = await walk_to(pilot, DatabaseStep)
        await choose(pilot, "#kind", "sqlite")
        problem = field_problem(database, "database.kind")
        assert problem is not None
        assert problem.startswith("Synapse workers are on (step Homeserver and tier) and need")
        assert await refused(pilot)
        await choose(pilot, "#kind", "postgresql")
        assert field_problem(database, "database.kind") is None
        assert database.valid


@asynctest
async def test_sqlite_at_production_says_synapse_runs_as_one_process() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await tier_step(pilot, "vps-8g")
        database = await walk_to(pilot, DatabaseStep)
        await choose(pilot, "#kind", "sqlite")
        database.query_one("#accept-sqlite").value = True  # type: ignore[attr-defined]
        await pilot.pause()
        said = str(database.query_one("#database-warnings", Static).content)
        assert "Synapse on SQLite runs as one process" in said
        assert database.valid


@asynctest
async def test_review_says_workers_in_words() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await tier_step(pilot, "vps-8g")
        review = await walk_to(pilot, ReviewStep)
        assert isinstance(review, ReviewStep)
        table = review.query_one("#answers", DataTable)
        rows = {
            str(table.get_row_at(index)[0]): str(table.get_row_at(index)[1])
            for index in range(table.row_count)
        }
        assert rows["Synapse workers"] == "on, as the tier decides: 7 workers"


@asynctest
async def test_a_saved_choice_resumes(tmp_path: Path) -> None:
    draft = tmp_path / "draft.yaml"
    async with wizard(WizardState(draft_path=draft)).run_test(size=(80, 24)) as pilot:
        await tier_step(pilot, "vps-4g")
        await choose(pilot, "#workers", "on")
        await go_on(pilot)
        await pilot.press("ctrl+s")
        await pilot.pause()
    assert yaml.safe_load(draft.read_text())["homeserver"]["workers"] is True

    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        step(pilot.app).query_one("#mode", Choices).choose("resume")
        await pilot.pause()
        await type_into(pilot, "#draft-path", str(draft))
        await go_on(pilot)
        await type_into(pilot, "#disk", "80G")  # a draft does not keep the free disk
        tier = await go_on(pilot)
        assert isinstance(tier, TierStep)
        assert tier.query_one("#workers", Choices).selected == "on"
        assert "Synapse runs as 8 processes" in plan_shown(tier)
