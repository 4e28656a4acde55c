"""Field: one answer on screen, with its label, control, and a line of why or what is wrong."""

from textual.app import ComposeResult
from textual.containers import Grid
from textual.widget import Widget
from textual.widgets import Label

from screens.widgets.notes import Notes
from screens.words import label


class Field(Grid):
    """One answer: a label beside its control, and beneath it one line of detail.

    The detail says why the answer matters; when the answer has a problem, the problem takes
    its place, and a note on how the answer was read (such as a name put in lower case) comes
    after it. ``path`` is the answer's place in the answers file (such as
    ``domain.server_name``), so the problems the answers file reports land beside the field;
    the label is the one screens/words.py gives that path, the same everywhere it is named.
    """

    DEFAULT_CSS = """
    Field { grid-size: 2; grid-columns: 18 1fr; grid-rows: auto; height: auto; }
    Field > .field-label { padding-right: 1; }
    Field > .detail { column-span: 2; padding-left: 18; color: $text-muted; }
    Field > .detail.-problem { color: $text-error; }
    Field > .detail.-note { color: $text-warning; }
    """

    def __init__(self, control: Widget, *, path: str, why: str = "", id: str | None = None) -> None:
        super().__init__(id=id)
        self.path = path
        self._label = label(path)
        self._control = control
        self._why = why
        self._shown: tuple[str | None, str | None] = (None, None)
        self._detail = Notes(why, classes="detail", labelled=True) if why else None
        self._composed = False

    def compose(self) -> ComposeResult:
        """Lay out the label and control on one row, the detail beneath if there is one yet.

        A field with nothing to say has no detail line until it has a problem to show: most
        never do, and every widget costs memory and time to build.
        """
        yield Label(self._label, classes="field-label", markup=False)
        yield self._control
        if self._detail is not None:
            yield self._detail
        self._composed = True

    def concerns(self, problem_path: str) -> bool:
        """Return whether a problem at problem_path belongs beside this field."""
        return (
            problem_path == self.path
            or problem_path.startswith(self.path + ".")
            or self.path.startswith(problem_path + ".")
        )

    @property
    def problem(self) -> str | None:
        """Return the problem shown beside the field, if any."""
        return self._shown[0]

    def show(self, problem: str | None, note: str | None = None) -> None:
        """Show what is wrong with the answer, or a note on it, or else why it matters."""
        if (problem, note) == self._shown:
            return
        self._shown = (problem, note)
        text = "\n".join(part for part in (problem, note) if part) or self._why
        # Only the why's lines can start with a label; a problem is a sentence.
        labelled = not (problem or note)
        detail = self._detail
        if detail is None:
            if not text:
                return
            detail = self._detail = Notes(text, classes="detail", labelled=labelled)
            if self._composed:
                self.mount(detail)
        else:
            detail.labelled = labelled
            detail.update(text)
        detail.set_class(problem is not None, "-problem")
        detail.set_class(problem is None and note is not None, "-note")
        detail.display = bool(text)
