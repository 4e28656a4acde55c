"""Choices: a set of radio buttons, each naming the value it stands for."""

from collections.abc import Sequence
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import RadioButton, RadioSet

from screens.messages import NextRequested


class Choices(RadioSet):
    """Radio buttons for one answer; Enter picks the highlighted one and goes on."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "choose_and_go_on", "Choose and go on", show=False)
    ]

    def __init__(
        self,
        options: Sequence[tuple[str, str]],
        selected: str | None,
        *,
        id: str | None = None,
        horizontal: bool = False,
    ) -> None:
        buttons = [
            RadioButton(label, value=value == selected, name=value) for value, label in options
        ]
        super().__init__(*buttons, id=id, compact=True, classes="horizontal" if horizontal else "")

    def on_mount(self) -> None:
        """Once the set has laid itself out, put the highlight on the pressed button."""
        self.call_later(self._highlight_pressed)

    def _highlight_pressed(self) -> None:
        if self.pressed_index >= 0:
            self._selected = self.pressed_index

    @property
    def selected(self) -> str | None:
        """Return the value of the pressed button, or None before one is pressed."""
        button = self.pressed_button
        return button.name if button is not None else None

    def choose(self, value: str) -> None:
        """Press the button standing for value."""
        for button in self.query(RadioButton):
            if button.name == value:
                button.value = True

    def action_choose_and_go_on(self) -> None:
        """Press the highlighted button, then ask to go on once the choice has settled."""
        self.action_toggle_button()
        self.call_after_refresh(self.post_message, NextRequested())
