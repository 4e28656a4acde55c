"""Step 1, Welcome: what will happen, and which machine the bundle is for (or a draft to resume)."""

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.widgets import Static

from screens.draft import load_draft, typed_only
from screens.draft_file import outside_bundles
from screens.state import Draft, Mode, WizardState
from screens.step import StepPane
from screens.widgets.choices import Choices
from screens.widgets.entry import Entry
from screens.widgets.field import Field
from wizard.errors import UsageError

if TYPE_CHECKING:
    from wizard.answers.model import Problem

INTRO = (
    "This wizard sizes a Matrix homeserver (Synapse, Dendrite, Conduit, Continuwuity or "
    "Tuwunel) for a machine and writes a bundle of files that, applied, runs it behind a "
    "reverse proxy. Nothing is installed until you run apply.sh from the bundle."
)
STEPS_AHEAD = (
    "Ahead: the machine, the homeserver and its tier, the domain, the database, the proxy and "
    "TLS, the extras; then a review of every file, writing the bundle, and how to apply it."
)
MODES = (
    (Mode.LOCAL.value, "This machine: probe it now"),
    (Mode.REMOTE.value, "A remote machine, over SSH"),
    (Mode.PLAN.value, "Plan for a machine described by hand or by a profile"),
    (Mode.RESUME.value, "Resume a saved draft"),
)


class WelcomeStep(StepPane):
    """Say what will happen and pick the mode; resuming loads a saved draft."""

    STEP_NAME = "Welcome"
    HELP = "welcome"

    def __init__(
        self, state: WizardState, *, position: int, count: int, earlier: tuple[str, ...]
    ) -> None:
        super().__init__(state, position=position, count=count, earlier=earlier)
        self._loaded: Draft | None = None
        self._draft_path: Entry | None = None

    def compose_form(self) -> ComposeResult:
        """Lay out the introduction, the modes and the draft file."""
        yield Static(INTRO, classes="intro")
        yield Static(STEPS_AHEAD, classes="why")
        yield Field(
            Choices(
                MODES, self.state.mode.value, id="mode", ask_more=frozenset({Mode.RESUME.value})
            ),
            path="mode",
            id="mode-field",
        )
        if self.state.mode is Mode.RESUME:
            yield self._draft_field()

    def _draft_field(self) -> Field:
        self._draft_path = Entry(str(self.state.draft_path), id="draft-path")
        return Field(
            self._draft_path,
            path="draft",
            why="a draft saved with ctrl+s, or an answers.yaml",
            id="draft-field",
        )

    def _mode(self) -> Mode:
        selected = self.query_one("#mode", Choices).selected
        return Mode(selected) if selected else self.state.mode

    def _show_draft_field(self) -> None:
        """Show the draft file only when resuming, and move to it when it appears.

        It is built the first time it is needed.
        """
        resuming = self._mode() is Mode.RESUME
        shown = self.query("#draft-field")
        appears = resuming and not (shown and shown.first(Field).display)
        if shown:
            shown.first(Field).display = resuming
        elif resuming:
            self.mount(self._draft_field(), after="#mode-field")
        if appears and self._draft_path is not None:
            self.call_after_refresh(self._draft_path.focus)

    def form_changed(self) -> None:
        """Show or hide the draft file, then check again."""
        self._show_draft_field()
        self.revalidate()

    def step_problems(self) -> "list[Problem]":
        """Return why the draft cannot be resumed, if resuming."""
        self._loaded = None
        if self._mode() is not Mode.RESUME:
            return []
        from wizard.answers.model import Problem

        text = self._draft_path.value.strip() if self._draft_path else ""
        if not text:
            return [Problem(path="draft", message="give the path of a saved draft")]
        try:
            self._loaded = load_draft(Path(text))
        except UsageError as error:
            return [Problem(path="draft", message=str(error))]
        return []

    def hand_back(self, state: WizardState) -> WizardState:
        """Return the state for the chosen mode; a resumed draft replaces the answers so far.

        Its answers that only repeat what follows from others are left to follow them.
        """
        mode = self._mode()
        if mode is Mode.RESUME and self._loaded is not None and self._draft_path is not None:
            path = Path(self._draft_path.value.strip())
            draft = typed_only(self._loaded, {})
            machine = draft.get("machine") or {}
            form = {
                "source": "hand",
                "cores": str(machine.get("cores") or ""),
                "ram": f"{machine['ram_mb']}M" if machine.get("ram_mb") else "",
            }
            return replace(
                state,
                mode=mode,
                draft=draft,
                draft_path=outside_bundles(path),
                facts=None,
                machine_form=form,
                saved_draft=draft,
                saved_machine_form=form,
            )
        if mode is state.mode:
            return state
        return replace(state, mode=mode, facts=None, machine_form={})

    def keep_entries(self, state: WizardState) -> WizardState:
        """Nothing to keep: Welcome is the first step."""
        return state
