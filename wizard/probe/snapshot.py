"""A machine's raw probe material: file texts by path, symlinks, listings and a few commands.

The local probe reads these on demand from this machine; the SSH probe and the test fixtures
replay a recorded copy. Both answer the same ``Snapshot`` questions, so HostFacts are built by
one code path whatever the source.

A recorded snapshot lives in a folder (see tests/fixtures/hosts/capture.sh):

- ``root/<absolute path>``: the text of each file that was read;
- ``links.tsv``: ``path<TAB>target`` for each symlink;
- ``dirs.tsv``: ``path<TAB>entry`` for each entry of each listed folder;
- ``present.txt``: other paths that exist (marker files, folders);
- ``commands.tsv``: ``command<TAB>output`` for each command that printed something;
- ``errors.tsv``: ``path<TAB>reason`` for each path that exists but could not be read.
"""

import errno
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

# The commands a snapshot answers; a recorded snapshot keys their one-line output by this text.
ARCH_COMMAND = "uname -m"
EUID_COMMAND = "id -u"
HOME_COMMAND = "printenv HOME"
SUDO_COMMAND = "sudo -n true"  # its output is the exit status
# Programs whose place on PATH (plus the sbin folders) the probe asks about.
PROGRAMS = ("docker", "docker-compose", "nginx", "caddy", "traefik", "postgres", "sudo")
SBIN_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")


def which_command(program: str) -> str:
    """Return the command whose output is where ``program`` is installed, if anywhere."""
    return f"command -v {program}"


def df_command(path: str) -> str:
    """Return the command whose output is the last line of ``df -Pk`` for ``path``."""
    return f"df -Pk {shlex.quote(path)}"


class Snapshot(Protocol):
    """The questions the fact builder asks a machine; reads raise OSError like the real ones."""

    def read(self, path: str) -> str:
        """Return the text of a file."""
        ...

    def readlink(self, path: str) -> str:
        """Return the target of a symlink."""
        ...

    def listdir(self, path: str) -> list[str]:
        """Return the names in a folder, sorted."""
        ...

    def exists(self, path: str) -> bool:
        """Return True if something exists at the path."""
        ...

    def command(self, command: str) -> str | None:
        """Return the one-line output of one of the known commands, None if it is unavailable."""
        ...


def os_error_reason(error: OSError) -> str:
    """Return an OS error as a short lowercase reason, such as "permission denied"."""
    return (error.strerror or str(error)).lower()


def read_or_reason(snapshot: Snapshot, path: str) -> tuple[str | None, str]:
    """Return (text, "") for a readable file, or (None, why it could not be read)."""
    try:
        return snapshot.read(path), ""
    except FileNotFoundError:
        return None, f"{path} does not exist"
    except OSError as error:
        return None, f"{path}: {os_error_reason(error)}"


@dataclass
class ProbeSnapshot:
    """A recorded snapshot: everything the probe read on one machine, replayable anywhere."""

    files: dict[str, str] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    dirs: dict[str, list[str]] = field(default_factory=dict)
    present: set[str] = field(default_factory=set)
    commands: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def _refuse(self, path: str) -> None:
        if path in self.errors:
            raise PermissionError(errno.EACCES, self.errors[path], path)

    def read(self, path: str) -> str:
        """Return the recorded text of a file."""
        self._refuse(path)
        if path not in self.files:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
        return self.files[path]

    def readlink(self, path: str) -> str:
        """Return the recorded target of a symlink."""
        self._refuse(path)
        if path not in self.links:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
        return self.links[path]

    def listdir(self, path: str) -> list[str]:
        """Return the recorded names in a folder."""
        self._refuse(path)
        if path in self.dirs:
            return sorted(self.dirs[path])
        if path in self.present:
            return []
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)

    def exists(self, path: str) -> bool:
        """Return True if the path was recorded in any form."""
        return any(
            path in recorded
            for recorded in (self.files, self.links, self.dirs, self.present, self.errors)
        )

    def command(self, command: str) -> str | None:
        """Return the recorded output of a command."""
        return self.commands.get(command)

    @classmethod
    def from_folder(cls, folder: Path) -> "ProbeSnapshot":
        """Load a snapshot recorded in a folder by capture.sh (or written by hand)."""
        snapshot = cls()
        files_root = folder / "root"
        if files_root.is_dir():
            for file in sorted(files_root.rglob("*")):
                if file.is_file():
                    path = "/" + file.relative_to(files_root).as_posix()
                    snapshot.files[path] = file.read_text(encoding="utf-8", errors="replace")
        snapshot.links = dict(_tsv(folder / "links.tsv"))
        for path, entry in _tsv(folder / "dirs.tsv"):
            snapshot.dirs.setdefault(path, []).append(entry)
        snapshot.present = set(_lines(folder / "present.txt"))
        snapshot.commands = dict(_tsv(folder / "commands.tsv"))
        snapshot.errors = dict(_tsv(folder / "errors.tsv"))
        return snapshot


def _lines(file: Path) -> list[str]:
    if not file.is_file():
        return []
    return [line for line in file.read_text(encoding="utf-8").splitlines() if line]


def _tsv(file: Path) -> list[tuple[str, str]]:
    pairs = []
    for line in _lines(file):
        key, _, value = line.partition("\t")
        pairs.append((key, value))
    return pairs
