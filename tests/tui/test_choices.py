"""Choices on its own: keys, clicks, the Changed message, disabling, literal labels."""

from collections.abc import Sequence

import pytest
from textual import on
from textual.app import App, ComposeResult

from screens.messages import NextRequested
from screens.widgets.choices import Choices
from tests.tui.conftest import asynctest, screen_text

pytestmark = pytest.mark.tui

OPTIONS = (("one", "One"), ("two", "Two"), ("three", "Three"))


class ChoicesApp(App[int]):
    """One Choices, recording what it says: the values chosen, and 'next' for NextRequested."""

    def __init__(
        self, options: Sequence[tuple[str, str]] = OPTIONS, *, horizontal: bool = False
    ) -> None:
        super().__init__()
        self.options = options
        self.horizontal = horizontal
        self.said: list[str] = []

    def compose(self) -> ComposeResult:
        yield Choices(self.options, "one", id="choices", horizontal=self.horizontal)

    @property
    def choices(self) -> Choices:
        """Return the widget under test."""
        return self.screen.query_one("#choices", Choices)

    @on(Choices.Changed, "#choices")
    def _changed(self, event: Choices.Changed) -> None:
        assert event.choices is self.choices
        self.said.append(event.value)

    @on(NextRequested)
    def _next(self) -> None:
        self.said.append("next")


@asynctest
async def test_arrows_move_the_highlight_from_the_chosen_option_and_space_chooses() -> None:
    app = ChoicesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.choices.choose("two")
        app.choices.focus()
        await pilot.press("down")
        assert app.choices.selected == "two"
        await pilot.press("space", "down")
        assert app.choices.selected == "three"
        app.choices.blur()
        await pilot.pause()
        app.choices.focus()
        await pilot.press("space")
        await pilot.press("down", "space")
        assert app.choices.selected == "one"
        assert app.said == ["two", "three", "one"]


@asynctest
async def test_enter_chooses_the_highlighted_option_then_asks_to_go_on() -> None:
    app = ChoicesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.choices.focus()
        await pilot.press("up", "enter")
        await pilot.pause()
        assert app.choices.selected == "three"
        assert app.said == ["three", "next"]


@pytest.mark.parametrize(
    ("horizontal", "second", "between"),
    [(False, (0, 1), (0, 3)), (True, (7, 0), (6, 0))],
    ids=["vertical", "horizontal"],
)
@asynctest
async def test_a_click_chooses_the_option_under_it(
    horizontal: bool, second: tuple[int, int], between: tuple[int, int]
) -> None:
    app = ChoicesApp(horizontal=horizontal)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.click(app.choices, offset=between)
        assert app.choices.selected == "one"
        await pilot.click(app.choices, offset=second)
        assert app.choices.selected == "two"
        assert app.said == ["two"]


@asynctest
async def test_changed_is_posted_only_when_the_choice_changes() -> None:
    app = ChoicesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.choices.choose("one")
        await pilot.click(app.choices, offset=(0, 0))
        app.choices.choose("nothing")
        app.choices.choose("two")
        app.choices.choose("two")
        await pilot.pause()
        assert app.said == ["two"]


@asynctest
async def test_a_disabled_choice_ignores_keys_and_clicks() -> None:
    app = ChoicesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.choices.disabled = True
        app.choices.focus()
        await pilot.press("down", "space")
        await pilot.click(app.choices, offset=(0, 1))
        assert not app.choices.has_focus
        assert app.choices.selected == "one"
        assert app.said == []


@asynctest
async def test_labels_are_shown_as_written() -> None:
    app = ChoicesApp([("one", "[bold]One[/bold]"), ("two", "Two [b]")])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        lines = screen_text(app).splitlines()
        assert lines[0].startswith("◉")
        assert lines[0].rstrip().endswith("[bold]One[/bold]")
        assert lines[1].rstrip() == "○ Two [b]"
