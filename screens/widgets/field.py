"""Field: one answer on screen, with its label, control, and a line of why or what is wrong."""

from textual import on
from textual.app import ComposeResult
from textual.containers import Grid
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Checkbox, Label, Select

from screens.widgets.choices import Choices
from screens.widgets.notes import Notes
from screens.words import label


class Field(Grid):
    """One answer: a label beside its control, and beneath it one line of detail.

    The detail says why the answer matters; when the answer has a problem, the problem takes
    its place, and a note on how the answer was read (such as a name put in lower case) comes
    after it. ``path`` is the answer's place in the answers file (such as
    ``domain.server_name``), so the problems the answers file reports land beside the field;
    the label is the one screens/words.py gives that path, the same everywhere it is named.

    A problem waits until the person has left the field, pressed Enter in it or made a choice
    in it, or the step reveals it (the person tried to go on, or the answer came from a draft);
    from then on it shows as the answer changes, so nobody is told off for a field they have
    not filled in yet.
    """

    class Revealed(Message):
        """The person left the field, pressed Enter or chose in it, and its problem now shows."""

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
        self._said: tuple[str | None, str | None] = (None, None)
        self._revealed = False
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

    @property
    def waiting(self) -> bool:
        """Return whether the answer has a problem not shown yet."""
        return self._said[0] is not None and not self._revealed

    def show(self, problem: str | None, note: str | None = None) -> None:
        """Take what is wrong with the answer and a note on it; show them, or else why it matters.

        The problem shows once the field is revealed; the note at once.
        """
        self._said = (problem, note)
        self._display()

    def reveal(self) -> None:
        """Show the answer's problem from now on, as the answer changes."""
        if not self._revealed:
            self._revealed = True
            self._display()

    def on_descendant_blur(self) -> None:
        """Reveal the problem once the person leaves the field, not when its step is put away."""
        if all(node.display for node in self.ancestors_with_self):
            self._revealed_by_the_person()

    def on_input_submitted(self) -> None:
        """Reveal the problem when the person presses Enter in the field."""
        self._revealed_by_the_person()

    @on(Choices.Changed)
    @on(Checkbox.Changed)
    @on(Select.Changed)
    def _chosen(self) -> None:
        """Reveal the problem once a choice is made: there is nothing more to type."""
        self._revealed_by_the_person()

    def _revealed_by_the_person(self) -> None:
        """Reveal the problem, saying so when one was waiting, so the step's status follows."""
        waiting = self.waiting
        self.reveal()
        if waiting:
            self.post_message(self.Revealed())

    def _display(self) -> None:
        """Show the problem if revealed, the note, or else why the answer matters."""
        said, note = self._said
        problem = said if self._revealed else None
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
