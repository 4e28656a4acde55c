"""Panes the wizard lets go of are freed, with every widget in them, while the person reads."""

import gc
import weakref
from collections.abc import Callable, Iterator

import pytest

from screens.database import DatabaseStep
from screens.machine import MachineStep
from screens.review import ReviewStep
from screens.widgets.choices import Choices
from screens.widgets.entry import Entry
from tests.tui.conftest import asynctest, go_back, settle, step, walk_to, wizard
from tests.waiting import eventually

pytestmark = pytest.mark.tui


@pytest.fixture
def no_automatic_collection() -> Iterator[None]:
    """Stop Python collecting garbage on its own, so only what the wizard frees is freed."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def freed(*widgets: Callable[[], object]) -> None:
    """Stay on the step, as a person would, until the widgets are freed."""
    await eventually(lambda: all(widget() is None for widget in widgets), "the widgets to be freed")


@asynctest
@pytest.mark.usefixtures("no_automatic_collection")
async def test_a_pane_let_go_is_freed_once_the_person_stays_on_a_step() -> None:
    app = wizard()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        machine = await walk_to(pilot, MachineStep)
        pane, entry = weakref.ref(machine), weakref.ref(machine.query_one("#cores", Entry))
        del machine
        # Two steps on, the Machine step is no longer kept.
        await walk_to(pilot, DatabaseStep)
        assert app.kept(MachineStep) is None
        # Textual's Input stays subscribed to its screen's text-selection signal unless told.
        await freed(pane, entry)


@asynctest
@pytest.mark.usefixtures("no_automatic_collection")
async def test_the_review_step_let_go_is_freed_with_its_file_viewer() -> None:
    app = wizard()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        review = await walk_to(pilot, ReviewStep)
        pane, viewer = weakref.ref(review), weakref.ref(review.query_one("#viewer"))
        del review
        # Two steps back, the Review step is no longer kept.
        await go_back(pilot)
        await go_back(pilot)
        assert app.kept(ReviewStep) is None
        await freed(pane, viewer)


@asynctest
@pytest.mark.usefixtures("no_automatic_collection")
async def test_a_step_built_ahead_of_a_changed_answer_is_freed() -> None:
    # The Machine step is built ahead while Welcome shows, for this machine; planning instead
    # builds it again. The first one must not have been set aside with what the wizard loads.
    app = wizard()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        first = app.kept(MachineStep)
        assert first is not None
        was_built = weakref.ref(first)
        del first
        step(app).query_one("#mode", Choices).choose("plan")
        await eventually(
            lambda: app.kept(MachineStep) not in (None, was_built()),
            "the Machine step to be built again for planning",
        )
        await freed(was_built)
