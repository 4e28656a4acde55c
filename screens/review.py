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
from screens.widgets.notes import Notes
from screens.widgets.released import ReleasedTextArea
from wizard.answers.model import Answers, AnswersError, Problem, tuned_facts, warnings
from wizard.answers.secret_store import Secrets, redact
from wizard.bundle.model import Bundle
from wizard.bundle.worker_plan import in_words, worker_plan

FIRST_FILE = "README.md"
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
    return {"homeserver.workers": in_words(worker_plan(answers, tuned_facts(answers)))}


def answer_rows(data: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Return every answer as a dotted path and its value, in the answers file's order."""
    if isinstance(data, dict):
        rows: list[tuple[str, str]] = []
        for key, value in data.items():
            rows.extend(answer_rows(value, f"{prefix}.{key}" if prefix else str(key)))
        return rows
    return [(prefix, "(none)" if data is None else str(data))]


class ReviewStep(StepPane):
    """Show every answer and warning, and the bundle's files in a read-only viewer."""

    STEP_NAME = "Review"
    HELP = "review"
    NEXT_LABEL = "Write"

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
        said = warnings(self.answers) if self.answers else []
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
        if self.answers is not None:
            words = said_in_words(self.answers)
            for path, value in answer_rows(self.answers.model_dump(mode="json")):
                if path != "version":
                    table.add_row(Text(path), Text(words.get(path, value)))

    def arrived(self) -> None:
        """Ask for the bundle to be rendered."""
        if self.answers is not None:
            self.post_message(RenderRequested(self.answers, self.state.out_dir))

    def step_problems(self) -> list[Problem]:
        """Return the answers' problems (go back to fix them), or why rendering failed."""
        if self.problems:
            return [
                Problem(
                    path="answers", message="go back and fix: " + "; ".join(map(str, self.problems))
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
