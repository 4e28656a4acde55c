"""ReleasedTextArea: a TextArea that lets go of its screen and the app when removed."""

from textual.widgets import TextArea

from screens.widgets.release import release_selection_signal, release_theme_watch


class ReleasedTextArea(TextArea):
    """A TextArea that lets go of its screen and the app when removed."""

    def on_unmount(self) -> None:
        """Drop the subscription and the watch that would keep this widget alive."""
        release_selection_signal(self)
        release_theme_watch(self)
