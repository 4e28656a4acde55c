"""WizardApp: owns the answers draft and the ordered steps, and runs every slow task in a worker."""

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, TypeVar

from textual import events, on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.timer import Timer
from textual.worker import Worker, WorkerState, get_current_worker

from screens.draft import save_draft
from screens.draft_file import free_name, must_ask_before_saving, outside_bundles, shown_path
from screens.memory import collect_as_usual, free_panes_let_go, set_aside_what_is_loaded
from screens.messages import (
    Answer,
    ApplyFinished,
    ApplyOutput,
    ApplyRequested,
    BackRequested,
    BundleRendered,
    CheckFinished,
    ConnectRequested,
    FactsFound,
    HostKeyAsked,
    NextRequested,
    ProbeRequested,
    RenderRequested,
    Reply,
    ScreenReady,
    SecretAsked,
    StepChecked,
    WizardLoaded,
    WorkFailed,
    WriteFinished,
    WriteProgressed,
    WriteRequested,
)
from screens.remote import HostKey, RemoteSession, RemoteTarget, SessionFactory, UnavailableSession
from screens.state import WizardState
from screens.step import StepPane
from screens.steps import STEPS, sections_before
from screens.wizard_screen import WizardScreen
from wizard.errors import WizardError
from wizard.paths import asset
from wizard.units import counted

if TYPE_CHECKING:
    from wizard.answers.model import Answers
    from wizard.probe.facts import HostFacts

Probe = Callable[[str], "HostFacts"]
Kept = TypeVar("Kept", bound=StepPane)

QUIT_KEY = "ctrl+q"

# How often a worker waiting for the person checks whether it was cancelled, in seconds.
_WAIT_SLICE = 0.1

# The next step's pane is built out of sight as soon as a step is shown, and built again
# once the person has paused this long, in seconds, after changing an answer it shows.
BUILD_AHEAD_PAUSE = 0.3

# The memory of the panes let go is freed once the person has stayed on a step this long, in
# seconds; a garbage collection takes up to about 20 ms.
FREE_PAUSE = 0.2


def _wait_for(reply: Reply[Answer]) -> Answer | None:
    """Wait in a worker for the person's answer; return None if they decline or it is cancelled."""
    worker = get_current_worker()
    while not reply.given.wait(_WAIT_SLICE):
        if worker.is_cancelled:
            return None
    return reply.take()


def probe_this_machine(data_path: str) -> "HostFacts":
    """Probe the machine the wizard runs on, for a homeserver keeping its data at data_path."""
    from wizard.probe.local import probe_local

    return probe_local(data_path=data_path, measure_disk=False)


def measure_this_machine(data_path: str) -> "HostFacts":
    """Probe this machine and time random reads of the disk at data_path to tell SSD from HDD."""
    from wizard.probe.local import probe_local

    return probe_local(data_path=data_path, measure_disk=True)


class WizardApp(App[int]):
    """The wizard: walks the steps in order, holding the answers draft between them.

    Each step is a pane of the one wizard screen. The pane Next would show is built out of
    sight while the person reads the step on show; a pane is kept once shown, and shown again
    as it was when the person comes back to it, unless what its form shows (the mode, the
    machine, earlier answers) has changed.
    """

    CSS_PATH = str(asset("wizard.tcss"))
    TITLE = "matrix-wizard"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help", id="help", tooltip="Show help for this step"),
        Binding(
            "ctrl+s",
            "save_draft",
            "Save draft",
            id="save",
            tooltip="Save the answers so far, to resume later",
        ),
        Binding(
            QUIT_KEY,
            "quit",
            "Quit",
            id="quit",
            priority=True,
            tooltip="Quit; asks first when answers are not saved",
        ),
    ]

    def __init__(
        self,
        state: WizardState | None = None,
        *,
        probe: Probe = probe_this_machine,
        measure: Probe = measure_this_machine,
        session_factory: SessionFactory = UnavailableSession,
        cursor_blink: bool = True,
    ) -> None:
        super().__init__()
        self.state = state or WizardState()
        self.probe = probe
        self.measure = measure
        self.session_factory = session_factory
        self.cursor_blink = cursor_blink
        self.session: RemoteSession | None = None
        self.step_index = 0
        self._shown: dict[int, StepPane] = {}
        self._ahead: Timer | None = None
        self._freeing: Timer | None = None
        self._warm_up_started = False
        self._loaded = False
        # Keys typed while a step is on its way to the screen (from the start, the first step);
        # None while no step is.
        self._held_keys: list[events.Key] | None = []

    def get_default_screen(self) -> WizardScreen:
        """Return the one screen the steps are shown on."""
        return WizardScreen()

    @property
    def frame(self) -> WizardScreen:
        """Return the screen the steps are shown on, whatever dialog covers it."""
        screen = self.screen_stack[0]
        assert isinstance(screen, WizardScreen)
        return screen

    async def on_event(self, event: events.Event) -> None:
        """Hold keys typed while a step is on its way to the screen, so that none is lost.

        Quitting is never held, nor are keys for a dialog: they work whatever the step is doing.
        """
        if (
            isinstance(event, events.Key)
            and self._held_keys is not None
            and event.key != QUIT_KEY
            and (not self.screen_stack or isinstance(self.screen_stack[-1], WizardScreen))
        ):
            self._held_keys.append(event)
            return
        await super().on_event(event)

    def _pass_on_held_keys(self) -> None:
        """Hand the keys held while the step was on its way on, in the order typed.

        Enter typed before the terminal left line mode arrives as a line feed (ctrl+j), the
        terminal having turned its carriage return into one; it is passed on as Enter.
        """
        keys, self._held_keys = self._held_keys, None
        for key in keys or ():
            if key.key == "ctrl+j":
                self.post_message(events.Key("enter", "\r"))
            else:
                self.post_message(events.Key(key.key, key.character))

    @on(ScreenReady)
    def _screen_ready(self) -> None:
        """Show the first step."""
        self._go(0)

    @work(thread=True, exit_on_error=False, group="warm-up")
    def warm_up(self) -> None:
        """Import the other steps and read the data files while the person reads Welcome.

        Then what is loaded is set aside from garbage collection, being kept for good. Steps
        are built ahead only after that: a pane set aside with it could never be freed.
        """
        from wizard.fit.tiers import load_tiers
        from wizard.probe.profile import list_profiles

        try:
            for step in STEPS[1:]:
                step.pane_class()
            load_tiers()
            list_profiles()
            set_aside_what_is_loaded()
        finally:
            self.post_message(WizardLoaded())

    @on(WizardLoaded)
    def _wizard_loaded(self) -> None:
        """Build the next step ahead, which waited for the wizard to load."""
        self._loaded = True
        self._build_ahead()

    # --- Steps --------------------------------------------------------------------------------

    def _pane_for(self, index: int, state: WizardState) -> StepPane:
        """Return the step's pane for state: the one kept if it still fits, else a new one."""
        kept = self._shown.get(index)
        if kept is not None and kept.still_fits(state):
            kept.come_back(state, position=index + 1, count=len(STEPS))
            return kept
        if kept is not None:
            self._forget(index)
        pane = STEPS[index].pane_class()(
            state, position=index + 1, count=len(STEPS), earlier=sections_before(index)
        )
        self._shown[index] = pane
        return pane

    def _forget(self, index: int) -> None:
        """Let go of a step's kept pane, so that it is built afresh when next needed."""
        self.frame.forget(self._shown.pop(index))
        self._free_after_a_pause()

    def _free_after_a_pause(self) -> None:
        """Free the memory of the panes let go once the person stays on a step a moment.

        Waiting keeps the collection out of step changes made one after another at once.
        """
        if self._freeing is not None:
            self._freeing.stop()
        self._freeing = self.set_timer(FREE_PAUSE, self._free)

    def _free(self) -> None:
        """Free the memory of the panes let go, now that the person has paused."""
        self._freeing = None
        free_panes_let_go()

    def _keep_only_neighbours(self, index: int) -> None:
        """Keep the panes of the steps either side of index, the ones most often gone to next.

        Every kept pane holds its widgets; keeping them all would cost memory for little gain.
        The first step's pane is kept too: it is set aside with what is loaded while it is on
        show, so letting go of it would free nothing.
        """
        if not self.screen_stack:
            return
        near = {0, index - 1, index, index + 1}
        for kept in [kept for kept in self._shown if kept not in near]:
            self._forget(kept)

    def kept(self, kind: type[Kept]) -> Kept | None:
        """Return the kept pane of a kind of step, on show or not, for a worker's result."""
        for pane in self._shown.values():
            if isinstance(pane, kind):
                return pane
        return None

    def current_step(self) -> StepPane | None:
        """Return the step on show, or None while a dialog covers it or the wizard closes."""
        stack = self.screen_stack
        top = stack[-1] if stack else None
        return top.step if isinstance(top, WizardScreen) else None

    def _go(self, index: int) -> None:
        self.step_index = index
        if self._freeing is not None:
            self._free_after_a_pause()
        pane = self._pane_for(index, self.state)
        if (not pane.is_mounted or pane.settling()) and self._held_keys is None:
            # A pane built now takes its focus once checked, and one settling is not ready
            # for them yet: keys typed till then wait for it.
            self._held_keys = []
        self.frame.show(pane)
        if not pane.reached:
            pane.reached = True
            pane.call_after_refresh(pane.arrived)
        self.call_after_refresh(self._keep_only_neighbours, index)
        self.call_after_refresh(self._build_ahead)

    def _build_ahead_soon(self) -> None:
        """Build the next step's pane again once the person pauses over the answers."""
        if self._ahead is not None:
            self._ahead.stop()
        self._ahead = self.set_timer(BUILD_AHEAD_PAUSE, self._build_ahead)

    def _build_ahead(self) -> None:
        """Build, out of sight, the pane of the step that Next would show now, if not built."""
        step = self.current_step()
        if step is None or not step.valid or not self._loaded:
            return
        state = step.hand_back(self.state)
        following = self.step_index + 1
        if following == len(STEPS):
            return
        kept = self._shown.get(following)
        if kept is None or not kept.still_fits(state):
            self.frame.add(self._pane_for(following, state))

    def next_step(self) -> None:
        """Take the step's answers and go on to the next step; finish after Done."""
        step = self.current_step()
        if step is None:
            return
        if not step.valid:
            step.reveal_problems()
            self.bell()
            return
        self.state = step.leave(step.hand_back(self.state))
        if self.step_index + 1 == len(STEPS):
            self.exit(0)
            return
        self._go(self.step_index + 1)

    def prev_step(self) -> None:
        """Keep the step's entries, valid or not, and go back to the previous step."""
        step = self.current_step()
        if step is None:
            return
        self.state = step.leave(step.keep_entries(self.state))
        if self.step_index > 0:
            self._go(self.step_index - 1)

    @on(StepChecked)
    def _step_checked(self, message: StepChecked) -> None:
        if message.step is self.current_step():
            self.frame.checked(message.step)
            if self._held_keys is not None and not message.step.settling():
                self._pass_on_held_keys()
            self._build_ahead_soon()
            if not self._warm_up_started:
                # Once the first step is painted, the rest of the wizard loads behind it.
                self._warm_up_started = True
                self.call_after_refresh(self.warm_up)

    @on(NextRequested)
    def _next(self) -> None:
        self.next_step()

    @on(BackRequested)
    def _back(self) -> None:
        self.prev_step()

    # --- Help, drafts and quitting ------------------------------------------------------------

    def action_help(self) -> None:
        """Show the help for the step on screen."""
        step = self.current_step()
        if step is None:
            return
        from screens.dialogs import HelpDialog

        text = asset(f"help/{step.HELP}.md").read_text(encoding="utf-8")
        self.push_screen(HelpDialog(step.STEP_NAME, text))

    def action_save_draft(self) -> None:
        """Save the answers so far where the draft lives, asking before replacing a file."""
        self._save_draft_then(None)

    def _save_draft_then(self, after: Callable[[], None] | None) -> None:
        """Save the draft, asking first when that would replace a file this run did not write."""
        step = self.current_step()
        if step is not None:
            self.state = step.keep_entries(self.state)
        path = outside_bundles(self.state.draft_path)
        self.state = replace(self.state, draft_path=path)
        if not must_ask_before_saving(self.state):
            self._save_to(path, after)
            return
        from screens.dialogs import ReplaceDialog

        def chosen(target: Path | None) -> None:
            if target is not None:
                self._save_to(target, after)

        self.push_screen(ReplaceDialog(path, free_name(path)), chosen)

    def _save_to(self, path: Path, after: Callable[[], None] | None) -> None:
        """Write the draft to path, say where in full, then do what was waiting on it."""
        try:
            save_draft(self.state.draft, path)
        except WizardError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        self.state = replace(
            self.state,
            draft_path=path,
            saved_to=path,
            saved_draft=self.state.draft,
            saved_machine_form=self.state.machine_form,
        )
        self.notify(f"Draft saved to {shown_path(path)}", markup=False)
        if after is not None:
            after()

    async def action_quit(self) -> None:
        """Quit, asking first when the answers are not saved."""
        step = self.current_step()
        if step is not None:
            self.state = step.keep_entries(self.state)
        if not self.state.unsaved:
            self.exit(0)
            return

        from screens.dialogs import QuitChoice, QuitDialog

        def chosen(choice: QuitChoice | None) -> None:
            if choice == "save":
                self._save_draft_then(lambda: self.exit(0))
            elif choice == "discard":
                self.exit(0)

        target = shown_path(outside_bundles(self.state.draft_path))
        self.push_screen(QuitDialog(target), chosen)

    def on_unmount(self) -> None:
        """Close the SSH connection, if one is open, and collect garbage as usual again."""
        if self.session is not None:
            self.session.close()
        collect_as_usual()

    # --- Probing and connecting ---------------------------------------------------------------

    @on(ProbeRequested)
    def _probe_requested(self, message: ProbeRequested) -> None:
        self.probe_machine(message.data_path, self.measure if message.measure_disk else self.probe)

    @work(thread=True, exclusive=True, exit_on_error=False, group="machine")
    def probe_machine(self, data_path: str, probe: Probe) -> None:
        """Probe this machine (timing its disk, with the measuring probe); post its facts."""
        try:
            facts = probe(data_path)
        except WizardError as error:
            self.post_message(WorkFailed("machine", str(error)))
            return
        self.post_message(FactsFound(facts))

    @on(ConnectRequested)
    def _connect_requested(self, message: ConnectRequested) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None
        self.connect_remote(message.target)

    @work(thread=True, exclusive=True, exit_on_error=False, group="machine")
    def connect_remote(self, target: RemoteTarget) -> None:
        """Connect over SSH, asking about an unknown host key, and post the machine's facts."""
        session = self.session_factory()
        try:
            facts = session.connect(target, self._ask_host_key, self._ask_secret)
        except WizardError as error:
            session.close()
            self.post_message(WorkFailed("machine", str(error)))
            return
        self.post_message(FactsFound(facts, session))

    def _ask_host_key(self, key: HostKey) -> bool:
        """Ask the person about a host key from the SSH worker, waiting for the answer."""
        reply: Reply[bool] = Reply()
        self.post_message(HostKeyAsked(key, reply))
        return _wait_for(reply) is True

    def _ask_secret(self, prompt: str) -> str | None:
        """Ask the person for a password or passphrase from the SSH worker, waiting for it."""
        reply: Reply[str] = Reply()
        self.post_message(SecretAsked(prompt, reply))
        return _wait_for(reply)

    @on(HostKeyAsked)
    def _host_key_asked(self, message: HostKeyAsked) -> None:
        from screens.dialogs import HostKeyDialog

        def answered(accepted: bool | None) -> None:
            message.reply.answer(bool(accepted))

        self.push_screen(HostKeyDialog(message.key), answered)

    @on(SecretAsked)
    def _secret_asked(self, message: SecretAsked) -> None:
        from screens.dialogs import SecretDialog

        self.push_screen(SecretDialog(message.prompt), message.reply.answer)

    @on(FactsFound)
    def _facts_found(self, message: FactsFound) -> None:
        if message.session is not None:
            self.session = message.session
        from screens.machine import MachineStep

        step = self.kept(MachineStep)
        if step is not None:
            step.facts_arrived(message.facts)

    # --- Rendering, writing and checking ------------------------------------------------------

    @on(RenderRequested)
    def _render_requested(self, message: RenderRequested) -> None:
        self.render_bundle(message.answers, message.out_dir)

    @work(thread=True, exclusive=True, exit_on_error=False, group="review")
    def render_bundle(self, answers: "Answers", out_dir: str) -> None:
        """Render the bundle with the secrets it would be written with, for review."""
        from wizard.answers.model import tuned_facts
        from wizard.answers.secret_store import load_secrets
        from wizard.bundle.render import render

        try:
            secrets = load_secrets(Path(out_dir))
            bundle = render(answers, tuned_facts(answers), secrets)
        except WizardError as error:
            self.post_message(WorkFailed("review", str(error)))
            return
        self.post_message(BundleRendered(bundle, secrets))

    @on(BundleRendered)
    def _bundle_rendered(self, message: BundleRendered) -> None:
        from screens.review import ReviewStep

        step = self.kept(ReviewStep)
        if step is not None:
            step.show_bundle(message.bundle, message.secrets)

    @on(WriteRequested)
    def _write_requested(self, message: WriteRequested) -> None:
        self.write_bundle(message.answers, message.out_dir)

    @work(thread=True, exclusive=True, exit_on_error=False, group="write")
    def write_bundle(self, answers: "Answers", out_dir: str) -> None:
        """Under the folder's lock read its secrets, render and write; then run each real check."""
        from wizard.answers.model import tuned_facts
        from wizard.answers.secret_store import load_secrets
        from wizard.bundle.render import render
        from wizard.deliver import targets
        from wizard.verify.checks import CheckResult, check_bundle, checkers_for

        worker = get_current_worker()
        try:
            with targets.writer_lock(Path(out_dir)) as folder:
                secrets = load_secrets(folder)
                bundle = render(answers, tuned_facts(answers), secrets)
                self.post_message(
                    WriteProgressed(f"Rendered {counted(len(bundle), 'file')}.", 1, 3)
                )
                result = targets.write_bundle(bundle, folder)
        except WizardError as error:
            self.post_message(WorkFailed("write", str(error)))
            return
        total = 2 + len(checkers_for(result.out_dir))
        self.post_message(WriteProgressed(targets.describe_result(result), 2, total))
        done = 2

        def checked(check: CheckResult) -> None:
            nonlocal done
            done += 1
            self.post_message(CheckFinished(check))
            self.post_message(WriteProgressed(f"Checked {check.file}.", done, total))

        if worker.is_cancelled:
            return
        check_bundle(result.out_dir, on_result=checked)
        self.post_message(WriteProgressed(targets.describe_result(result), total, total))
        self.post_message(WriteFinished(result.out_dir))

    @on(WriteProgressed)
    def _write_progressed(self, message: WriteProgressed) -> None:
        from screens.write import WriteStep

        step = self.kept(WriteStep)
        if step is not None:
            step.progressed(message.text, message.done, message.total)

    @on(CheckFinished)
    def _check_finished(self, message: CheckFinished) -> None:
        from screens.write import WriteStep

        step = self.kept(WriteStep)
        if step is not None:
            step.check_finished(message.result)

    @on(WriteFinished)
    def _write_finished(self, message: WriteFinished) -> None:
        draft = self.state.draft
        self.state = replace(
            self.state,
            written_to=message.out_dir,
            written_draft=draft,
            saved_draft=draft,
            saved_machine_form=self.state.machine_form,
        )
        from screens.write import WriteStep

        step = self.kept(WriteStep)
        if step is not None:
            step.write_finished(message.out_dir)

    # --- Applying remotely --------------------------------------------------------------------

    @on(ApplyRequested)
    def _apply_requested(self, message: ApplyRequested) -> None:
        if self.session is None or self.state.written_to is None:
            self.post_message(
                WorkFailed("done", "not connected: go back to the Machine step and connect")
            )
            return
        self.apply_remote(self.session, self.state.written_to, message.dry_run)

    @work(thread=True, exclusive=True, exit_on_error=False, group="done")
    def apply_remote(self, session: RemoteSession, bundle_dir: Path, dry_run: bool) -> None:
        """Upload the written bundle and run apply.sh remotely, streaming its output."""

        def pass_on(line: str) -> None:
            self.post_message(ApplyOutput(line))

        try:
            status = session.upload_and_apply(bundle_dir, pass_on, dry_run=dry_run)
        except WizardError as error:
            self.post_message(WorkFailed("done", str(error)))
            return
        self.post_message(ApplyFinished(status))

    @on(ApplyOutput)
    def _apply_output(self, message: ApplyOutput) -> None:
        from screens.done import DoneStep

        step = self.kept(DoneStep)
        if step is not None:
            step.apply_output(message.line)

    @on(ApplyFinished)
    def _apply_finished(self, message: ApplyFinished) -> None:
        from screens.done import DoneStep

        step = self.kept(DoneStep)
        if step is not None:
            step.apply_finished(message.status)

    # --- Failures -----------------------------------------------------------------------------

    @on(WorkFailed)
    def _work_failed(self, message: WorkFailed) -> None:
        """Show why a task failed on its step, its advice put as what to do on screen."""
        from screens.advice import on_screen

        said = on_screen(message.message)
        owner = next((step for step in STEPS if step.module == f"screens.{message.step}"), None)
        pane = self.kept(owner.pane_class()) if owner is not None else None
        if pane is not None:
            pane.work_failed(said)
            pane.reveal_problems()
        else:
            self.notify(said, severity="error", markup=False)

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        """Turn an unexpected error in a worker into a readable message on the step."""
        if event.state is WorkerState.ERROR:
            error = event.worker.error
            self.post_message(
                WorkFailed(event.worker.group, f"{event.worker.name} failed unexpectedly: {error}")
            )


def run_wizard(session_factory: SessionFactory | None = None) -> int:
    """Run the wizard in this terminal, over SSH unless told otherwise; return its exit status."""
    if session_factory is None:
        from screens.ssh_session import SshSession

        session_factory = SshSession
    app = WizardApp(session_factory=session_factory)
    app.run()
    return app.return_code or 0
