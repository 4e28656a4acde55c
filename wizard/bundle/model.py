"""The bundle: relative paths mapped to file contents and modes."""

from dataclasses import dataclass

PRIVATE = 0o600
PUBLIC = 0o644
EXECUTABLE = 0o755


@dataclass(frozen=True)
class File:
    """One file of the bundle: its text and its mode (0600 for anything holding a secret)."""

    text: str
    mode: int = PUBLIC


Bundle = dict[str, File]
