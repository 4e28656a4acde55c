"""Step 10, Write: the output folder, then render, write and every real check, with progress."""

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Input, ProgressBar, Static

from screens.draft import finished_answers
from screens.messages import WriteRequested
from screens.state import Mode, WizardState
from screens.step import StepPane
from screens.widgets.entry import Entry
from screens.widgets.field import Field
from screens.wizard_screen import WizardScreen
from wizard.answers.model import AnswersError, Problem
from wizard.units import counted
from wizard.verify.checks import CheckResult

_STATUS_WORDS = {"passed": "passed", "failed": "FAILED", "not-checked": "not checked"}


def checks_table(results: Sequence[CheckResult]) -> Table:
    """Return each check's file, checker, result and last word, in columns whose cells wrap."""
    table = Table(box=None, expand=True, pad_edge=False, header_style="bold")
    for heading in ("File", "Checked with", "Result"):
        table.add_column(heading, overflow="fold")
    table.add_column("Detail", ratio=1, overflow="fold")
    for result in results:
        detail = result.detail.strip().splitlines()[-1] if result.detail.strip() else ""
        table.add_row(
            Text(result.file),
            Text(result.checker),
            Text(_STATUS_WORDS[result.status]),
            Text(detail),
        )
    return table


class WriteStep(StepPane):
    """Write the bundle to a folder and check it with the real programs that read it."""

    STEP_NAME = "Write"
    HELP = "write"
    DEPENDS_ON = ("mode", "remote_host")

    def __init__(
        self, state: WizardState, *, position: int, count: int, earlier: tuple[str, ...]
    ) -> None:
        super().__init__(state, position=position, count=count, earlier=earlier)
        self.busy = False
        self.written = state.written_to if state.written_draft == state.draft else None
        self.failure: str | None = None
        self.results: list[CheckResult] = []
        self._said = ""

    def compose_form(self) -> ComposeResult:
        """Lay out the folder, the write button, the progress and the checks."""
        where = (
            "The bundle is written here first; the last step uploads it to "
            f"{self.state.remote_host} and applies it."
            if self.state.mode is Mode.REMOTE and self.state.remote_host
            else "The bundle is written here; a folder it replaces is kept beside it as "
            "<folder>.previous, and files edited by hand are never overwritten."
        )
        yield Static(where, classes="why", markup=False)
        yield Field(
            Entry(self.state.out_dir, id="out-dir"),
            path="write.out_dir",
        )
        with Horizontal(classes="action-row"):
            yield Button("Write the bundle", id="write", variant="primary", compact=True)
            yield ProgressBar(id="progress", show_eta=False)
        yield Static("", id="write-status", markup=False)
        checks = Static(id="checks")
        checks.display = False
        yield checks

    def on_mount(self) -> None:
        """Show the progress bar only while writing."""
        self.query_one("#progress", ProgressBar).display = self.busy

    def _out_dir(self) -> str:
        return self.query_one("#out-dir", Input).value.strip()

    def step_problems(self) -> list[Problem]:
        """Return what keeps the step from being done: no folder, a failure, or not yet written."""
        if not self._out_dir():
            return [Problem(path="write.out_dir", message="give the folder to write the bundle to")]
        if self.failure is not None:
            return [Problem(path="write.out_dir", message=self.failure)]
        if self.busy:
            return [Problem(path="", message="writing and checking the bundle...")]
        if self.written is None:
            return [Problem(path="", message="write the bundle to go on")]
        return []

    def form_changed(self) -> None:
        """Forget an earlier write once the folder changes, then check again."""
        if self.written is not None and Path(self._out_dir()).resolve() != self.written:
            self.written = None
        self.failure = None
        self.revalidate()

    @on(Input.Submitted, "#out-dir")
    def _out_dir_submitted(self, event: Input.Submitted) -> None:
        event.prevent_default()
        self._write()

    @on(Button.Pressed, "#write")
    def _write(self) -> None:
        if self.busy or not self._out_dir():
            return
        try:
            answers = finished_answers(self.state.draft)
        except AnswersError as error:
            self.failure = str(error)
            self.revalidate()
            return
        self.busy = True
        self.failure = None
        self.written = None
        self.query_one("#write", Button).disabled = True
        self.results = []
        self.query_one("#checks", Static).display = False
        progress = self.query_one("#progress", ProgressBar)
        progress.update(total=None, progress=0)
        progress.display = True
        self.post_message(WriteRequested(answers, self._out_dir()))
        self.revalidate()

    def progressed(self, text: str, done: int, total: int) -> None:
        """Move the progress bar on and say what was done."""
        self.query_one("#progress", ProgressBar).update(total=total, progress=done)
        self._said = text
        self.query_one("#write-status", Static).update(text)

    def check_finished(self, result: CheckResult) -> None:
        """Add one check's result to the table."""
        self.results.append(result)
        checks = self.query_one("#checks", Static)
        checks.update(checks_table(self.results))
        checks.display = True

    def write_finished(self, out_dir: Path) -> None:
        """Mark the bundle written, with a word on failed checks."""
        self.busy = False
        self.written = out_dir
        self.query_one("#write", Button).disabled = False
        failed = sum(1 for result in self.results if result.status == "failed")
        status = self.query_one("#write-status", Static)
        summary = f"{self._said}\nThe answers are saved beside it: {out_dir / 'answers.yaml'}"
        if failed:
            summary += f"\n{counted(failed, 'check')} failed: see the table; fix and write again."
        status.update(summary)
        self.revalidate()
        if isinstance(self.screen, WizardScreen):
            self.screen.focus_next_button(self)

    def work_failed(self, message: str) -> None:
        """Show why writing failed."""
        self.busy = False
        self.failure = message
        self.query_one("#write", Button).disabled = False
        self.query_one("#progress", ProgressBar).display = False
        self.revalidate()

    def hand_back(self, state: WizardState) -> WizardState:
        """Return the state with the folder entered (the app notes where the bundle was written)."""
        return replace(state, out_dir=self._out_dir())

    def keep_entries(self, state: WizardState) -> WizardState:
        """Keep the folder entered."""
        return replace(state, out_dir=self._out_dir())
