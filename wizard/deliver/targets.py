"""Write a bundle to a folder: plan it, build it whole beside the folder, then swap it in."""

import difflib
import errno
import os
import shutil
import stat
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePosixPath

from wizard.answers.secret_store import SECRETS_FILE
from wizard.bundle.model import Bundle
from wizard.deliver.bundle_lock import BundleLock, WaitNotice
from wizard.deliver.folder_swap import (
    StrandedFolder,
    fsync_tree,
    make_staging_dir,
    remove_tree,
    stale_staging_dirs,
    swap_in,
)
from wizard.deliver.manifest import (
    MANIFEST_FILE,
    MANIFEST_MODE,
    Manifest,
    ManifestEntry,
    is_bundle_path,
    manifest_text,
    read_manifest,
    sha256_hex,
)
from wizard.errors import WizardError
from wizard.units import format_size

NEW_SUFFIX = ".new"
FOLDER_MODE = 0o755
DIFF_LINES = 12
DIFF_WIDTH = 160
HIDDEN = "changed (contents hidden: holds secrets)"

Redactor = Callable[[str], str]


class Action(StrEnum):
    """What writing the bundle does to one path of the folder."""

    CREATE = "create"
    CHANGE = "change"
    KEEP = "keep"
    KEEP_EDITED = "keep-edited"
    CONFLICT = "conflict"
    REMOVE = "remove"
    KEEP_OBSOLETE = "keep-obsolete"


_TOLD = frozenset({Action.CONFLICT, Action.KEEP_EDITED, Action.KEEP_OBSOLETE, Action.REMOVE})


@dataclass(frozen=True)
class PlannedFile:
    """One path and what the write does to it, with a short redacted diff for a dry run."""

    path: str
    action: Action
    diff: tuple[str, ...] = ()

    @property
    def new_path(self) -> str:
        """Return where the new version goes when the file was edited by hand."""
        return self.path + NEW_SUFFIX


@dataclass(frozen=True)
class WritePlan:
    """What writing a bundle to a folder would do, and whether it would change anything."""

    out_dir: Path
    files: tuple[PlannedFile, ...]
    carried: tuple[str, ...]
    up_to_date: bool


@dataclass(frozen=True)
class WriteResult:
    """What writing a bundle did: each path's action, and where the previous bundle is kept."""

    out_dir: Path
    changed: bool
    files: tuple[PlannedFile, ...]
    carried: tuple[str, ...]
    previous: Path | None
    notices: tuple[str, ...]


@dataclass(frozen=True)
class _Entry:
    """One thing found in the folder, without following links."""

    kind: str
    mode: int
    uid: int
    gid: int
    size: int


@dataclass(frozen=True)
class _Survey:
    """The folder as it is, the bundle as it should be, and what to do to each path."""

    out_dir: Path
    root: _Entry | None
    found: dict[str, _Entry]
    contents: dict[str, bytes]
    bundle: Bundle
    actions: dict[str, Action]
    manifest: Manifest
    carried: tuple[str, ...]
    up_to_date: bool

    def new_bytes(self, path: str) -> bytes:
        """Return the bytes the bundle has for a path."""
        return self.bundle[path].text.encode("utf-8")

    def size(self) -> int:
        """Return about how many bytes the new folder takes, for the hint of a full disk."""
        carried = sum(self.found[path].size for path in self.carried)
        return carried + sum(len(self.new_bytes(path)) for path in self.bundle)


def plan_write(bundle: Bundle, out_dir: Path, *, redact: Redactor) -> WritePlan:
    """Return what writing the bundle to out_dir would do, reading the folder but writing nothing.

    Every diff line shown passes through redact, and files that hold secrets show no diff.
    """
    survey = _survey(bundle, _resolve_out_dir(out_dir))
    files = tuple(
        PlannedFile(path, action, _diff(survey, path, action, redact))
        for path, action in survey.actions.items()
    )
    return WritePlan(survey.out_dir, files, _added_by_hand(survey), survey.up_to_date)


@contextmanager
def writer_lock(
    out_dir: Path, *, wait: bool = False, on_wait: WaitNotice | None = None
) -> Iterator[Path]:
    """Hold out_dir's writer lock for the block, making its parents first; yield it resolved.

    Hold it from reading the folder's secrets to writing the bundle, so that a second run is
    refused (or, with wait, waits) and then builds on what the first one wrote.
    """
    target = _resolve_out_dir(out_dir)
    _make_parents(target)
    lock = BundleLock(target)
    try:
        lock.acquire(wait=wait, on_wait=on_wait)
    except OSError as error:
        raise _write_error(error, target, 0) from None
    try:
        yield target
    finally:
        lock.release()


def write_bundle(
    bundle: Bundle, out_dir: Path, *, previous_dir_name: str | None = None
) -> WriteResult:
    """Write the bundle to out_dir in one atomic swap, keeping the replaced folder beside it.

    The new folder is built whole in a hidden sibling, flushed to disk and renamed into place;
    the folder it replaces is kept as <name>.previous (or previous_dir_name). Files edited by
    hand are never overwritten (the new version goes beside them as <file>.new), files added by
    hand are carried over, and nothing is written at all when nothing would change. The write
    holds out_dir's writer lock, or refuses when another run holds it.
    """
    with writer_lock(out_dir) as target:
        return _write_locked(bundle, target, previous_dir_name)


def _write_locked(bundle: Bundle, target: Path, previous_dir_name: str | None) -> WriteResult:
    """Write the bundle to the resolved target, whose writer lock this thread holds."""
    previous = _previous_dir(target, previous_dir_name)
    survey = _survey(bundle, target)
    files = tuple(PlannedFile(path, action) for path, action in survey.actions.items())
    carried = _added_by_hand(survey)
    notices = [_notice(file, previous) for file in files if file.action in _TOLD]
    if survey.up_to_date:
        return WriteResult(target, False, files, carried, None, tuple(notices))
    notices += _clear_stale_staging(target)
    try:
        staged = make_staging_dir(target)
    except OSError as error:
        raise _write_error(error, target, survey.size()) from None
    try:
        _build(survey, staged)
        fsync_tree(staged)
        leftover = swap_in(staged, target, previous)
    except StrandedFolder:
        raise
    except OSError as error:
        remove_tree(staged)
        raise _write_error(error, target, survey.size()) from None
    except BaseException:
        remove_tree(staged)
        raise
    kept = previous if survey.root is not None else None
    if leftover is not None:
        problem = remove_tree(leftover)
        if problem:
            notices.append(problem)
    return WriteResult(target, True, files, carried, kept, tuple(notices))


def describe_plan(plan: WritePlan) -> str:
    """Return the dry run's report: each path's action, short diffs, and a summary line."""
    if plan.up_to_date:
        lines = [f"Nothing would change in {plan.out_dir}: it already holds this bundle."]
    else:
        lines = [f"Dry run, nothing written. Writing the bundle to {plan.out_dir} would:"]
    for file in plan.files:
        if plan.up_to_date and file.action not in _TOLD:
            continue
        lines.append(f"  {_LABELS[file.action]:<9} {file.path}{_plan_note(file)}")
        lines.extend(f"            {line}" for line in file.diff)
    lines.extend(
        f"  {'carry':<9} {path}: added by hand, carried over as it is" for path in plan.carried
    )
    if not plan.up_to_date:
        lines.append(f"In all: {_counts(plan.files, done=False)}.")
    return "\n".join(lines)


def describe_result(result: WriteResult) -> str:
    """Return what a write did: a summary, where the previous bundle is, and each notice."""
    if not result.changed:
        lines = [f"Nothing changed in {result.out_dir}: it already holds this bundle."]
    else:
        lines = [f"Wrote the bundle to {result.out_dir}: {_counts(result.files, done=True)}."]
        if result.previous is not None:
            lines.append(f"The bundle it replaced is kept in {result.previous}.")
    if result.carried:
        lines.append(f"Carried over as they are, added by hand: {', '.join(result.carried)}.")
    lines.extend(result.notices)
    return "\n".join(lines)


_LABELS = {
    Action.CREATE: "create",
    Action.CHANGE: "change",
    Action.KEEP: "keep",
    Action.KEEP_EDITED: "keep",
    Action.CONFLICT: "conflict",
    Action.REMOVE: "remove",
    Action.KEEP_OBSOLETE: "keep",
}

_COUNTED = (
    ((Action.CREATE,), "to create", "created"),
    ((Action.CHANGE,), "to change", "changed"),
    ((Action.KEEP, Action.KEEP_EDITED, Action.KEEP_OBSOLETE), "to keep", "kept"),
    (
        (Action.CONFLICT,),
        "edited by hand (the new version to go beside as .new)",
        "edited by hand (the new version put beside as .new)",
    ),
    ((Action.REMOVE,), "to remove", "removed"),
)


def _counts(files: tuple[PlannedFile, ...], *, done: bool) -> str:
    """Return how many files get each action, such as "2 created, 20 kept"."""
    tally = Counter(file.action for file in files)
    said = []
    for actions, planned, finished in _COUNTED:
        count = sum(tally[action] for action in actions)
        if count:
            said.append(f"{count} {finished if done else planned}")
    return ", ".join(said) or "no files"


def _plan_note(file: PlannedFile) -> str:
    """Return the words a dry run adds after a path whose action needs explaining."""
    notes = {
        Action.KEEP_EDITED: ": edited by hand, kept as it is (the wizard's version is unchanged)",
        Action.CONFLICT: ": edited by hand, kept as it is; the new version would go beside it "
        f"as {file.new_path}",
        Action.REMOVE: ": no longer part of the bundle",
        Action.KEEP_OBSOLETE: ": no longer part of the bundle, but edited by hand, so kept",
    }
    return notes.get(file.action, "")


def _notice(file: PlannedFile, previous: Path) -> str:
    """Return the sentence that tells the person what happened to a file they should know of."""
    notices = {
        Action.CONFLICT: f"{file.path} was edited by hand: it is kept as it is, and the new "
        f"version is beside it as {file.new_path}; compare the two and merge them by hand.",
        Action.KEEP_EDITED: f"{file.path} was edited by hand: it is kept as it is (the wizard's "
        "version of it has not changed).",
        Action.KEEP_OBSOLETE: f"{file.path} is no longer part of the bundle, but it was edited "
        "by hand, so it is kept.",
        Action.REMOVE: f"{file.path} is no longer part of the bundle, so it is removed (a copy "
        f"stays in {previous}).",
    }
    return notices[file.action]


def _resolve_out_dir(out_dir: Path) -> Path:
    """Return out_dir as an absolute path with links resolved, or raise if it is not a folder."""
    try:
        target = Path(os.path.abspath(out_dir)).resolve()
        is_file = target.exists() and not target.is_dir()
    except (OSError, RuntimeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "it is a loop of links"
        raise WizardError(
            f"cannot reach {out_dir}: {reason}",
            "check the folders leading to it (their permissions and links), or choose another",
        ) from None
    if target.parent == target:
        raise WizardError(
            f"cannot write the bundle to {target}",
            "choose a folder below the root, such as /opt/matrix-wizard",
        )
    if is_file:
        raise WizardError(
            f"cannot write the bundle to {target}: it is a file, not a folder",
            "choose another folder, or move that file away",
        )
    return target


def _previous_dir(out_dir: Path, name: str | None) -> Path:
    """Return where the replaced bundle is kept: a sibling folder of out_dir."""
    chosen = f"{out_dir.name}.previous" if name is None else name
    if chosen in ("", ".", "..", out_dir.name) or "/" in chosen or "\0" in chosen:
        raise WizardError(
            f"{chosen!r} cannot name the folder for the previous bundle",
            "give a plain folder name, other than the bundle folder's, such as "
            f"{out_dir.name}.previous",
        )
    previous = out_dir.parent / chosen
    if os.path.lexists(previous) and (previous.is_symlink() or not previous.is_dir()):
        raise WizardError(
            f"{previous} is not a folder, so the previous bundle cannot be kept there",
            "move it away, then write the bundle again",
        )
    return previous


def _check_bundle_paths(bundle: Bundle) -> None:
    """Raise when a bundle path leaves its folder, is the manifest, or is also a folder."""
    folders = {str(parent) for path in bundle for parent in PurePosixPath(path).parents}
    for path in bundle:
        if not is_bundle_path(path) or path == MANIFEST_FILE or path in folders:
            raise WizardError(
                f"the bundle cannot hold a file at {path!r}",
                "this is a bug in matrix-wizard; please report it",
            )


def _survey(bundle: Bundle, out_dir: Path) -> _Survey:
    """Read the folder and decide, for each path, what writing the bundle does to it."""
    _check_bundle_paths(bundle)
    try:
        root = _entry(out_dir.lstat()) if out_dir.is_dir() else None
        found = dict(_walk(out_dir)) if root is not None else {}
        has_manifest = found.get(MANIFEST_FILE, None) is not None
        recorded = read_manifest(out_dir) if has_manifest else None
        return _decide(bundle, out_dir, root, found, recorded or {})
    except OSError as error:
        raise WizardError(
            f"cannot read {error.filename or out_dir}: {error.strerror}",
            "check the folder's permissions, or run the wizard as the user who owns the bundle",
        ) from None


class _Reader:
    """Read the folder's regular files, once each, by relative path."""

    def __init__(self, out_dir: Path, found: dict[str, _Entry]) -> None:
        self.out_dir = out_dir
        self.found = found
        self.contents: dict[str, bytes] = {}

    def read(self, path: str) -> bytes | None:
        """Return a regular file's bytes, or None when the path is not a regular file."""
        entry = self.found.get(path)
        if entry is None or entry.kind != "file":
            return None
        if path not in self.contents:
            self.contents[path] = (self.out_dir / path).read_bytes()
        return self.contents[path]

    def digest(self, path: str) -> str | None:
        """Return a regular file's sha256, or None when the path is not a regular file."""
        data = self.read(path)
        return None if data is None else sha256_hex(data)


def _decide(
    bundle: Bundle, out_dir: Path, root: _Entry | None, found: dict[str, _Entry], recorded: Manifest
) -> _Survey:
    """Choose each path's action, the new manifest, and what is carried over."""
    _check_folders_free(bundle, found)
    reader = _Reader(out_dir, found)
    actions: dict[str, Action] = {}
    manifest: Manifest = {}
    for path, file in bundle.items():
        data = file.text.encode("utf-8")
        action = _bundle_action(path, data, file.mode, recorded, reader)
        actions[path] = action
        manifest[path] = ManifestEntry(sha256_hex(data), file.mode)
        if action is Action.CONFLICT:
            manifest[path + NEW_SUFFIX] = manifest[path]
    for path, entry in recorded.items():
        if path not in manifest and path in found:
            untouched = reader.digest(path) == entry.sha256
            actions[path] = Action.REMOVE if untouched else Action.KEEP_OBSOLETE
    replaced = {
        path
        for path, action in actions.items()
        if action in (Action.CREATE, Action.CHANGE, Action.KEEP, Action.REMOVE)
    }
    replaced |= {path for path in manifest if path not in bundle} | {MANIFEST_FILE}
    removed = {path for path, action in actions.items() if action is Action.REMOVE}
    carried = tuple(
        path
        for path in found
        if path not in replaced and not _emptied_by_removal(path, found, removed)
    )
    _check_carriable(carried, found, out_dir)
    manifest_bytes = manifest_text(manifest).encode("utf-8")
    up_to_date = all(
        action in (Action.KEEP, Action.KEEP_EDITED, Action.CONFLICT) for action in actions.values()
    ) and all(
        reader.read(path) == data and found[path].mode == mode
        for path, data, mode in _written_beside_bundle(bundle, actions, manifest_bytes)
    )
    return _Survey(
        out_dir=out_dir,
        root=root,
        found=found,
        contents=reader.contents,
        bundle=bundle,
        actions=dict(sorted(actions.items())),
        manifest=manifest,
        carried=carried,
        up_to_date=up_to_date,
    )


def _bundle_action(
    path: str, data: bytes, mode: int, recorded: Manifest, reader: _Reader
) -> Action:
    """Decide what happens to one of the bundle's files, given what the folder holds there."""
    if path not in reader.found:
        return Action.CREATE
    current = reader.read(path)
    if current is None:
        return Action.CONFLICT
    if current == data:
        return Action.KEEP if reader.found[path].mode == mode else Action.CHANGE
    written = recorded.get(path)
    if written is None:
        return Action.CONFLICT
    if sha256_hex(current) == written.sha256:
        return Action.CHANGE
    offered = path + NEW_SUFFIX
    still_offered = offered in recorded and reader.read(offered) is not None
    if written.sha256 == sha256_hex(data) and not still_offered:
        return Action.KEEP_EDITED
    return Action.CONFLICT


def _emptied_by_removal(path: str, found: dict[str, _Entry], removed: set[str]) -> bool:
    """Return whether path is a folder holding only files that are removed, so it goes too."""
    if found[path].kind != "dir":
        return False
    inside = [other for other in found if other.startswith(path + "/")]
    return bool(inside) and all(
        other in removed or _emptied_by_removal(other, found, removed) for other in inside
    )


def _written_beside_bundle(
    bundle: Bundle, actions: dict[str, Action], manifest_bytes: bytes
) -> Iterator[tuple[str, bytes, int]]:
    """Yield the files written beside the bundle's own: the manifest and each <file>.new."""
    yield MANIFEST_FILE, manifest_bytes, MANIFEST_MODE
    for path, action in actions.items():
        if action is Action.CONFLICT:
            file = bundle[path]
            yield path + NEW_SUFFIX, file.text.encode("utf-8"), file.mode


def _check_folders_free(bundle: Bundle, found: dict[str, _Entry]) -> None:
    """Raise when something other than a folder stands where the bundle needs a folder."""
    for path in bundle:
        for parent in PurePosixPath(path).parents:
            entry = found.get(str(parent))
            if entry is not None and entry.kind != "dir":
                raise WizardError(
                    f"{parent} in the bundle folder is not a folder, but the bundle puts "
                    f"{path} inside it",
                    f"move {parent} out of the bundle folder, then write the bundle again",
                )


def _check_carriable(carried: tuple[str, ...], found: dict[str, _Entry], out_dir: Path) -> None:
    """Raise when the folder holds something that cannot be carried over, such as a socket."""
    for path in carried:
        if found[path].kind == "other":
            raise WizardError(
                f"{out_dir / path} is not a file, folder or link, so it cannot be carried over",
                "move it out of the bundle folder, then write the bundle again",
            )


def _added_by_hand(survey: _Survey) -> tuple[str, ...]:
    """Return the carried-over files and links that the wizard never wrote."""
    known = set(survey.actions) | set(survey.manifest)
    return tuple(
        path for path in survey.carried if survey.found[path].kind != "dir" and path not in known
    )


def _walk(root: Path, prefix: str = "") -> Iterator[tuple[str, _Entry]]:
    """Yield every path under root, folders before what they hold, without following links."""
    with os.scandir(root) as scanned:
        entries = sorted(scanned, key=lambda entry: entry.name)
    for entry in entries:
        relative = prefix + entry.name
        found = _entry(entry.stat(follow_symlinks=False))
        yield relative, found
        if found.kind == "dir":
            yield from _walk(Path(entry.path), relative + "/")


def _entry(info: os.stat_result) -> _Entry:
    """Return what a stat result says about a path: its kind, mode, owner and size."""
    if stat.S_ISDIR(info.st_mode):
        kind = "dir"
    elif stat.S_ISREG(info.st_mode):
        kind = "file"
    elif stat.S_ISLNK(info.st_mode):
        kind = "link"
    else:
        kind = "other"
    return _Entry(kind, stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid, info.st_size)


def _diff(survey: _Survey, path: str, action: Action, redact: Redactor) -> tuple[str, ...]:
    """Return a few redacted lines showing how a file would change, or why they are hidden."""
    if action not in (Action.CHANGE, Action.CONFLICT):
        return ()
    new = survey.bundle[path]
    old = survey.found[path]
    old_mode = old.mode if old.kind == "file" else new.mode
    if _holds_secrets(path, new.mode) or _holds_secrets(path, old_mode):
        return (HIDDEN,)
    lines = [f"mode {old_mode:04o} -> {new.mode:04o}"] if old_mode != new.mode else []
    old_text = survey.contents.get(path, b"").decode("utf-8", errors="replace")
    changes = list(
        difflib.unified_diff(old_text.splitlines(), new.text.splitlines(), lineterm="", n=1)
    )[2:]
    for line in changes[:DIFF_LINES]:
        shown = redact(line)
        lines.append(shown if len(shown) <= DIFF_WIDTH else shown[: DIFF_WIDTH - 3] + "...")
    if len(changes) > DIFF_LINES:
        lines.append(f"... {len(changes) - DIFF_LINES} more diff lines")
    return tuple(lines)


def _holds_secrets(path: str, mode: int) -> bool:
    """Return whether a file is private (no access for group or others) or is the secrets file."""
    return path == SECRETS_FILE or mode & 0o077 == 0


def _make_parents(out_dir: Path) -> None:
    """Create out_dir's missing parent folders, like mkdir -p, each with mode 0755."""
    missing: list[Path] = []
    cursor = out_dir.parent
    while not os.path.lexists(cursor):
        missing.append(cursor)
        cursor = cursor.parent
    if not cursor.is_dir():
        raise WizardError(
            f"cannot write the bundle to {out_dir}: {cursor} is not a folder",
            "choose another folder, or move that file away",
        )
    for folder in reversed(missing):
        try:
            folder.mkdir()
            folder.chmod(FOLDER_MODE)
        except OSError as error:
            raise _write_error(error, out_dir, 0, where=folder) from None


def _clear_stale_staging(out_dir: Path) -> list[str]:
    """Delete the staging folders an interrupted earlier write left behind, and say so."""
    notices: list[str] = []
    for stale in stale_staging_dirs(out_dir):
        problem = remove_tree(stale)
        notices.append(problem or f"Deleted {stale}, left behind by an interrupted earlier write.")
    return notices


def _build(survey: _Survey, staged: Path) -> None:
    """Build the whole new folder in staged: carried-over paths, the bundle, then the manifest."""
    out_dir = survey.out_dir
    staged.chmod(FOLDER_MODE if survey.root is None else survey.root.mode)
    if survey.root is not None:
        _copy_owner(staged, survey.root)
    for path in survey.carried:
        _carry(out_dir / path, staged / path, survey.found[path])
    for path, action in survey.actions.items():
        if action in (Action.CREATE, Action.CHANGE):
            _make_folders(staged, path)
            _write_file(staged / path, survey.new_bytes(path), survey.bundle[path].mode)
            if path in survey.found:
                _copy_owner(staged / path, survey.found[path])
        elif action is Action.KEEP:
            _make_folders(staged, path)
            _carry(out_dir / path, staged / path, survey.found[path])
        elif action is Action.CONFLICT:
            new_path = staged / (path + NEW_SUFFIX)
            _write_file(new_path, survey.new_bytes(path), survey.bundle[path].mode)
    manifest_bytes = manifest_text(survey.manifest).encode("utf-8")
    _write_file(staged / MANIFEST_FILE, manifest_bytes, MANIFEST_MODE)


def _make_folders(staged: Path, path: str) -> None:
    """Create the folders a new file needs inside staged, each with mode 0755."""
    for parent in reversed(PurePosixPath(path).parents):
        folder = staged / str(parent)
        if not folder.is_dir():
            folder.mkdir()
            folder.chmod(FOLDER_MODE)


def _carry(source: Path, target: Path, entry: _Entry) -> None:
    """Copy one path from the old folder into the new one as it is: bytes, mode, times, owner."""
    if entry.kind == "dir":
        target.mkdir()
        target.chmod(entry.mode)
    elif entry.kind == "link":
        os.symlink(os.readlink(source), target)
        shutil.copystat(source, target, follow_symlinks=False)
    else:
        shutil.copy2(source, target, follow_symlinks=False)
        descriptor = os.open(target, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    _copy_owner(target, entry)


def _copy_owner(target: Path, entry: _Entry) -> None:
    """Give target the owner and group of the path it replaces, where this user may."""
    if (entry.uid, entry.gid) == (os.geteuid(), os.getegid()):
        return
    try:
        os.chown(target, entry.uid, entry.gid, follow_symlinks=False)
    except PermissionError:
        return


def _write_file(path: Path, data: bytes, mode: int) -> None:
    """Create a file with exactly this mode, whatever the umask, and flush it to disk."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    descriptor = os.open(path, flags, 0o600)
    try:
        os.fchmod(descriptor, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view) :]
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_error(
    error: OSError, out_dir: Path, needed: int, where: Path | None = None
) -> WizardError:
    """Turn an operating-system error during a write into a message and a way out."""
    place = where or out_dir.parent
    unchanged = f"nothing in {out_dir} was changed"
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        room = f"at least {format_size(needed)}, the new bundle's size," if needed else "space"
        return WizardError(
            f"cannot write the bundle to {out_dir}: no space left on the disk holding {place} "
            f"({unchanged})",
            f"free {room} there, or write the bundle to another folder",
        )
    if error.errno == errno.EROFS:
        return WizardError(
            f"cannot write the bundle to {out_dir}: {place} is on a read-only file system "
            f"({unchanged})",
            "remount it read-write, or write the bundle to another folder",
        )
    if error.errno in (errno.EACCES, errno.EPERM):
        return WizardError(
            f"cannot write the bundle to {out_dir}: permission denied in {place} ({unchanged})",
            "run the wizard as a user who may write there (for example with sudo), or write the "
            "bundle to another folder; if even root is refused, look for an immutable flag "
            "(lsattr)",
        )
    if error.errno in (errno.EXDEV, errno.EBUSY):
        return WizardError(
            f"cannot write the bundle to {out_dir}: it is a mount point, and the bundle is put "
            f"in place by renaming ({unchanged})",
            f"write the bundle to a folder inside {out_dir} instead",
        )
    return WizardError(
        f"cannot write the bundle to {out_dir}: {error.strerror} ({unchanged})",
        "put right the cause above, or write the bundle to another folder",
    )
