"""Messages: steps ask the app to act, and the app's workers report back to it."""

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from textual.message import Message

from screens.remote import HostKey, RemoteSession, RemoteTarget

if TYPE_CHECKING:
    from screens.step import StepPane
    from wizard.answers.model import Answers
    from wizard.answers.secret_store import Secrets
    from wizard.bundle.model import Bundle
    from wizard.probe.facts import HostFacts
    from wizard.verify.checks import CheckResult

Answer = TypeVar("Answer")

# --- From the steps to the app ----------------------------------------------------------------


class ScreenReady(Message):
    """The wizard's screen is laid out and ready for its first step."""


class WizardLoaded(Message):
    """The wizard has finished loading behind the first step, or given up trying."""


class NextRequested(Message):
    """The person wants to go on to the next step."""


class BackRequested(Message):
    """The person wants to go back a step."""


class StepChecked(Message):
    """A step has checked its entries; the navigation row shows the result if it is on screen."""

    def __init__(self, step: "StepPane") -> None:
        super().__init__()
        self.step = step


class ProbeRequested(Message):
    """Probe this machine, with the homeserver's data at data_path; time its disk if asked."""

    def __init__(self, data_path: str, *, measure_disk: bool = False) -> None:
        super().__init__()
        self.data_path = data_path
        self.measure_disk = measure_disk


class ConnectRequested(Message):
    """Connect to a remote machine over SSH and read its facts."""

    def __init__(self, target: RemoteTarget) -> None:
        super().__init__()
        self.target = target


class RenderRequested(Message):
    """Render the bundle for review."""

    def __init__(self, answers: "Answers", out_dir: str) -> None:
        super().__init__()
        self.answers = answers
        self.out_dir = out_dir


class WriteRequested(Message):
    """Render, write and check the bundle in out_dir."""

    def __init__(self, answers: "Answers", out_dir: str) -> None:
        super().__init__()
        self.answers = answers
        self.out_dir = out_dir


class ApplyRequested(Message):
    """Upload the written bundle to the remote machine and run apply.sh there."""

    def __init__(self, dry_run: bool) -> None:
        super().__init__()
        self.dry_run = dry_run


# --- From the workers to the app --------------------------------------------------------------


class WorkFailed(Message):
    """A background task of a step failed; message says what went wrong and what to do.

    ``step`` names the step the task was for, as its module does (``machine``, ``write``).
    """

    def __init__(self, step: str, message: str) -> None:
        super().__init__()
        self.step = step
        self.message = message


class FactsFound(Message):
    """The machine's facts, probed here or read over SSH (with the session left open)."""

    def __init__(self, facts: "HostFacts", session: RemoteSession | None = None) -> None:
        super().__init__()
        self.facts = facts
        self.session = session


@dataclass
class Reply(Generic[Answer]):
    """Where the person's answer to a worker's question is left; it never shows in a repr."""

    value: Answer | None = field(default=None, repr=False)
    given: threading.Event = field(default_factory=threading.Event)

    def answer(self, value: Answer | None) -> None:
        """Record the answer, or None when the person declined, and wake the worker."""
        self.value = value
        self.given.set()

    def take(self) -> Answer | None:
        """Return the answer and forget it here."""
        value, self.value = self.value, None
        return value


class HostKeyAsked(Message):
    """The SSH worker waits for the person to accept or refuse an unknown host key."""

    def __init__(self, key: HostKey, reply: Reply[bool]) -> None:
        super().__init__()
        self.key = key
        self.reply = reply


class SecretAsked(Message):
    """The SSH worker waits for a password or a key's passphrase."""

    def __init__(self, prompt: str, reply: Reply[str]) -> None:
        super().__init__()
        self.prompt = prompt
        self.reply = reply


class BundleRendered(Message):
    """The bundle as it would be written, with the secrets it holds (for redaction)."""

    def __init__(self, bundle: "Bundle", secrets: "Secrets") -> None:
        super().__init__()
        self.bundle = bundle
        self.secrets = secrets


class WriteProgressed(Message):
    """One more stage of writing is done: what it was, and how many are done of the total."""

    def __init__(self, text: str, done: int, total: int) -> None:
        super().__init__()
        self.text = text
        self.done = done
        self.total = total


class CheckFinished(Message):
    """One real check of the written bundle has finished."""

    def __init__(self, result: "CheckResult") -> None:
        super().__init__()
        self.result = result


class WriteFinished(Message):
    """The bundle is written and checked in out_dir."""

    def __init__(self, out_dir: Path) -> None:
        super().__init__()
        self.out_dir = out_dir


class ApplyOutput(Message):
    """One line printed by apply.sh on the remote machine."""

    def __init__(self, line: str) -> None:
        super().__init__()
        self.line = line


class ApplyFinished(Message):
    """apply.sh finished on the remote machine with this exit status."""

    def __init__(self, status: int) -> None:
        super().__init__()
        self.status = status
