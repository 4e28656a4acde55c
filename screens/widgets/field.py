"""Field: one answer on screen, with its label, control, one line of why, and what is wrong."""

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Label, Static


class Field(Vertical):
    """One answer: a label beside its control, a line of why, and its problem or note beneath.

    ``path`` is the answer's place in the answers file (such as ``domain.server_name``), so the
    problems the answers file reports land beside the field they concern.
    """

    DEFAULT_CSS = """
    Field { height: auto; }
    Field > .field-row { height: auto; }
    Field .field-label { width: 18; padding-right: 1; }
    Field .why { color: $text-muted; padding-left: 18; }
    Field .problem { color: $text-error; padding-left: 18; display: none; }
    Field .note { color: $text-warning; padding-left: 18; display: none; }
    """

    def __init__(
        self, label: str, control: Widget, *, path: str, why: str = "", id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.path = path
        self._label = label
        self._control = control
        self._why = why

    def compose(self) -> ComposeResult:
        """Lay out the label and control on one row, the why, problem and note beneath."""
        with Horizontal(classes="field-row"):
            yield Label(self._label, classes="field-label", markup=False)
            yield self._control
        if self._why:
            yield Static(self._why, classes="why", markup=False)
        yield Static("", classes="problem", markup=False)
        yield Static("", classes="note", markup=False)

    def concerns(self, problem_path: str) -> bool:
        """Return whether a problem at problem_path belongs beside this field."""
        return (
            problem_path == self.path
            or problem_path.startswith(self.path + ".")
            or self.path.startswith(problem_path + ".")
        )

    def show(self, problem: str | None, note: str | None = None) -> None:
        """Show what is wrong with the answer (or nothing), and a note on how it was read."""
        for selector, text in ((".problem", problem), (".note", note)):
            widget = self.query_one(selector, Static)
            widget.update(text or "")
            widget.display = bool(text)
