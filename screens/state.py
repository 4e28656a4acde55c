"""What the wizard holds between steps: the mode, the answers draft, the machine and the bundle."""

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wizard.probe.facts import HostFacts

Draft = dict[str, Any]

DEFAULT_DRAFT_FILE = "matrix-wizard-draft.yaml"
DEFAULT_BUNDLE_DIR = "matrix-bundle"


class Mode(StrEnum):
    """Which machine the bundle is for, and how the wizard learns about it."""

    LOCAL = "local"
    REMOTE = "remote"
    PLAN = "plan"
    RESUME = "resume"


@dataclass(frozen=True)
class WizardState:
    """Everything the steps have decided so far; the app replaces it as a whole on each change."""

    mode: Mode = Mode.LOCAL
    draft: Draft = field(default_factory=dict)
    facts: "HostFacts | None" = None
    machine_form: dict[str, str] = field(default_factory=dict)
    draft_path: Path = Path(DEFAULT_DRAFT_FILE)
    out_dir: str = DEFAULT_BUNDLE_DIR
    remote_host: str | None = None
    written_to: Path | None = None
    written_draft: Draft | None = None
    saved_draft: Draft = field(default_factory=dict)
    saved_machine_form: dict[str, str] = field(default_factory=dict)
    saved_to: Path | None = None
    dropped: dict[str, str] = field(default_factory=dict)
    """By answers section, what a change of homeserver dropped from it and why, until its step
    is left."""

    @property
    def unsaved(self) -> bool:
        """Return whether the answers or typed machine entries differ from those last kept."""
        return self.draft != self.saved_draft or typed_entries(self.machine_form) != typed_entries(
            self.saved_machine_form
        )


# The Machine step's entries a person types (a host, plan figures); the rest are choices that
# start with a value, and quitting without them loses nothing typed.
TYPED_MACHINE_ENTRIES = ("host", "port", "user", "key_file", "cores", "ram", "disk")


def typed_entries(machine_form: dict[str, str]) -> dict[str, str]:
    """Return the Machine step's typed entries that hold something."""
    return {key: machine_form[key] for key in TYPED_MACHINE_ENTRIES if machine_form.get(key)}
