"""Swap a fully built folder in for another in one step, keeping the folder it replaces."""

import errno
import os
import shutil
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path

from wizard.errors import WizardError

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_UNSUPPORTED = frozenset({errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP})

Renameat2 = Callable[[int, bytes, int, bytes, int], int]


class StrandedFolder(WizardError):
    """A swap failed half way and could not be undone: the message says where each folder is."""


@cache
def _renameat2() -> Renameat2 | None:
    import ctypes  # loaded only when a folder is replaced: most writes make a new one

    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError, TypeError):
        return None
    function.argtypes = (
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    )
    function.restype = ctypes.c_int
    found: Renameat2 = function
    return found


def exchange_paths(first: Path, second: Path) -> bool:
    """Swap two existing paths in one atomic step; return False where the system cannot."""
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    result = renameat2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    if result == 0:
        return True
    import ctypes

    code = ctypes.get_errno()
    if code in _UNSUPPORTED:
        return False
    raise OSError(code, os.strerror(code), str(first), None, str(second))


def staging_prefix(out_dir: Path) -> str:
    """Return the name prefix of the hidden sibling folders a new version is built in."""
    return f".{out_dir.name}.tmp-"


def make_staging_dir(out_dir: Path) -> Path:
    """Create an empty hidden sibling of out_dir, on the same file system, to build in."""
    return Path(tempfile.mkdtemp(prefix=staging_prefix(out_dir), dir=out_dir.parent))


def stale_staging_dirs(out_dir: Path) -> list[Path]:
    """Return the staging folders an interrupted earlier write left beside out_dir."""
    prefix = staging_prefix(out_dir)
    try:
        entries = list(os.scandir(out_dir.parent))
    except OSError:
        return []
    return sorted(
        Path(entry.path)
        for entry in entries
        if entry.name.startswith(prefix) and entry.is_dir(follow_symlinks=False)
    )


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries to disk, so a rename in it survives a power cut."""
    descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def fsync_tree(root: Path) -> None:
    """Flush every folder under root (deepest first) to disk; files are flushed when written."""
    folders = [Path(parent) for parent, _, _ in os.walk(root)]
    for folder in reversed(folders):
        fsync_dir(folder)


def remove_tree(path: Path) -> str | None:
    """Delete a folder and all it holds; return what went wrong, or None when it is gone."""
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        return None
    except OSError as error:
        return f"could not delete {path}: {error.strerror}; delete it by hand"
    return None


def swap_in(staged: Path, out_dir: Path, previous: Path) -> Path | None:
    """Put staged at out_dir and the folder it replaces at previous; undo it all on failure.

    Returns a folder left to delete (the older previous one), or None. With Linux's
    renameat2(RENAME_EXCHANGE) out_dir always holds either the whole old or the whole new
    folder; elsewhere two renames leave out_dir missing for an instant, never half written.
    """
    if not os.path.lexists(out_dir):
        os.rename(staged, out_dir)
        fsync_dir(out_dir.parent)
        return None
    if exchange_paths(staged, out_dir):
        leftover = _keep_replaced(staged, out_dir, previous)
    else:
        leftover = _swap_by_renames(staged, out_dir, previous)
    fsync_dir(out_dir.parent)
    return leftover


def _keep_replaced(replaced: Path, out_dir: Path, previous: Path) -> Path | None:
    """After an exchange, move the replaced folder to previous, or exchange back on failure."""
    try:
        if not os.path.lexists(previous):
            os.rename(replaced, previous)
            return None
        _exchange_or_fail(replaced, previous)
        return replaced
    except BaseException:
        _undo(
            lambda: _exchange_or_fail(replaced, out_dir),
            f"{out_dir} holds the new bundle, but the bundle it replaced is in {replaced}",
            f"rename {replaced} to {previous} to keep it",
        )
        raise


def _swap_by_renames(staged: Path, out_dir: Path, previous: Path) -> Path | None:
    """Swap with plain renames where the exchange is not available, undoing each on failure."""
    parked = _park(previous, out_dir) if os.path.lexists(previous) else None
    try:
        os.rename(out_dir, previous)
    except BaseException:
        _unpark(parked, previous)
        raise
    try:
        os.rename(staged, out_dir)
    except BaseException:
        older = f"; the older previous bundle is in {parked}" if parked else ""
        _undo(
            lambda: os.rename(previous, out_dir),
            f"{out_dir} is missing: the bundle that was there is in {previous}{older}",
            f"rename {previous} back to {out_dir}",
        )
        _unpark(parked, previous)
        raise
    return parked


def _park(previous: Path, out_dir: Path) -> Path:
    """Move the older previous folder out of the way, to a staging name, and return where."""
    parked = make_staging_dir(out_dir)
    try:
        os.rename(previous, parked)
    except BaseException:
        parked.rmdir()
        raise
    return parked


def _unpark(parked: Path | None, previous: Path) -> None:
    """Put a parked older previous folder back in its place."""
    if parked is not None:
        _undo(
            lambda: os.rename(parked, previous),
            f"the older previous bundle is in {parked}",
            f"rename {parked} to {previous} to keep it",
        )


def _exchange_or_fail(first: Path, second: Path) -> None:
    """Exchange two paths, raising OSError where the file system cannot."""
    if not exchange_paths(first, second):
        raise OSError(errno.ENOTSUP, os.strerror(errno.ENOTSUP), str(first), None, str(second))


def _undo(step: Callable[[], None], where: str, fix: str) -> None:
    """Run one undo step; if it fails too, say where everything is and how to put it right."""
    try:
        step()
    except OSError as error:
        raise StrandedFolder(
            f"writing the bundle failed and could not be undone ({error.strerror}): {where}",
            fix,
        ) from None
