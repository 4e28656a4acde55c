"""The next step is built out of sight while the person reads, and only when it will fit."""

import pytest
from textual.pilot import Pilot

from screens.app import WizardApp
from screens.database import DatabaseStep
from screens.domain import DomainStep
from screens.extras import ExtrasStep
from screens.machine import MachineStep
from screens.review import ReviewStep
from screens.step import StepPane
from screens.widgets.choices import Choices
from tests.tui.conftest import (
    STABLE_PROFILE,
    asynctest,
    go_on,
    settle,
    type_into,
    walk_to,
    wizard,
)
from tests.waiting import eventually
from wizard.probe.facts import HostFacts
from wizard.probe.profile import load_profile

pytestmark = pytest.mark.tui


def built_ahead(app: WizardApp, kind: type[StepPane]) -> StepPane | None:
    """Return the pane of a kind of step if it is built and out of sight."""
    pane = app.kept(kind)
    if pane is None or not pane.is_mounted or pane.display:
        return None
    return pane


async def read_until_built(
    pilot: Pilot[int], kind: type[StepPane], *, other_than: StepPane | None = None
) -> StepPane:
    """Stay on the step, as a person reading it would, until a new pane of kind is built ahead."""
    assert isinstance(pilot.app, WizardApp)
    app = pilot.app

    def built() -> StepPane | None:
        pane = built_ahead(app, kind)
        return pane if pane is not other_than else None

    pane = await eventually(built, f"the {kind.__name__} step to be built ahead")
    await settle(pilot)
    return pane


async def database_built_while_reading_domain(pilot: Pilot[int], app: WizardApp) -> StepPane:
    """Walk to Domain, give a server name, pause, and return the Database step built ahead."""
    await settle(pilot)
    await walk_to(pilot, DomainStep)
    await type_into(pilot, "#server-name", "example.org")
    return await read_until_built(pilot, DatabaseStep)


@asynctest
async def test_the_next_step_is_built_while_the_person_reads_and_shown_at_once() -> None:
    app = wizard()
    async with app.run_test(size=(80, 24)) as pilot:
        database = await database_built_while_reading_domain(pilot, app)
        assert await go_on(pilot) is database
        assert database.display and database.valid


@asynctest
async def test_an_answer_the_next_step_does_not_show_keeps_it_built() -> None:
    app = wizard()
    async with app.run_test(size=(80, 24)) as pilot:
        database = await database_built_while_reading_domain(pilot, app)
        # Typing another name and going on at once: the database form does not show the name.
        await type_into(pilot, "#server-name", "example.net")
        assert await go_on(pilot) is database


@asynctest
async def test_a_built_step_is_built_again_when_an_answer_it_shows_changes() -> None:
    app = wizard()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        extras = await walk_to(pilot, ExtrasStep)
        first = await read_until_built(pilot, ReviewStep)
        extras.query_one("#rate-limits", Choices).choose("strict")
        second = await read_until_built(pilot, ReviewStep, other_than=first)
        assert not first.is_attached
        # Going on at once after another change builds the step on the spot.
        extras.query_one("#encryption", Choices).choose("off")
        await pilot.pause()
        review = await go_on(pilot)
        assert isinstance(review, ReviewStep) and review is not second
        assert review.answers is not None
        assert review.answers.rate_limits.preset.value == "strict"
        assert review.answers.encryption.by_default.value == "off"


@asynctest
async def test_probing_waits_until_the_person_reaches_the_machine_step() -> None:
    probed: list[str] = []

    def counting_probe(data_path: str) -> HostFacts:
        probed.append(data_path)
        return load_profile(STABLE_PROFILE)

    app = WizardApp(probe=counting_probe, cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await read_until_built(pilot, MachineStep)
        assert probed == []
        await go_on(pilot)
        assert probed == ["/var/lib"]


@asynctest
async def test_the_bundle_is_rendered_for_review_only_once_review_is_reached() -> None:
    app = wizard()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await walk_to(pilot, ExtrasStep)
        review = await read_until_built(pilot, ReviewStep)
        assert isinstance(review, ReviewStep)
        assert review.bundle is None
        assert await go_on(pilot) is review
        await settle(pilot)
        assert review.bundle is not None and review.valid
