"""The bundle's manifest: each file the wizard wrote, with its sha256 and mode."""

import hashlib
import json
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from wizard.bundle.model import PUBLIC
from wizard.errors import WizardError

MANIFEST_FILE = ".manifest.json"
MANIFEST_MODE = PUBLIC
_FORMAT = 1
_HEX = frozenset("0123456789abcdef")
_OCTAL = frozenset("01234567")


@dataclass(frozen=True)
class ManifestEntry:
    """What the wizard wrote at one path: the sha256 of its bytes and its mode."""

    sha256: str
    mode: int


Manifest = dict[str, ManifestEntry]


def sha256_hex(data: bytes) -> str:
    """Return the sha256 of some bytes as 64 lower-case hex digits."""
    return hashlib.sha256(data).hexdigest()


def is_bundle_path(path: str) -> bool:
    """Return whether a path is relative, written with "/", and stays inside the bundle."""
    if not path or "\\" in path or "\0" in path:
        return False
    pure = PurePosixPath(path)
    return (
        not pure.is_absolute()
        and pure.as_posix() == path
        and all(part not in ("", ".", "..") for part in pure.parts)
    )


def manifest_text(manifest: Mapping[str, ManifestEntry]) -> str:
    """Return the manifest file's text: sorted, no timestamps, so equal bundles give equal bytes."""
    files = {
        path: {"mode": f"{entry.mode:04o}", "sha256": entry.sha256}
        for path, entry in sorted(manifest.items())
    }
    return json.dumps({"files": files, "format": _FORMAT}, indent=2, sort_keys=True) + "\n"


def parse_manifest(content: bytes, source: str) -> Manifest:
    """Return the entries of a manifest's bytes, or raise WizardError naming its source."""
    try:
        data = json.loads(content)
    except ValueError:
        raise _unreadable(source, "it is not valid JSON") from None
    files = data.get("files") if isinstance(data, dict) and data.get("format") == _FORMAT else None
    if not isinstance(files, dict):
        raise _unreadable(source, "it is not a matrix-wizard manifest")
    return {path: _entry(path, fields, source) for path, fields in files.items()}


def _entry(path: str, fields: object, source: str) -> ManifestEntry:
    """Return one manifest entry, checked: a path inside the bundle, a sha256 and a mode."""
    if not is_bundle_path(path) or not isinstance(fields, dict):
        raise _unreadable(source, f"entry {path!r} is not a relative path inside the bundle")
    digest, mode = fields.get("sha256"), fields.get("mode")
    if not isinstance(digest, str) or len(digest) != 64 or not set(digest) <= _HEX:
        raise _unreadable(source, f"entry {path!r} has no valid sha256")
    if not isinstance(mode, str) or len(mode) != 4 or not set(mode) <= _OCTAL:
        raise _unreadable(source, f'entry {path!r} has no valid mode such as "0644"')
    return ManifestEntry(sha256=digest, mode=int(mode, 8))


def _unreadable(source: str, problem: str) -> WizardError:
    """Return the error for a manifest that cannot be used, with the ways out."""
    return WizardError(
        f"cannot read the manifest {source}: {problem}",
        "restore it from the previous bundle, or delete it: every file that differs from "
        "the new bundle is then kept as it is, with the new version beside it as <file>.new",
    )


def read_manifest(out_dir: Path) -> Manifest | None:
    """Return the manifest of a bundle folder, or None when the folder holds none."""
    path = out_dir / MANIFEST_FILE
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise WizardError(
            f"cannot read the manifest {path}: {error.strerror}",
            "check the folder's permissions, or run the wizard as the user who wrote the bundle",
        ) from None
    return parse_manifest(content, str(path))


def file_sha256(path: Path) -> str | None:
    """Return the sha256 of a regular file, or None when it is missing or not a regular file."""
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return None
        return sha256_hex(path.read_bytes())
    except FileNotFoundError:
        return None


def mismatched_paths(
    manifest: Mapping[str, ManifestEntry], digests: Mapping[str, str | None]
) -> list[str]:
    """Return, sorted, each manifest path whose digest is missing from digests or differs."""
    return sorted(path for path, entry in manifest.items() if digests.get(path) != entry.sha256)


def verify_bundle(out_dir: Path) -> list[str]:
    """Return, sorted, each file the manifest lists whose bytes on disk differ or are missing."""
    manifest = read_manifest(out_dir)
    if manifest is None:
        raise WizardError(
            f"{out_dir} holds no {MANIFEST_FILE}",
            "write the bundle there with the wizard first; only a bundle it wrote can be verified",
        )
    try:
        digests = {path: file_sha256(out_dir / path) for path in manifest}
    except OSError as error:
        raise WizardError(
            f"cannot read {error.filename}: {error.strerror}",
            "check the folder's permissions, or run the wizard as the user who wrote the bundle",
        ) from None
    return mismatched_paths(manifest, digests)
