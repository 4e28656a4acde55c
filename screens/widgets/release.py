"""Letting go of what Textual would keep of a text widget after it is removed.

Input and TextArea subscribe on mount to their screen's text-selection signal with a callback
that holds the widget, and TextArea also watches the app's theme; Textual drops either only
when a selection starts or the theme changes. Until then every one removed stays in memory,
with its styles, render caches and text, for as long as the screen or the app.
"""

from textual.dom import NoScreen
from textual.widget import Widget


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
