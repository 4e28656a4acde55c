"""Step 11, Done: where the bundle is, how to apply it, the DNS records; remotely, apply it now."""

import shlex
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Log, Static

from screens.dialogs import ApplyDialog
from screens.draft import finished_answers
from screens.messages import ApplyRequested
from screens.state import Mode, WizardState
from screens.step import StepPane
from screens.widgets.notes import Notes
from wizard.answers.model import Answers, AnswersError, Problem
from wizard.answers.secret_store import Secrets
from wizard.bundle import element_web
from wizard.bundle.context import RenderContext
from wizard.bundle.discovery import dns_records


def apply_commands(mode: Mode, bundle_dir: Path, homeserver_host: str) -> list[str]:
    """Return the exact commands that apply the bundle, run from a shell on this machine."""
    folder = shlex.quote(str(bundle_dir))
    if mode is Mode.LOCAL:
        return [f"cd {folder}", "sudo ./apply.sh --dry-run", "sudo ./apply.sh"]
    server = shlex.quote(f"root@{homeserver_host}")
    return [
        f"scp -rp {folder} {server}:matrix-bundle",
        f"ssh {server}",
        "cd matrix-bundle",
        "sudo ./apply.sh --dry-run",
        "sudo ./apply.sh",
    ]


def replay_command(bundle_dir: Path) -> str:
    """Return the command that writes the same bundle again from its saved answers."""
    answers = shlex.quote(str(bundle_dir / "answers.yaml"))
    return f"matrix-wizard generate --answers {answers} --out {shlex.quote(str(bundle_dir))}"


def dns_text(answers: Answers) -> str:
    """Return the DNS records the deployment needs: name, type and value, then what it is for."""
    # The DNS records do not read the secrets; fresh ones stand in for the bundle's.
    records = dns_records(RenderContext(answers=answers, facts=None, secrets=Secrets()))
    width = max(len(record.name) for record in records)
    lines = []
    for record in records:
        lines.append(f"{record.name:<{width}}  {record.type:<5} {record.value}")
        lines.append(f"    {'optional: ' if record.optional else ''}{record.purpose}")
    return "\n".join(lines)


class DoneStep(StepPane):
    """Say where the bundle is and how to apply it; in remote mode, upload and apply it."""

    STEP_NAME = "Done"
    HELP = "done"
    DEPENDS_ON = ("mode", "written_to", "remote_host")
    NEXT_LABEL = "Finish"

    def __init__(
        self, state: WizardState, *, position: int, count: int, earlier: tuple[str, ...]
    ) -> None:
        super().__init__(state, position=position, count=count, earlier=earlier)
        self.answers: Answers | None = None
        try:
            self.answers = finished_answers(state.draft)
        except AnswersError:
            self.answers = None
        self.applying = False

    def compose_form(self) -> ComposeResult:
        """Lay out the bundle's place, the commands, the DNS records and the remote apply."""
        folder = self.state.written_to
        answers = self.answers
        if folder is None or answers is None:
            return
        yield Static(f"The bundle is in {folder}", id="where", markup=False)
        remote = self.state.mode is Mode.REMOTE
        if remote:
            yield Static(
                f"Upload it to {self.state.remote_host} and run apply.sh there: a dry run "
                "prints every action and changes nothing.",
                classes="why",
                markup=False,
            )
            with Horizontal(classes="action-row"):
                yield Button("Upload and dry run", id="dry-run", compact=True)
                yield Button("Upload and apply", id="apply", variant="warning", compact=True)
                yield Static("", id="apply-status", markup=False)
            log = Log(id="apply-log", highlight=False)
            log.display = False  # shown with apply.sh's first line, so the DNS records stay in view
            yield log
        else:
            yield Static("Apply it with:", classes="heading")
            commands = apply_commands(self.state.mode, folder, answers.domain.homeserver_host)
            yield Static("\n".join(commands), id="commands", classes="code", markup=False)
        element = element_web.url(answers)
        if element is not None:
            yield Static(
                f"Element Web opens at {element} once it is applied.",
                id="element-web",
                classes="why",
                markup=False,
            )
        yield Static("DNS records to set at your DNS provider", classes="heading")
        yield Notes(dns_text(answers), id="dns", classes="code")
        yield Static(
            "The README.md in the bundle walks through DNS, the firewall, applying it and "
            f"the first admin account. To write the same bundle again: {replay_command(folder)}",
            classes="why",
            markup=False,
        )

    def step_problems(self) -> list[Problem]:
        """Return why the step cannot finish: no bundle written, or apply.sh still running."""
        if self.state.written_to is None or self.answers is None:
            return [Problem(path="", message="go back and write the bundle first")]
        if self.applying:
            return [Problem(path="", message="apply.sh is running...")]
        return []

    @on(Button.Pressed, "#dry-run")
    def _dry_run(self) -> None:
        self._apply(dry_run=True)

    @on(Button.Pressed, "#apply")
    def _apply_for_real(self) -> None:
        if self.applying or self.state.written_to is None:
            return
        host = self.state.remote_host or "the machine"

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self._apply(dry_run=False)

        self.app.push_screen(ApplyDialog(host, str(self.state.written_to)), answered)

    def _apply(self, *, dry_run: bool) -> None:
        if self.applying:
            return
        self.applying = True
        for button in self.query(".action-row Button"):
            button.disabled = True
        self.query_one("#apply-log", Log).clear()
        what = "a dry run of apply.sh" if dry_run else "apply.sh"
        self.query_one("#apply-status", Static).update(f"Uploading, then {what}...")
        self.post_message(ApplyRequested(dry_run))
        self.revalidate()

    def apply_output(self, line: str) -> None:
        """Add one line of apply.sh's output to the log, showing the log if it was hidden."""
        log = self.query_one("#apply-log", Log)
        log.display = True
        log.write_line(line)

    def apply_finished(self, status: int) -> None:
        """Say how apply.sh ended."""
        self._stop("apply.sh finished" if status == 0 else f"apply.sh failed with status {status}")

    def work_failed(self, message: str) -> None:
        """Say why uploading or applying failed."""
        self._stop(message)

    def _stop(self, text: str) -> None:
        self.applying = False
        for button in self.query(".action-row Button"):
            button.disabled = False
        self.query_one("#apply-status", Static).update(text)
        self.revalidate()
