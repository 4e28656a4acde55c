"""Text widgets that Textual would keep in memory after they are removed, made to let go.

Input and TextArea subscribe on mount to their screen's text-selection signal with a callback
that holds the widget, and TextArea also watches the app's theme; Textual drops either only
when a selection starts or the theme changes. Until then every one removed stays in memory,
with its styles, render caches and text, for as long as the screen or the app.
"""

from textual.dom import NoScreen
from textual.widget import Widget
from textual.widgets import TextArea


def release_selection_signal(widget: Widget) -> None:
    """Unsubscribe a widget being removed from its screen's text-selection signal."""
    try:
        screen = widget.screen
    except NoScreen:
        return
    screen.text_selection_started_signal.unsubscribe(widget)


def release_theme_watch(widget: Widget) -> None:
    """Stop a widget being removed from watching the app's theme.

    Textual keeps watchers in a list on the watched object and has no call to remove one; this
    drops the widget's entries from that list, as Textual itself does when the theme changes.
    """
    watchers = getattr(widget.app, "__watchers", {}).get("theme")
    if watchers:
        watchers[:] = [(node, callback) for node, callback in watchers if node is not widget]


class ReleasedTextArea(TextArea):
    """A TextArea that lets go of its screen and the app when removed."""

    def on_unmount(self) -> None:
        """Drop the subscription and the watch that would keep this widget alive."""
        release_selection_signal(self)
        release_theme_watch(self)
