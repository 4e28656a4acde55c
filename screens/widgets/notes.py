"""Notes: lines of text that, wrapped, go on under their own text rather than at column 0."""

import re
import textwrap

from textual.geometry import Size
from textual.widgets import Static

# A line's indent, then its bullet if it has one.
_INDENT = re.compile(r"\s*(?:[-•*] )?")
# A label wider than this share of the width is not hung under: its text would be too narrow.
_WIDEST_LABEL = 1 / 3
# How far the further parts of a line with such a label go in, past the line's indent.
_SHORT_HANG = 2


def hanging_lines(text: str, width: int, *, labelled: bool = False) -> list[str]:
    """Return text wrapped at width, each line's further parts going on under its own text.

    A line's own text starts after its indent and bullet, and with labelled after a label
    such as "Synapse: " as well; a label over a third of the width is hung under by two.
    """
    wrapped: list[str] = []
    for line in text.splitlines():
        match = _INDENT.match(line)
        lead = match.group() if match else ""
        hang = len(lead)
        label, colon, _ = line[hang:].partition(": ")
        if labelled and colon:
            after_label = hang + len(label + colon)
            hang = after_label if after_label <= width * _WIDEST_LABEL else hang + _SHORT_HANG
        parts = textwrap.wrap(
            line[len(lead) :],
            max(hang + 1, width),
            initial_indent=lead,
            subsequent_indent=" " * hang,
            break_on_hyphens=False,
        )
        wrapped.extend(parts or [""])
    return wrapped


class Notes(Static):
    """Plain text (never markup) whose wrapped lines hang under their own text.

    See hanging_lines for where each line's text starts.
    """

    def __init__(
        self,
        text: str = "",
        *,
        labelled: bool = False,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(text, id=id, classes=classes, markup=False)
        self.labelled = labelled
        """Whether the lines may start with a label, such as "Synapse: ", to hang under."""

    def _lines(self, width: int) -> list[str]:
        return hanging_lines(str(self.content), width, labelled=self.labelled)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """Return how many lines the text takes, wrapped at width; one, as a Static, if none."""
        return len(self._lines(width)) or 1

    def render(self) -> str:
        """Draw the text wrapped at the width it has, each line under its own text."""
        return "\n".join(self._lines(self.content_size.width))
