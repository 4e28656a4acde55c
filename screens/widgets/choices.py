"""Choices: one widget drawing a radio list, each option naming the value it stands for."""

from collections.abc import Sequence
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.widget import Widget

from screens.messages import NextRequested

CHOSEN = "◉"
NOT_CHOSEN = "○"
MARK_WIDTH = 2  # the mark and the space after it
GAP = 2


class Choices(Widget, can_focus=True):
    """A radio list for one answer: arrows move the highlight, space chooses, Enter goes on.

    In a list of one option a line, a label too long for the width wraps under its own text.
    """

    ALLOW_SELECT = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,left", "move(-1)", "Previous option", show=False),
        Binding("down,right", "move(1)", "Next option", show=False),
        Binding("space", "choose", "Choose", show=False),
        Binding("enter", "choose_and_go_on", "Choose and go on", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {"choices--selected", "choices--cursor"}
    DEFAULT_CSS = """
    Choices {
        height: auto;
        width: 1fr;
        background: $surface;
        pointer: pointer;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        & > .choices--selected {
            color: $text-success;
        }
        &:focus {
            background-tint: $foreground 5%;
            & > .choices--cursor {
                color: $block-cursor-foreground;
                background: $block-cursor-background;
                text-style: $block-cursor-text-style;
            }
        }
        &:disabled > .choices--selected {
            color: $text-disabled;
        }
    }
    """

    class Changed(Message):
        """Another option was chosen."""

        def __init__(self, choices: "Choices", value: str) -> None:
            super().__init__()
            self.choices = choices
            self.value = value

        @property
        def control(self) -> "Choices":
            """Return the widget whose choice changed, so `@on` selectors can match it."""
            return self.choices

    def __init__(
        self,
        options: Sequence[tuple[str, str]],
        selected: str | None,
        *,
        id: str | None = None,
        horizontal: bool = False,
        ask_more: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(id=id)
        # Options that show further entries: Enter chooses them and stays, so they can be filled.
        self._ask_more = ask_more
        self._values = tuple(value for value, _ in options)
        self._labels = tuple(Content(label) for _, label in options)
        self._horizontal = horizontal
        self._chosen = self._values.index(selected) if selected in self._values else None
        self._cursor = self._chosen or 0

    @property
    def values(self) -> tuple[str, ...]:
        """Return the value of every option, in order."""
        return self._values

    @property
    def selected(self) -> str | None:
        """Return the chosen value, or None before one is chosen."""
        return None if self._chosen is None else self._values[self._chosen]

    def choose(self, value: str) -> None:
        """Choose the option standing for value."""
        if value in self._values:
            self._choose_index(self._values.index(value))

    def _choose_index(self, index: int) -> None:
        self._cursor = index
        self.refresh()
        if index != self._chosen:
            self._chosen = index
            self.post_message(self.Changed(self, self._values[index]))

    def _spans(self) -> list[tuple[int, int]]:
        """Return the columns where each option starts and ends on its line."""
        spans = []
        start = 0
        for label in self._labels:
            end = start + MARK_WIDTH + label.cell_length
            spans.append((start, end))
            if self._horizontal:
                start = end + GAP
        return spans

    def _wrapped(self, width: int) -> list[list[Content]]:
        """Return the lines each option's label takes in a list of one option a line."""
        return [label.wrap(max(1, width - MARK_WIDTH)) for label in self._labels]

    def render(self) -> Content:
        """Draw a mark and a label for each option; the highlight shows only while focused."""
        cursor = self.get_visual_style("choices--cursor")
        selected = self.get_visual_style("choices--selected")
        marks = [
            Content.assemble((CHOSEN, selected) if index == self._chosen else NOT_CHOSEN, " ")
            for index in range(len(self._labels))
        ]
        if self._horizontal:
            options = [
                Content.assemble(
                    mark, label.stylize_before(cursor) if index == self._cursor else label
                )
                for index, (mark, label) in enumerate(zip(marks, self._labels, strict=True))
            ]
            return Content(" " * GAP).join(options)
        lines = []
        for index, parts in enumerate(self._wrapped(self.content_size.width)):
            for number, part in enumerate(parts):
                lead = marks[index] if number == 0 else Content(" " * MARK_WIDTH)
                text = part.stylize_before(cursor) if index == self._cursor else part
                lines.append(Content.assemble(lead, text))
        return Content("\n").join(lines)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        """Return the width of the longest line."""
        ends = [end for _, end in self._spans()]
        return ends[-1] if self._horizontal else max(ends, default=0)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """Return one line for a horizontal list, else the lines its labels take at the width."""
        return 1 if self._horizontal else sum(len(parts) for parts in self._wrapped(width))

    def on_focus(self) -> None:
        """Start the highlight on the chosen option."""
        self._cursor = self._chosen or 0

    def on_click(self, event: events.Click) -> None:
        """Choose the option under the pointer."""
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if not self._horizontal:
            below = offset.y
            for index, parts in enumerate(self._wrapped(self.content_size.width)):
                if below < len(parts):
                    self._choose_index(index)
                    return
                below -= len(parts)
            return
        for index, (start, end) in enumerate(self._spans()):
            if start <= offset.x < end:
                self._choose_index(index)

    def action_move(self, step: int) -> None:
        """Move the highlight by step options, wrapping round at either end."""
        self._cursor = (self._cursor + step) % len(self._values)
        self.refresh()

    def action_choose(self) -> None:
        """Choose the highlighted option."""
        self._choose_index(self._cursor)

    def action_choose_and_go_on(self) -> None:
        """Choose the highlighted option, then go on once it settles, unless it asks for more."""
        self.action_choose()
        if self._values[self._cursor] not in self._ask_more:
            self.call_after_refresh(self.post_message, NextRequested())
