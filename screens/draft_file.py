"""Where a draft is saved: never into a bundle, and never over a file not saved in this run."""

from pathlib import Path

from screens.state import DEFAULT_DRAFT_FILE, WizardState
from wizard.deliver.manifest import MANIFEST_FILE


def bundle_folder(path: Path) -> Path | None:
    """Return the bundle folder a file lies in (a folder with the bundle's record), or None."""
    for folder in path.absolute().parents:
        if (folder / MANIFEST_FILE).is_file():
            return folder
    return None


def outside_bundles(path: Path) -> Path:
    """Return where a draft meant for path is saved: there, unless that is inside a bundle.

    A bundle's files, its answers.yaml among them, are written only together, by Write; a draft
    resumed from a bundle is saved beside the bundle's folder instead.
    """
    folder = bundle_folder(path)
    if folder is None:
        return path
    return folder.parent / DEFAULT_DRAFT_FILE


def must_ask_before_saving(state: WizardState) -> bool:
    """Return whether saving would replace a file this run did not write."""
    return state.draft_path.exists() and state.draft_path != state.saved_to


def free_name(path: Path) -> Path:
    """Return path, or the first free name beside it numbered from 2 (draft-2.yaml, …)."""
    number = 2
    candidate = path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
        number += 1
    return candidate


def shown_path(path: Path) -> str:
    """Return the path as the person should see it: whole, from the root."""
    return str(path.absolute())
