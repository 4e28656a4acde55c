"""OnOff: a checkbox that reads without colour, its mark and its word saying on or off."""

from textual.widgets import Checkbox

ON, OFF = "on", "off"
MARKED, EMPTY = "X", " "


class OnOff(Checkbox):
    """A checkbox whose box holds an X only when on, beside the word "on" or "off"."""

    def __init__(self, value: bool, *, id: str) -> None:
        super().__init__(ON if value else OFF, value, id=id, compact=True)
        self._show(value)

    def _show(self, value: bool) -> None:
        """Mark the box and word the label for the state."""
        self.BUTTON_INNER = MARKED if value else EMPTY
        self.label = ON if value else OFF

    def watch_value(self) -> None:
        """Say the new state, then do what every checkbox does."""
        self._show(self.value)
        super().watch_value()
