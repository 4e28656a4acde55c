"""Focus by keyboard: Tab stops only on controls, the focus shows without colour, keys scroll."""

from collections.abc import AsyncIterator

import pytest
from textual.app import App
from textual.containers import ScrollableContainer, VerticalScroll
from textual.geometry import Region
from textual.pilot import Pilot
from textual.scroll_view import ScrollView
from textual.widget import Widget
from textual.widgets import Button, Markdown

from screens.dialogs import HelpDialog
from screens.domain import DomainStep
from screens.done import DoneStep
from screens.machine import MachineStep
from screens.state import Mode, WizardState
from screens.step import StepPane
from screens.tier import TierStep
from screens.widgets.field import Field
from screens.write import WriteStep
from tests.tui.conftest import (
    asynctest,
    dialog_on_screen,
    go_on,
    plan_state,
    settle,
    step,
    type_into,
    walk_to,
    wizard,
)
from tests.waiting import eventually

pytestmark = pytest.mark.tui

Look = list[tuple[str, bool, bool, bool, bool]]


def colourless(app: App[int], region: Region) -> Look:
    """Return what a region of the screen shows with its colours taken away.

    Each cell is its character, and whether it is bold, reversed, underlined or italic.
    """
    strips = app.screen._compositor.render_strips()
    cells: Look = []
    for line in strips[region.y : region.bottom]:
        for segment in line.crop(region.x, region.right):
            style = segment.style
            marks = (
                (bool(style.bold), bool(style.reverse), bool(style.underline), bool(style.italic))
                if style is not None
                else (False, False, False, False)
            )
            cells.extend((char, *marks) for char in segment.text)
    return cells


def place(widget: Widget) -> Region:
    """Return the part of the screen that shows a control: its field, if it has one."""
    parent = widget.parent
    return parent.region if isinstance(parent, Field) else widget.region


async def looks_focused(pilot: Pilot[int], widget: Widget) -> bool:
    """Return whether the control shows, colours aside, whether it has the focus."""
    screen = pilot.app.screen
    screen.set_focus(None)
    await pilot.pause()
    without = colourless(pilot.app, place(widget))
    screen.set_focus(widget)
    await pilot.pause()
    await pilot.pause()
    assert pilot.app.focused is widget
    return colourless(pilot.app, place(widget)) != without


def only_scrolls(widget: Widget) -> bool:
    """Return whether a widget is a container that does nothing with keys but scroll.

    A ScrollView (a table, a tree, a text area) draws its own lines and uses keys for them.
    """
    return isinstance(widget, ScrollableContainer) and not isinstance(widget, ScrollView)


async def tab_stops(pilot: Pilot[int]) -> list[Widget]:
    """Press Tab once round the screen's focus chain and return where the focus stopped."""
    stops = []
    for _ in range(len(pilot.app.screen.focus_chain) + 1):
        await pilot.press("tab")
        if pilot.app.focused is not None:
            stops.append(pilot.app.focused)
    return stops


async def each_step(pilot: Pilot[int]) -> AsyncIterator[StepPane]:
    """Walk a planning run from Welcome to Done on the defaults, yielding each step as shown."""
    shown = await walk_to(pilot, StepPane)
    while True:
        yield shown
        if isinstance(shown, DoneStep):
            return
        if isinstance(shown, DomainStep):
            await type_into(pilot, "#server-name", "example.com")
        if isinstance(shown, WriteStep) and shown.written is None:
            await pilot.click("#write")
            await settle(pilot)
        shown = await go_on(pilot)


@asynctest
async def test_tab_stops_only_on_controls_on_every_step_and_in_help() -> None:
    app = wizard(plan_state())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        async for shown in each_step(pilot):
            stops = await tab_stops(pilot)
            assert stops, f"Tab stops nowhere on {shown.STEP_NAME}"
            containers = [w for w in stops if only_scrolls(w)]
            assert not containers, f"Tab stops on {containers} on {shown.STEP_NAME}"
        await pilot.press("f1")
        await dialog_on_screen(pilot, HelpDialog)
        in_help = await tab_stops(pilot)
        assert in_help and all(isinstance(w, Button) for w in in_help), in_help


@asynctest
async def test_the_focused_control_shows_without_colour_on_every_step() -> None:
    app = wizard(plan_state())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        seen: set[str] = set()
        async for shown in each_step(pilot):
            controls = [
                widget
                for widget in app.screen.focus_chain
                if shown in widget.ancestors or isinstance(widget, Button)
            ]
            for control in controls:
                seen.add(type(control).__name__)
                assert await looks_focused(pilot, control), (
                    f"{control} on {shown.STEP_NAME} looks the same focused or not, colours aside"
                )
        assert {"Button", "Select", "Choices", "Entry", "DataTable"} <= seen


@asynctest
async def test_page_down_scrolls_the_tier_step_while_its_field_keeps_the_focus() -> None:
    app = wizard(plan_state())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        tier = await walk_to(pilot, TierStep)
        focused = app.focused
        assert focused is tier.query_one("#kind")
        assert tier.max_scroll_y > 0, "the Tier step fits at 80x24: nothing to scroll"
        assert "PgUp/PgDn" in str(app.screen.query_one("KeyBar").render())
        await pilot.press("pagedown")
        await eventually(lambda: tier.scroll_y > 0, "the Tier step scrolled down")
        assert app.focused is focused
        await pilot.press("pageup")
        await eventually(lambda: tier.scroll_y == 0, "the Tier step scrolled back up")
        assert app.focused is focused


@asynctest
async def test_help_scrolls_by_keys_under_a_one_row_title() -> None:
    app = wizard(plan_state())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await walk_to(pilot, TierStep)
        await pilot.press("f1")
        dialog = await dialog_on_screen(pilot, HelpDialog)
        body = dialog.query_one("#help-body", VerticalScroll)
        title = dialog.query_one("#dialog-title")
        assert body.region.y == title.region.y + 1
        assert "Homeserver and tier" not in dialog.query_one(Markdown).source
        await pilot.press("pagedown")
        await eventually(lambda: body.scroll_y > 0, "the help scrolled down")
        await pilot.press("home")
        await eventually(lambda: body.scroll_y == 0, "the help back at its top")
        await pilot.press("down")
        await eventually(lambda: body.scroll_y > 0, "the help scrolled a line")
        assert isinstance(app.focused, Button)


@asynctest
async def test_enter_goes_on_from_where_the_focus_lands_on_every_step() -> None:
    app = wizard(plan_state())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        shown = await walk_to(pilot, StepPane)
        while not isinstance(shown, DoneStep):
            if isinstance(shown, DomainStep):
                await type_into(pilot, "#server-name", "example.com")
            if isinstance(shown, WriteStep):
                await pilot.press("enter")
                await settle(pilot)
                assert shown.written is not None
                assert app.focused is app.screen.query_one("#next", Button)
            before = shown
            await pilot.press("enter")
            await settle(pilot)
            shown = step(app)
            assert shown is not before, f"Enter on {app.focused} stayed on {before.STEP_NAME}"


@asynctest
async def test_enter_on_the_local_machine_step_probes_a_changed_folder_then_goes_on() -> None:
    app = wizard(WizardState(mode=Mode.LOCAL))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        machine = await go_on(pilot)
        assert isinstance(machine, MachineStep)
        assert app.focused is machine.query_one("#data-path")
        await type_into(pilot, "#data-path", "/srv/matrix")
        assert not machine.valid
        await pilot.press("enter")
        await settle(pilot)
        assert step(app) is machine and machine.valid
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(step(app), TierStep)
