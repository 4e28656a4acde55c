"""Step 9, Review: every answer, the warnings, and each file of the bundle, secrets redacted."""

from pathlib import PurePosixPath
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import DataTable, Static, TabbedContent, TabPane, TextArea, Tree
from textual.widgets.tree import TreeNode

from screens.draft import finished_answers
from screens.messages import RenderRequested
from screens.step import StepPane
from screens.steps import STEPS, sections_before
from screens.widgets.notes import Notes
from screens.widgets.released import ReleasedTextArea
from screens.words import asked_on_screen, label, problem_text
from wizard.answers.model import Answers, AnswersError, Problem, tuned_facts, warnings
from wizard.answers.secret_store import Secrets, redact
from wizard.bundle import element_web
from wizard.bundle.model import Bundle
from wizard.bundle.tuning import answers_load
from wizard.bundle.worker_plan import in_words, worker_plan
from wizard.fit.tiers import tier_shortfall
from wizard.probe.facts import HostFacts

FIRST_FILE = "README.md"
# The heading over the answers no field asks for, in the Answers tab's two columns.
NOT_ASKED = ("Not asked on screen", "from defaults or the answers file")
# JSON files (the well-known documents) are shown as plain text: the tree-sitter JSON grammar
# that textual[syntax] 8.2.8 installs beside tree-sitter 0.26 crashes the process when loaded.
_LANGUAGES = {
    ".yaml": "yaml",
    ".yml": "yaml",
    ".toml": "toml",
    ".sh": "bash",
    ".md": "markdown",
    ".sql": "sql",
    ".config": "yaml",
}


def language_for(path: str) -> str | None:
    """Return the highlighting language for a bundle file, or None for plain text."""
    return _LANGUAGES.get(PurePosixPath(path).suffix)


def shown_text(bundle: Bundle, path: str, secrets: Secrets) -> str:
    """Return a file's text fit for the screen: every secret value replaced by a marker."""
    return redact(bundle[path].text, secrets)


def said_in_words(answers: Answers) -> dict[str, str]:
    """Return the answers whose bare value says too little, by path, each in words."""
    words = {"homeserver.workers": in_words(worker_plan(answers, tuned_facts(answers)))}
    element = element_web.url(answers)
    if element is not None:
        words["domain.element_host"] = f"Element Web served at {element}"
    return words


def value_words(value: object) -> str:
    """Return an answer's value in words: yes or no, (none), (empty), or as the file has it."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value) or "(empty)"


def answer_rows(data: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Return every answer as a dotted path and its value in words, in the answers file's order."""
    if isinstance(data, dict):
        rows: list[tuple[str, str]] = []
        for key, value in data.items():
            rows.extend(answer_rows(value, f"{prefix}.{key}" if prefix else str(key)))
        return rows
    return [(prefix, value_words(data))]


def answers_listed(answers: Answers) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Return the answers by path with their values in words, split as the Answers tab lists them.

    First those a field asks for, in the order of the steps, then the rest in the answers
    file's order.
    """
    words = said_in_words(answers)
    rows = [
        (path, words.get(path, value))
        for path, value in answer_rows(answers.model_dump(mode="json"))
        if path != "version"
    ]
    order = sections_before(len(STEPS))
    asked = [(path, value) for path, value in rows if asked_on_screen(path)]
    asked.sort(key=lambda row: order.index(row[0].split(".")[0]))
    return asked, [(path, value) for path, value in rows if not asked_on_screen(path)]


def machine_warnings(answers: Answers, facts: HostFacts | None) -> list[str]:
    """Return what the machine lacks for the homeserver and tier the answers tune for."""
    if facts is None:
        return []
    homeserver = answers.homeserver
    extra = answers_load(answers)
    lacking = tier_shortfall(facts, homeserver.kind.value, homeserver.tier.value, extra)
    return [lacking] if lacking else []


class ReviewStep(StepPane):
    """Show every answer and warning, and the bundle's files in a read-only viewer."""

    STEP_NAME = "Review"
    HELP = "review"
    NEXT_LABEL = "Write"
    DEPENDS_ON = ("mode", "facts")

    def __init__(self, state: Any, *, position: int, count: int, earlier: tuple[str, ...]) -> None:
        super().__init__(state, position=position, count=count, earlier=earlier)
        self.answers: Answers | None = None
        self.problems: list[Problem] = []
        try:
            self.answers = finished_answers(state.draft)
        except AnswersError as error:
            self.problems = error.problems
        self.bundle: Bundle | None = None
        self.secrets: Secrets | None = None
        self.failure: str | None = None
        self.file_shown: str | None = None

    def compose_form(self) -> ComposeResult:
        """Lay out the warnings, then the answers and the files in two tabs."""
        said = []
        if self.answers is not None:
            said = machine_warnings(self.answers, self.state.facts) + warnings(self.answers)
        yield Notes("\n".join(f"Warning: {text}" for text in said), id="warnings", labelled=True)
        with TabbedContent(id="review-tabs"):
            with TabPane("Answers", id="answers-tab"):
                table: DataTable[Text] = DataTable(id="answers", cursor_type="row")
                yield table
            with TabPane("Files", id="files-tab"), Horizontal(id="files-view"):
                yield Tree(Text("bundle"), id="files")
                yield ReleasedTextArea.code_editor("", read_only=True, id="viewer")

    def on_mount(self) -> None:
        """Fill the answers table."""
        self.query_one("#viewer", TextArea).cursor_blink = getattr(self.app, "cursor_blink", True)
        self.query_one("#warnings").display = bool(self.query_one("#warnings", Static).content)
        table = self.query_one("#answers", DataTable)
        table.add_column(Text("Answer"), key="path")
        table.add_column(Text("Value"), key="value")
        if self.answers is None:
            return
        asked, not_asked = answers_listed(self.answers)
        for path, value in asked:
            table.add_row(Text(label(path)), Text(value), key=path)
        heading, source = NOT_ASKED
        table.add_row(Text(heading, style="bold"), Text(source, style="italic"), key="not-asked")
        for path, value in not_asked:
            table.add_row(Text(path), Text(value), key=path)

    def arrived(self) -> None:
        """Ask for the bundle to be rendered."""
        if self.answers is not None:
            self.post_message(RenderRequested(self.answers, self.state.out_dir))

    def settling(self) -> bool:
        """Return whether the bundle is still being rendered for review."""
        return self.answers is not None and self.bundle is None and self.failure is None

    def step_problems(self) -> list[Problem]:
        """Return the answers' problems (go back to fix them), or why rendering failed."""
        if self.problems:
            return [
                Problem(
                    path="answers",
                    message="go back and fix: " + "; ".join(map(problem_text, self.problems)),
                )
            ]
        if self.failure is not None:
            return [Problem(path="bundle", message=self.failure)]
        if self.bundle is None:
            return [Problem(path="", message="rendering the bundle...")]
        return []

    def show_bundle(self, bundle: Bundle, secrets: Secrets) -> None:
        """Fill the file tree and show the first file."""
        self.bundle = bundle
        self.secrets = secrets
        tree = self.query_one("#files", Tree)
        tree.clear()
        folders: dict[str, TreeNode[str]] = {}
        leaves: dict[str, TreeNode[str]] = {}
        for path in bundle:
            node = tree.root
            parts = PurePosixPath(path).parts
            for depth in range(1, len(parts)):
                folder = "/".join(parts[:depth])
                if folder not in folders:
                    folders[folder] = node.add(Text(parts[depth - 1] + "/"), expand=True)
                node = folders[folder]
            leaves[path] = node.add_leaf(Text(parts[-1]), data=path)
        tree.root.expand()
        first = FIRST_FILE if FIRST_FILE in bundle else next(iter(bundle))
        self.show_file(first)
        self.call_after_refresh(tree.move_cursor, leaves[first])
        self.revalidate()

    def show_file(self, path: str) -> None:
        """Show one file, redacted, highlighted by its kind, once the Files tab is open."""
        self.file_shown = path
        if self.bundle is None or self.secrets is None:
            return
        if self.query_one("#review-tabs", TabbedContent).active != "files-tab":
            return
        viewer = self.query_one("#viewer", TextArea)
        viewer.language = language_for(path)
        viewer.load_text(shown_text(self.bundle, path, self.secrets))
        viewer.border_title = path

    def work_failed(self, message: str) -> None:
        """Show why the bundle could not be rendered."""
        self.failure = message
        self.revalidate()

    @on(TabbedContent.TabActivated, "#review-tabs")
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """Load the chosen file into the viewer when the Files tab opens."""
        if event.pane.id == "files-tab" and self.file_shown is not None:
            self.show_file(self.file_shown)

    @on(Tree.NodeHighlighted, "#files")
    @on(Tree.NodeSelected, "#files")
    def _file_chosen(self, event: Tree.NodeHighlighted[str] | Tree.NodeSelected[str]) -> None:
        if event.node.data is not None:
            self.show_file(event.node.data)
