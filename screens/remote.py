"""The remote mode's view of SSH: connect with a host-key question, then upload and apply.

The screens depend only on this protocol; screens/ssh_session.py implements it over paramiko.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from wizard.errors import WizardError

if TYPE_CHECKING:
    from wizard.probe.facts import HostFacts


@dataclass(frozen=True)
class RemoteTarget:
    """Where to connect: host, port, user and an optional private key file.

    A port or user left out is found as ssh finds it: in ~/.ssh/config for the host, else
    port 22 and the name of the person running the wizard.
    """

    host: str
    port: int | None = None
    user: str | None = None
    key_file: str | None = None


@dataclass(frozen=True)
class HostKey:
    """A host key the person has not accepted before, shown by its SHA256 fingerprint."""

    host: str
    key_type: str
    fingerprint: str


HostKeyQuestion = Callable[[HostKey], bool]
SecretQuestion = Callable[[str], str | None]
"""Ask the person for a password or passphrase by its prompt; None when they decline."""
LineSink = Callable[[str], None]


class RemoteSession(Protocol):
    """One SSH connection to the machine the bundle is for."""

    def connect(
        self, target: RemoteTarget, on_unknown_key: HostKeyQuestion, on_secret: SecretQuestion
    ) -> "HostFacts":
        """Connect, asking about an unknown host key and for any secret; return the facts."""
        ...

    def upload_and_apply(self, bundle_dir: Path, on_line: LineSink, *, dry_run: bool) -> int:
        """Upload the bundle, run apply.sh there passing on each line; return its exit status."""
        ...

    def close(self) -> None:
        """Close the connection; safe to call more than once."""
        ...


SessionFactory = Callable[[], RemoteSession]


class UnavailableSession:
    """The session used when this build has no SSH support: every call says so."""

    def connect(
        self, target: RemoteTarget, on_unknown_key: HostKeyQuestion, on_secret: SecretQuestion
    ) -> "HostFacts":
        """Refuse to connect, with the ways that work without SSH."""
        raise WizardError(
            "connecting over SSH is not available in this build",
            "run matrix-wizard on that machine, or plan for it by hand",
        )

    def upload_and_apply(self, bundle_dir: Path, on_line: LineSink, *, dry_run: bool) -> int:
        """Refuse to upload, with the way to apply by hand."""
        raise WizardError(
            "uploading over SSH is not available in this build",
            "copy the bundle to the machine and run apply.sh there",
        )

    def close(self) -> None:
        """Nothing to close."""
