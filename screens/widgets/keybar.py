"""KeyBar: the keys that work on this screen, in one line that redraws instead of remounting."""

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widgets import Static


class KeyBar(Static):
    """A footer of the screen's shown bindings; a disabled one is dim, and a click presses it.

    Textual's Footer mounts one widget per key and remounts them all whenever the bindings
    change (on every focus change); this bar only redraws its line, which keeps changing steps
    quick.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"keybar--key", "keybar--description"}
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        background: $footer-background;
        color: $footer-foreground;
    }
    KeyBar > .keybar--key { color: $footer-key-foreground; text-style: bold; }
    KeyBar > .keybar--description { color: $footer-description-foreground; }
    """

    def __init__(self) -> None:
        super().__init__("", markup=False)
        self._spans: list[tuple[int, int, str, bool]] = []

    def on_mount(self) -> None:
        """Follow the screen's bindings."""
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if screen is self.screen:
            self.update(self._keys_text())

    def _keys_text(self) -> Text:
        key_style = self.get_component_rich_style("keybar--key")
        description_style = self.get_component_rich_style("keybar--description")
        dim = Style(dim=True)
        text = Text(no_wrap=True, overflow="ellipsis")
        self._spans = []
        seen: set[str] = set()
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            start = len(text)
            extra = Style() if enabled else dim
            text.append(f" {self.app.get_key_display(binding)} ", key_style + extra)
            text.append(f"{binding.description} ", description_style + extra)
            self._spans.append((start, len(text), binding.key, enabled))
        return text

    def on_click(self, event: events.Click) -> None:
        """Press the key under the pointer, or ring the bell if it is disabled."""
        for start, end, key, enabled in self._spans:
            if start <= event.x < end:
                if enabled:
                    self.app.simulate_key(key)
                else:
                    self.app.bell()
                return
