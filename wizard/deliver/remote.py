"""Put a bundle on a server over SSH, whole or not at all, then run its apply.sh there.

The files go over SFTP into a hidden staging folder beside the target (mode 0700, so nothing
in it is readable by others while it is written). Their sha256 is then taken on the server
and compared with the bytes sent; only then is the folder swapped in, the replaced bundle kept
as <target>.previous. A failure anywhere before the swap leaves the target as it was; a
staging folder left by a lost connection is deleted by the next upload.
"""

import posixpath
import shlex
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import paramiko

from wizard.deliver.folder_swap import staging_prefix
from wizard.deliver.manifest import MANIFEST_FILE, ManifestEntry, mismatched_paths, sha256_hex
from wizard.errors import UsageError, WizardError
from wizard.paths import asset
from wizard.probe.parsers import parse_df_line
from wizard.ssh.connection import OutputSink, SshConnection
from wizard.units import KIB, counted, format_size

APPLY_SCRIPT = "apply.sh"
REMOTE_SCRIPT = "remote-bundle.sh"
BLOCK = 4096
_CHUNK = 32768

UploadProgress = Callable[[str, int, int], None]
"""Receives (the file being sent, bytes sent in all, bytes to send in all)."""


@dataclass(frozen=True)
class LocalFile:
    """One file of the bundle to send: its path inside the bundle, mode, size and sha256."""

    path: str
    mode: int
    size: int
    sha256: str


@dataclass(frozen=True)
class LocalBundle:
    """A bundle folder on this machine, read once: its folders and files, with their modes."""

    folder: Path
    mode: int
    folders: tuple[tuple[str, int], ...]
    files: tuple[LocalFile, ...]

    @property
    def size(self) -> int:
        """Return the bytes of all files."""
        return sum(file.size for file in self.files)

    @property
    def room_needed(self) -> int:
        """Return about how much disk the bundle takes, counting whole blocks."""
        blocks = sum(-(-file.size // BLOCK) for file in self.files) + len(self.folders) + 1
        return blocks * BLOCK

    def sent(self) -> dict[str, ManifestEntry]:
        """Return what was read and sent, as manifest entries to check the server's copy by."""
        return {file.path: ManifestEntry(file.sha256, file.mode) for file in self.files}


def read_local_bundle(folder: Path) -> LocalBundle:
    """Return a bundle folder's contents, or refuse one that is not a complete bundle."""
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a bundle folder", "give the folder generate wrote")
    for needed, why in (
        (MANIFEST_FILE, "it is not a bundle the wizard wrote"),
        (APPLY_SCRIPT, "there is nothing to run on the server"),
    ):
        if not (folder / needed).is_file():
            raise UsageError(
                f"{folder} holds no {needed}: {why}",
                "write the bundle with matrix-wizard generate, then apply that folder",
            )
    folders: list[tuple[str, int]] = []
    files: list[LocalFile] = []
    try:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder).as_posix()
            info = path.lstat()
            if stat.S_ISDIR(info.st_mode):
                folders.append((relative, stat.S_IMODE(info.st_mode)))
            elif stat.S_ISREG(info.st_mode):
                data = path.read_bytes()
                files.append(
                    LocalFile(relative, stat.S_IMODE(info.st_mode), len(data), sha256_hex(data))
                )
            else:
                raise UsageError(
                    f"{path} is not a plain file or folder; only those are uploaded",
                    "replace it by a copy of what it points to, or move it out of the bundle",
                )
        mode = stat.S_IMODE(folder.stat().st_mode)
    except OSError as error:
        raise WizardError(
            f"cannot read {error.filename}: {(error.strerror or '').lower()}",
            "run the wizard as the user who wrote the bundle",
        ) from None
    return LocalBundle(folder, mode, tuple(folders), tuple(files))


@dataclass(frozen=True)
class RemoteState:
    """What the server said about the target: where it is, who we are there, the room left."""

    target: str
    is_root: bool
    sudo: bool
    exists: bool
    previous_exists: bool
    free: int | None
    free_inodes: int | None
    stale: tuple[str, ...] = ()
    cleaned: tuple[str, ...] = ()
    uncleaned: tuple[str, ...] = ()
    staging: str | None = None

    @property
    def parent(self) -> str:
        """Return the folder the target is in."""
        return posixpath.dirname(self.target) or "/"

    @property
    def previous(self) -> str:
        """Return where the replaced bundle is kept."""
        return self.target + ".previous"

    @property
    def run_prefix(self) -> str | None:
        """Return what apply.sh runs under (empty as root, sudo -n), or None when it cannot."""
        if self.is_root:
            return ""
        return "sudo -n " if self.sudo else None


@dataclass(frozen=True)
class UploadResult:
    """Where the bundle now is on the server, and what happened beside it."""

    state: RemoteState
    files: int
    size: int
    notices: tuple[str, ...] = field(default=())


def _remote_name(remote_dir: str) -> str:
    """Return the target folder's own name, refusing paths that name no folder of their own."""
    name = posixpath.basename(remote_dir.rstrip("/"))
    if not remote_dir.strip() or name in ("", ".", "..", "~"):
        raise UsageError(
            f"--remote-dir {remote_dir!r} names no folder of its own",
            "give a folder for the bundle, such as ~/matrix-bundle or /opt/matrix-bundle",
        )
    return name


class RemoteSteps:
    """Runs the steps of remote-bundle.sh, one exec channel each, and reads their answers."""

    def __init__(self, connection: SshConnection, remote_dir: str) -> None:
        self.connection = connection
        self.remote_dir = remote_dir
        self.prefix = staging_prefix(Path(_remote_name(remote_dir)))
        self.script = asset(REMOTE_SCRIPT).read_text(encoding="utf-8")

    @property
    def where(self) -> str:
        """Return the target as the person named it, with the server."""
        return f"{self.connection.target}:{self.remote_dir}"

    def command(self, step: str, *args: str) -> str:
        """Return the command that runs one step of the script on the server."""
        return " ".join(
            ["sh", "-c", shlex.quote(self.script), REMOTE_SCRIPT, step, *map(shlex.quote, args)]
        )

    def run(self, step: str, *args: str) -> dict[str, list[str]]:
        """Run one step; return its answers by key (raw lines under ""), or raise its error."""
        result = self.connection.run(self.command(step, *args), what=f"the {step} step")
        answers: dict[str, list[str]] = {}
        for line in result.stdout.decode("utf-8", errors="replace").splitlines():
            add_answer(answers, line)
        if "error" in answers:
            failed, _, reason = answers["error"][0].partition("\t")
            raise self.failure(failed, reason, answers)
        if result.status != 0:
            said = result.stderr.decode("utf-8", errors="replace").strip()
            raise WizardError(
                f"the {step} step failed on {self.connection.target} (exit status "
                f"{result.status}){': ' + said if said else ''}",
                "check that the server has a POSIX sh with mktemp, df and sha256sum",
            )
        return answers

    def failure(self, failed: str, reason: str, answers: dict[str, list[str]]) -> WizardError:
        """Return the error for a failed step, worded for a person; nothing was swapped in."""
        unchanged = "nothing was changed there"
        lowered = reason.lower()
        if failed == "target":
            return UsageError(
                f"cannot upload to {self.where}: {reason}", "give another --remote-dir"
            )
        if "permission denied" in lowered or "operation not permitted" in lowered:
            place = answers.get("target", [self.remote_dir])[0]
            return WizardError(
                f"cannot upload to {self.where}: permission denied beside {place} ({unchanged})",
                f"choose a --remote-dir that {self.connection.target.user} may write to (such as "
                "~/matrix-bundle), or log in as a user who may write there",
            )
        if "no space" in lowered or "quota" in lowered:
            return WizardError(
                f"cannot upload to {self.where}: the server's disk is full ({unchanged})",
                "free some space there, or choose another --remote-dir",
            )
        return WizardError(
            f"cannot upload to {self.where}: {failed} failed: {reason} ({unchanged})",
            "put right the cause above, then run the same command again",
        )


def add_answer(answers: dict[str, list[str]], line: str) -> None:
    """Add one line a step printed to its answers: by its key, or under "" when it has none."""
    key, tab, value = line.partition("\t")
    if tab:
        answers.setdefault(key, []).append(value)
    else:
        answers.setdefault("", []).append(line)


def _free(answers: dict[str, list[str]], key: str) -> int | None:
    """Return the free bytes (df -Pk) or free inodes (df -Pi) from a step's answers.

    df -Pi has the same columns, counted in inodes rather than KiB, hence the division.
    """
    line = answers.get(key, [""])[0]
    try:
        _, free = parse_df_line(line)
    except ValueError:
        return None
    return free if key == "df" else free // KIB


def _state(answers: dict[str, list[str]]) -> RemoteState:
    """Return the server's answers to survey or prepare as a RemoteState."""
    return RemoteState(
        target=answers["target"][0],
        is_root=answers.get("euid") == ["0"],
        sudo=answers.get("sudo") == ["0"],
        exists="exists" in answers,
        previous_exists="previous" in answers,
        free=_free(answers, "df"),
        free_inodes=_free(answers, "inodes"),
        stale=tuple(answers.get("stale", [])),
        cleaned=tuple(answers.get("cleaned", [])),
        uncleaned=tuple(answers.get("uncleaned", [])),
        staging=answers.get("staging", [None])[0],
    )


def _staging(state: RemoteState) -> str:
    """Return the staging folder the prepare step made."""
    if state.staging is None:
        raise WizardError(
            f"the server made no staging folder beside {state.target}",
            "check that the server has mktemp, then run the same command again",
        )
    return state.staging


def survey_remote(connection: SshConnection, remote_dir: str) -> RemoteState:
    """Return where a bundle would go on the server and what is there, changing nothing."""
    steps = RemoteSteps(connection, remote_dir)
    return _state(steps.run("survey", remote_dir, steps.prefix))


def _upload_files(
    connection: SshConnection,
    bundle: LocalBundle,
    staging: str,
    progress: UploadProgress | None,
) -> None:
    """Send every folder and file into the staging folder over one SFTP session."""
    sftp = connection.sftp()
    sent = 0
    total = bundle.size
    try:
        for relative, _ in bundle.folders:
            sftp.mkdir(f"{staging}/{relative}", 0o700)
        for file in bundle.files:
            with (
                (bundle.folder / file.path).open("rb") as source,
                sftp.open(f"{staging}/{file.path}", "wb") as remote,
            ):
                remote.set_pipelined(True)
                while chunk := source.read(_CHUNK):
                    remote.write(chunk)
                    sent += len(chunk)
                    if progress is not None:
                        progress(file.path, sent, total)
    finally:
        sftp.close()


def _upload_error(
    steps: RemoteSteps, state: RemoteState, bundle: LocalBundle, error: Exception
) -> WizardError:
    """Delete the staging folder, and return the error for an upload that failed."""
    staging = _staging(state)
    dropped = isinstance(error, (EOFError, paramiko.SSHException, ConnectionError))
    if dropped or not steps.connection.transport.is_active():
        return steps.connection.lost(
            f"during the upload; {state.target} still holds what it held before, and the "
            f"partial copy in {staging} is deleted by the next upload"
        )
    after = steps.run("cleanup", staging, state.target)
    room = _state({"target": [state.target], **after})
    unchanged = f"nothing was changed in {state.target}"
    if isinstance(error, PermissionError):
        return WizardError(
            f"cannot upload to {steps.where}: permission denied ({unchanged})",
            f"choose a --remote-dir that {steps.connection.target.user} may write to",
        )
    full = (room.free is not None and room.free < BLOCK) or room.free_inodes == 0
    if full or (room.free is not None and room.free < bundle.room_needed):
        return WizardError(
            f"cannot upload to {steps.where}: the server's disk is full ({unchanged}; "
            f"{format_size(room.free or 0)} and {room.free_inodes} inodes free)",
            f"free at least {format_size(bundle.room_needed)} there, or choose another "
            "--remote-dir",
        )
    return WizardError(
        f"cannot upload to {steps.where}: the server said {error or type(error).__name__} "
        f"({unchanged})",
        "put right the cause on the server, then run the same command again",
    )


def _verify(steps: RemoteSteps, bundle: LocalBundle, staging: str) -> None:
    """Set each mode on the server and check every file's sha256 against what was sent."""
    pairs: list[str] = []
    for relative, mode in bundle.folders:
        pairs.extend([f"d{mode:04o}", relative])
    for file in bundle.files:
        pairs.extend([f"f{file.mode:04o}", file.path])
    answers = steps.run("verify", staging, *pairs)
    digests: dict[str, str | None] = {}
    for line in answers.get("", []):
        digest, _, path = line.partition("  ")
        digests[path.removeprefix("./")] = digest
    wrong = mismatched_paths(bundle.sent(), digests)
    if wrong:
        steps.run("cleanup", staging, steps.remote_dir)
        raise WizardError(
            f"the copy on {steps.connection.target} differs from what was sent: "
            f"{', '.join(wrong)} (nothing was changed in the target)",
            "run the same command again; if it happens again, check the server's disk",
        )


def upload_bundle(
    connection: SshConnection,
    bundle: LocalBundle,
    remote_dir: str,
    *,
    progress: UploadProgress | None = None,
) -> UploadResult:
    """Upload a bundle beside remote_dir, check it there, and swap it in; keep the old one."""
    steps = RemoteSteps(connection, remote_dir)
    state = _state(steps.run("prepare", remote_dir, steps.prefix))
    staging = _staging(state)
    notices = [
        f"Deleted {path}, left behind by an interrupted earlier upload." for path in state.cleaned
    ]
    notices += [
        f"Could not delete {path}, left by an interrupted upload: delete it by hand."
        for path in state.uncleaned
    ]
    if state.free is not None and state.free < bundle.room_needed:
        steps.run("cleanup", staging, state.target)
        raise WizardError(
            f"cannot upload to {steps.where}: the disk holding {state.parent} has "
            f"{format_size(state.free)} free, and the bundle needs about "
            f"{format_size(bundle.room_needed)} (nothing was changed there)",
            "free some space there, or choose another --remote-dir",
        )
    try:
        _upload_files(connection, bundle, staging, progress)
    except (OSError, EOFError, paramiko.SSHException) as error:
        raise _upload_error(steps, state, bundle, error) from None
    _verify(steps, bundle, staging)
    swapped = steps.run("swap", staging, state.target, f"{bundle.mode:04o}", steps.prefix)
    if "previous" in swapped:
        notices.append(f"The bundle it replaced is kept in {state.previous}.")
    return UploadResult(state, len(bundle.files), bundle.size, tuple(notices))


def apply_command(state: RemoteState, *, dry_run: bool = False) -> str:
    """Return the command that runs apply.sh in the uploaded bundle, or raise when it cannot."""
    prefix = state.run_prefix
    if prefix is None:
        raise WizardError(
            f"the bundle is in {state.target}, but apply.sh was not run: this user is not root "
            "and has no passwordless sudo",
            f"log in as root, or run it there yourself: cd {shlex.quote(state.target)} && "
            f"sudo ./{APPLY_SCRIPT}",
        )
    flag = " --dry-run" if dry_run else ""
    return f"cd {shlex.quote(state.target)} && {prefix}./{APPLY_SCRIPT}{flag}"


def run_apply(connection: SshConnection, state: RemoteState, sink: OutputSink) -> int:
    """Run apply.sh in the uploaded bundle, streaming its output; return its exit status."""
    status = connection.stream(apply_command(state), sink, what=APPLY_SCRIPT)
    if status < 0:
        raise WizardError(
            f"{APPLY_SCRIPT} on {connection.target} ended without an exit status (killed?)",
            "look at its output above, and on the server, before running it again",
        )
    return status


def describe_dry_run(connection: SshConnection, bundle: LocalBundle, state: RemoteState) -> str:
    """Return what applying the bundle would do on the server; nothing is changed by it."""
    where = f"{connection.target}:{state.target}"
    lines = [
        f"Dry run: nothing was uploaded or changed on {connection.target}.",
        f"Applying {bundle.folder} to {where} would:",
    ]
    lines.extend(f"  delete {path}, left by an interrupted upload" for path in state.stale)
    lines.append(
        f"  upload {counted(len(bundle.files), 'file')} ({format_size(bundle.size)}) over SFTP "
        f"into a new hidden folder {state.parent}/{staging_prefix(Path(state.target))}XXXXXX "
        "(mode 0700):"
    )
    lines.extend(f"    {mode:04o}  {path}/" for path, mode in bundle.folders)
    lines.extend(
        f"    {file.mode:04o}  {file.path}  ({format_size(file.size)})" for file in bundle.files
    )
    lines.append("  check every file's sha256 there (sha256sum) against the bytes sent")
    if state.exists:
        if state.previous_exists:
            lines.append(f"  delete the older previous bundle {state.previous}")
        lines.append(f"  keep the bundle now in {state.target} as {state.previous}")
    lines.append(f"  rename the new folder to {state.target}")
    if state.free is not None and state.free < bundle.room_needed:
        lines.append(
            f"  but the disk there has only {format_size(state.free)} free: the upload would be "
            "refused"
        )
    try:
        lines.append(f"  run: {apply_command(state)}")
    except WizardError as error:
        lines.append(f"  but not run apply.sh: {error}")
    return "\n".join(lines)
