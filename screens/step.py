"""StepPane: what every step shares: its form, validation, and handing answers back."""

from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Input, Static

from screens.draft import check_draft, form_view, keep_sections, merged, typed_only
from screens.messages import NextRequested, StepChecked
from screens.state import Draft, WizardState
from screens.widgets.choices import Choices
from screens.widgets.field import Field
from screens.words import problem_text

if TYPE_CHECKING:
    from wizard.answers.model import Answers, Problem


def still_needed(count: int) -> str:
    """Say how many answers still need something before the step can go on, or nothing."""
    if count == 1:
        return "1 answer still needs something to go on"
    return f"{count} answers still need something to go on" if count else ""


class StepPane(VerticalScroll, can_focus=False, inherit_bindings=False):
    """One step of the wizard; subclasses lay out a form over some sections of the answers.

    Every step is a pane of the one wizard screen, which shows one pane at a time beneath the
    title and above the navigation row, so a pane built ahead of time shows at once. The pane
    is no Tab stop and binds no keys: the screen's PageUp and PageDown scroll it wherever the
    focus is.
    """

    STEP_NAME: ClassVar[str] = ""
    HELP: ClassVar[str] = ""
    SECTIONS: ClassVar[tuple[str, ...]] = ()
    NEXT_LABEL: ClassVar[str] = "Next"
    FIRST_FOCUS: ClassVar[str] = ""
    """The control that takes the focus when the step is first shown; "" for the first one."""
    DEPENDS_ON: ClassVar[tuple[str, ...]] = ("mode",)
    """The parts of the state, beside the answers, that the pane is built from."""
    BUILT_FROM: ClassVar[tuple[str, ...] | None] = None
    """The earlier answers sections the form reads, beside its own; None for all of them."""

    def __init__(
        self, state: WizardState, *, position: int, count: int, earlier: tuple[str, ...]
    ) -> None:
        super().__init__()
        self.state = state
        self.position = position
        self.count = count
        self.earlier = earlier
        self.valid = False
        self.status = ""
        self.reached = False
        self.checked: Answers | None = None
        self.left: WizardState | None = None

    # --- Layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """Lay out the step's form, with a line beneath it for problems no field owns.

        Above the form is said what a change of homeserver dropped from the step's answers.
        """
        dropped = [self.state.dropped[name] for name in self.SECTIONS if name in self.state.dropped]
        if dropped:
            yield Static("\n".join(dropped), id="step-dropped", markup=False)
        yield from self.compose_form()
        problems = Static("", id="step-problems", markup=False)
        problems.display = False
        yield problems

    def compose_form(self) -> ComposeResult:
        """Yield the step's own widgets."""
        yield from ()

    def still_fits(self, state: WizardState) -> bool:
        """Return whether this pane, as it was built or left, can be shown for state.

        It can when nothing its form shows has changed since: the parts of the state named in
        DEPENDS_ON, and the form's view of the answers it is built from (its own sections,
        with the defaults that follow from earlier answers, and the sections in BUILT_FROM).
        """
        basis = self.left or self.state
        if any(getattr(state, name) != getattr(basis, name) for name in self.DEPENDS_ON):
            return False
        return self._built_from(state) == self._built_from(basis)

    def _built_from(self, state: WizardState) -> Draft:
        """Return the part of the form's view of state that the form is built from."""
        built_from = self.earlier if self.BUILT_FROM is None else self.BUILT_FROM
        view = form_view(state.draft, self.earlier, self.SECTIONS)
        return keep_sections(view, built_from + self.SECTIONS)

    def come_back(self, state: WizardState, *, position: int, count: int) -> None:
        """Show this pane again, as it was built or left, for the current state."""
        self.state = state
        self.position = position
        self.count = count
        if self.is_mounted:
            self.revalidate()

    def settling(self) -> bool:
        """Return whether the step is still doing what it does on arrival; by default never."""
        return False

    def arrived(self) -> None:
        """Start what the step does when the person first reaches it; by default nothing."""

    def leave(self, state: WizardState) -> WizardState:
        """Remember the state this pane is left with, and return it."""
        self.left = state
        return state

    def heading(self) -> str:
        """Return the title bar's text: the app, where this step is, and its name."""
        return f"matrix-wizard · Step {self.position} of {self.count}: {self.STEP_NAME}"

    def on_mount(self) -> None:
        """Set the cursors' blinking, and check what is there."""
        blink = getattr(self.app, "cursor_blink", True)
        for widget in self.query(Input):
            widget.cursor_blink = blink
        self.revalidate()

    def view(self) -> Draft:
        """Return the answers as the form shows them: defaults, then what was entered."""
        return form_view(self.state.draft, self.earlier, self.SECTIONS)

    # --- Validation ---------------------------------------------------------------------------

    def form(self) -> Draft:
        """Return the step's sections as entered, valid or not."""
        return {}

    def step_problems(self) -> "list[Problem]":
        """Return problems outside the answers file (such as a machine not yet probed)."""
        return []

    def revalidate(self) -> None:
        """Check the entries as the answers file would and show each problem beside its field."""
        problems: list[Problem] = []
        notices: list[str] = []
        self.checked = None
        if self.SECTIONS:
            entered = keep_sections(self.form(), self.SECTIONS)
            draft = merged(keep_sections(self.state.draft, self.earlier), entered)
            problems, notices, self.checked = check_draft(draft, self.SECTIONS)
        problems += self.step_problems()
        self._show(problems, notices)
        self.valid = not problems
        self.post_message(StepChecked(self))

    def given(self, path: str) -> bool:
        """Return whether the answer at path held something before the step was shown.

        Such an answer came from a draft or an earlier visit, not from typing here, so its
        problem is shown at once.
        """
        value: object = self.state.draft
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value not in (None, "")

    def reveal_problems(self) -> None:
        """Show every field's problem from now on: the person tried to go on, or to act."""
        fields = list(self.query(Field))
        waiting = any(field.waiting for field in fields)
        for field in fields:
            field.reveal()
        if waiting:
            self.revalidate()

    def _show(self, problems: "list[Problem]", notices: list[str]) -> None:
        """Put each problem and notice beside the field it concerns; the rest below the form.

        A field shows its problem once revealed (see Field); until then the status line says
        only how many answers still need something.
        """
        placed: set[int] = set()
        waiting: set[int] = set()
        for field in self.query(Field):
            mine = [
                index
                for index, problem in enumerate(problems)
                if index not in placed and field.concerns(problem.path)
            ]
            placed.update(mine)
            notes = [
                note
                for path, _, note in (text.partition(": ") for text in notices)
                if field.concerns(path)
            ]
            if self.given(field.path):
                field.reveal()
            field.show(problems[mine[0]].message if mine else None, "\n".join(notes) or None)
            if field.waiting:
                waiting.update(mine)
        # A problem with no path is a word on where the step stands: the status line says it.
        rest = "\n".join(
            problem_text(problem)
            for index, problem in enumerate(problems)
            if index not in placed and problem.path
        )
        other = self.query_one("#step-problems", Static)
        if str(other.content) != rest:
            other.update(rest)
            other.display = bool(rest)
        shown = [problem for index, problem in enumerate(problems) if index not in waiting]
        self.status = problem_text(shown[0]) if shown else still_needed(len(waiting))

    def work_failed(self, message: str) -> None:
        """Show why a background task failed; steps with a better place for it override this."""
        other = self.query_one("#step-problems", Static)
        other.update(message)
        other.display = True

    # --- Handing back -------------------------------------------------------------------------

    def hand_back(self, state: WizardState) -> WizardState:
        """Return the state with this step's sections as the answers file reads them.

        Answers that only repeat what follows from others are left out, to follow their
        source; what was said about answers dropped from these sections has been read.
        """
        if self.checked is None:
            return state
        parsed = keep_sections(self.checked.model_dump(mode="json"), self.SECTIONS)
        dropped = {name: said for name, said in state.dropped.items() if name not in self.SECTIONS}
        draft = merged(state.draft, typed_only(parsed, state.draft))
        return replace(state, draft=draft, dropped=dropped)

    def keep_entries(self, state: WizardState) -> WizardState:
        """Return the state with this step's entries kept as they are, for going back."""
        entered = keep_sections(self.form(), self.SECTIONS)
        return replace(state, draft=merged(state.draft, typed_only(entered, state.draft)))

    # --- Entries changing ---------------------------------------------------------------------

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.post_message(NextRequested())

    @on(Field.Revealed)
    def _revealed(self) -> None:
        self.revalidate()

    def on_button_pressed(self) -> None:
        """Show every problem once the person presses one of the step's buttons to act."""
        self.reveal_problems()

    @on(Input.Changed)
    @on(Choices.Changed)
    def _changed(self) -> None:
        self.form_changed()

    def on_checkbox_changed(self) -> None:
        """React to a checkbox like to any other entry."""
        self.form_changed()

    def on_select_changed(self) -> None:
        """React to a choice in a list like to any other entry."""
        self.form_changed()

    def form_changed(self) -> None:
        """React to any entry changing: by default, check the step again."""
        self.revalidate()
