"""One writer at a time per bundle folder: an flock on a hidden file beside the folder.

The lock file is <parent>/.<name>.lock, beside the folder rather than in it, since the folder
itself is swapped whole. The kernel lets an flock go when its holder ends, even by kill -9, so
a crash never leaves the folder locked. The holder writes its pid, command and start into the
file, for the message a second writer gets, and deletes the file as it lets go; a writer that
then finds it locked a file already deleted opens the new one and tries again.
"""

import fcntl
import os
import shlex
import sys
import threading
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from pathlib import Path

from wizard.errors import WizardError

WaitNotice = Callable[[str], None]
"""Receives the one line to show when a writer waits for another to finish."""

LOCK_FILE_MODE = 0o644
_RECORD_LIMIT = 4096
_COMMAND_LIMIT = 200
_UNKNOWN_HOLDER = "a process that has not yet said which"
_this_thread = threading.local()


def lock_path(folder: Path) -> Path:
    """Return the lock file of a bundle folder: a hidden file beside it."""
    return folder.parent / f".{folder.name}.lock"


def holder_record(pid: int, command: str) -> str:
    """Return what a holder writes into the lock file: its pid, its command and since when."""
    since = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %z")
    return f"pid {pid}\ncommand {one_line(command)}\nsince {since}\n"


def one_line(text: str) -> str:
    """Return text on one line and at most a couple of hundred characters, to show as a command."""
    flat = " ".join(text.split())
    return flat if len(flat) <= _COMMAND_LIMIT else flat[: _COMMAND_LIMIT - 3] + "..."


def describe_holder(record: str, *, pid_where: str = "") -> str:
    """Return who holds a lock, from its lock file's text, as "pid 12 (command), since <time>"."""
    fields = {key: value for key, _, value in (line.partition(" ") for line in record.splitlines())}
    if not fields.get("pid", "").isdigit():
        return _UNKNOWN_HOLDER
    command = fields.get("command") or "command unknown"
    since = fields.get("since") or "a time unknown"
    return f"pid {fields['pid']}{pid_where} ({command}), since {since}"


def this_command() -> str:
    """Return this process's command line as the person typed it, to name it as a holder."""
    return shlex.join(["matrix-wizard", *sys.argv[1:]])


class BundleLock:
    """The writer lock of one bundle folder: one process at a time, taken once per thread."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = lock_path(folder)
        self._descriptor: int | None = None
        self._nested = False

    def acquire(self, *, wait: bool = False, on_wait: WaitNotice | None = None) -> None:
        """Take the lock; when another holds it, wait (saying so once) or raise naming the holder.

        Taking it again in the thread that holds it does nothing. Raises OSError when the lock
        file cannot be made, and WizardError when another holds the lock and wait is False.
        """
        held = _held_in_this_thread()
        if self.path in held:
            self._nested = True
            return
        while True:
            descriptor = os.open(
                self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, LOCK_FILE_MODE
            )
            try:
                if self._lock(descriptor, wait, on_wait):
                    on_wait = None
            except BaseException:
                os.close(descriptor)
                raise
            if _is_still_at(descriptor, self.path):
                break
            os.close(descriptor)
        with suppress(OSError):
            os.ftruncate(descriptor, 0)
            os.pwrite(descriptor, holder_record(os.getpid(), this_command()).encode(), 0)
        self._descriptor = descriptor
        held.add(self.path)

    def release(self) -> None:
        """Let the lock go, deleting its file first so that no writer takes a file left behind."""
        if self._nested:
            self._nested = False
            return
        descriptor = self._descriptor
        if descriptor is None:
            return
        self._descriptor = None
        _held_in_this_thread().discard(self.path)
        try:
            with suppress(OSError):
                os.unlink(self.path)
        finally:
            os.close(descriptor)

    def _lock(self, descriptor: int, wait: bool, on_wait: WaitNotice | None) -> bool:
        """Flock the open lock file; return whether on_wait was told of a wait."""
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return False
        except BlockingIOError:
            holder = describe_holder(_read_record(descriptor))
        if not wait:
            raise WizardError(
                f"{self.folder} is being written by another run, {holder}",
                "wait for it to finish, then try again",
            )
        if on_wait is not None:
            on_wait(f"Waiting for another run to finish writing {self.folder}: {holder}.")
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        return on_wait is not None


def _held_in_this_thread() -> set[Path]:
    """Return the lock files this thread holds."""
    held: set[Path] = _this_thread.__dict__.setdefault("held", set())
    return held


def _read_record(descriptor: int) -> str:
    """Return the holder's record from an open lock file."""
    return os.pread(descriptor, _RECORD_LIMIT, 0).decode("utf-8", errors="replace")


def _is_still_at(descriptor: int, path: Path) -> bool:
    """Return whether an open lock file is still the one at path, not one deleted since."""
    try:
        named = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    opened = os.fstat(descriptor)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)
