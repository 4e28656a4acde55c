"""Writing a bundle against real file-system failures, with every step of the swap observed.

A full disk, a read-only mount, an unprivileged user, immutable folders and a hostile umask:
nothing here is simulated with a raised exception: each failure comes from the kernel. As root,
chmod does not stop a write, so "permission denied" comes from a child process that drops to
the user nobody, and a failed rename comes from the immutable flag (chattr +i), which stops
even root from renaming a folder.
"""

import errno
import json
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import require_program
from wizard.bundle.model import EXECUTABLE, PRIVATE, PUBLIC, Bundle, File
from wizard.deliver import folder_swap
from wizard.deliver.manifest import MANIFEST_FILE, verify_bundle
from wizard.deliver.targets import write_bundle
from wizard.errors import WizardError

pytestmark = pytest.mark.integration

NOBODY = 65534
Snapshot = dict[str, tuple[str, int, bytes]]


def unavailable(reason: str) -> None:
    """Skip the test with its reason, or fail it under CI, where everything must run."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def snapshot(root: Path) -> Snapshot | None:
    """Return every path under root with its kind, mode and bytes (or link target)."""
    if not root.exists():
        return None
    found: Snapshot = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        mode = stat.S_IMODE(info.st_mode)
        relative = path.relative_to(root).as_posix()
        if stat.S_ISLNK(info.st_mode):
            found[relative] = ("link", mode, os.readlink(path).encode())
        elif stat.S_ISDIR(info.st_mode):
            found[relative] = ("dir", mode, b"")
        else:
            found[relative] = ("file", mode, path.read_bytes())
    return found


def stamps(root: Path) -> dict[str, tuple[int, int, int, int]]:
    """Return each path's inode, mode, size and mtime, the folder itself included."""
    paths = [root, *sorted(root.rglob("*"))]
    return {
        path.relative_to(root).as_posix(): (
            path.lstat().st_ino,
            path.lstat().st_mode,
            path.lstat().st_size,
            path.lstat().st_mtime_ns,
        )
        for path in paths
    }


def bundle(version: str, big: int = 0) -> Bundle:
    files = {
        "README.md": File(f"# Bundle {version}\n"),
        "secrets.yaml": File(f"password: secret-{version}\n", PRIVATE),
        "apply.sh": File(f"#!/bin/sh\necho {version}\n", EXECUTABLE),
        "synapse/homeserver.yaml": File(f"server_name: example.com # {version}\n", PRIVATE),
        "nginx/matrix.conf": File("server {}\n"),
    }
    if big:
        files["media/big.txt"] = File("x" * big)
    return files


def public_bundle(version: str) -> Bundle:
    return {path: File(file.text, PUBLIC) for path, file in bundle(version).items()}


def mount_tmpfs(where: Path) -> None:
    require_program("mount")
    options = "size=256k,mode=0755"
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        unavailable(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """Yield a 256 KiB tmpfs: a real disk that fills up, and that can be made read-only."""
    where = tmp_path / "small-disk"
    where.mkdir()
    mount_tmpfs(where)
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


def remount_read_only(where: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)


@contextmanager
def immutable(path: Path) -> Iterator[None]:
    """Set the immutable flag on a path, so that even root cannot rename it, then clear it."""
    require_program("chattr")
    result = subprocess.run(
        ["chattr", "+i", str(path)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        unavailable(f"chattr +i does not work here: {result.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def leftovers(parent: Path) -> list[str]:
    return sorted(path.name for path in parent.iterdir() if ".tmp-" in path.name)


# A full disk --------------------------------------------------------------------------------


def test_a_full_disk_leaves_both_bundles_as_they_were(small_disk: Path) -> None:
    out = small_disk / "bundle"
    write_bundle(bundle("one"), out)
    write_bundle(bundle("two"), out)
    before = snapshot(small_disk)
    with pytest.raises(WizardError) as caught:
        write_bundle(bundle("three", big=400 * 1024), out)
    assert "no space left" in caught.value.message
    assert "nothing in" in caught.value.message
    assert "free at least 400" in caught.value.hint
    assert snapshot(small_disk) == before
    assert leftovers(small_disk) == []
    assert verify_bundle(out) == []


def test_a_full_disk_on_the_first_write_leaves_nothing(small_disk: Path) -> None:
    with pytest.raises(WizardError) as caught:
        write_bundle(bundle("one", big=400 * 1024), small_disk / "bundle")
    assert "no space left" in caught.value.message
    assert list(small_disk.iterdir()) == []


# A read-only file system and a user without permission ---------------------------------------


def test_a_read_only_file_system_stops_the_write_cleanly(small_disk: Path) -> None:
    out = small_disk / "bundle"
    write_bundle(bundle("one"), out)
    before = snapshot(small_disk)
    remount_read_only(small_disk)
    with pytest.raises(WizardError) as caught:
        write_bundle(bundle("two"), out)
    assert "read-only file system" in caught.value.message
    assert "remount it read-write" in caught.value.hint
    assert snapshot(small_disk) == before


def test_missing_parents_on_a_read_only_file_system_are_refused(small_disk: Path) -> None:
    remount_read_only(small_disk)
    with pytest.raises(WizardError) as caught:
        write_bundle(bundle("one"), small_disk / "a" / "b" / "bundle")
    assert "read-only file system" in caught.value.message
    assert list(small_disk.iterdir()) == []


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """Yield a root-owned folder that every user may enter but only root may write to."""
    if os.geteuid() != 0:
        unavailable("dropping to the user nobody needs root")
    root = Path(tempfile.mkdtemp(prefix="targets-shared-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root)


def write_as_nobody(files: Bundle, out_dir: Path) -> dict[str, str]:
    """Run write_bundle in a child process that has dropped root for the user nobody."""
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:
        code = 0
        try:
            os.close(reader)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            try:
                write_bundle(files, out_dir)
                told = {"error": "", "hint": ""}
            except WizardError as error:
                told = {"error": error.message, "hint": error.hint}
            except BaseException as error:
                told = {"error": f"unexpected {error!r}", "hint": ""}
            os.write(writer, json.dumps(told).encode())
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        reported = pipe.read()
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    outcome: dict[str, str] = json.loads(reported)
    return outcome


def test_permission_denied_leaves_the_old_bundle(shared_dir: Path) -> None:
    out = shared_dir / "bundle"
    write_bundle(public_bundle("one"), out)
    before = snapshot(shared_dir)
    outcome = write_as_nobody(public_bundle("two"), out)
    assert "permission denied" in outcome["error"], outcome
    assert "sudo" in outcome["hint"]
    assert snapshot(shared_dir) == before


def test_permission_denied_creating_parents_leaves_nothing(shared_dir: Path) -> None:
    outcome = write_as_nobody(public_bundle("one"), shared_dir / "opt" / "bundle")
    assert "permission denied" in outcome["error"], outcome
    assert list(shared_dir.iterdir()) == []


def test_a_folder_the_user_cannot_enter_is_reported(shared_dir: Path) -> None:
    closed = shared_dir / "closed"
    closed.mkdir(mode=0o700)
    outcome = write_as_nobody(public_bundle("one"), closed / "bundle")
    assert outcome["error"] == f"cannot reach {closed / 'bundle'}: Permission denied", outcome
    assert list(closed.iterdir()) == []


def test_a_link_loop_is_reported(tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    with pytest.raises(WizardError) as caught:
        write_bundle(bundle("one"), tmp_path / "loop")
    assert "loop of links" in caught.value.message


# Paths that are not folders -----------------------------------------------------------------


def test_an_output_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "bundle"
    target.write_text("someone's file\n")
    with pytest.raises(WizardError) as caught:
        write_bundle(bundle("one"), target)
    assert "it is a file, not a folder" in caught.value.message
    assert target.read_text() == "someone's file\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bundle"]


def test_a_parent_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "opt").write_text("a file\n")
    with pytest.raises(WizardError) as caught:
        write_bundle(bundle("one"), tmp_path / "opt" / "sub" / "bundle")
    assert "is not a folder" in caught.value.message
    assert (tmp_path / "opt").read_text() == "a file\n"


def test_missing_parents_are_created_like_mkdir_p(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "bundle"
    write_bundle(bundle("one"), out)
    assert verify_bundle(out) == []
    for folder in (tmp_path / "a", tmp_path / "a" / "b", out):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o755


# Modes, owners and times --------------------------------------------------------------------


def modes(root: Path) -> dict[str, int]:
    return {
        path.relative_to(root).as_posix(): stat.S_IMODE(path.lstat().st_mode)
        for path in root.rglob("*")
    }


def test_modes_are_exact_under_a_hostile_umask(tmp_path: Path) -> None:
    out = tmp_path / "parent" / "bundle"
    expected = {
        "README.md": 0o644,
        "secrets.yaml": 0o600,
        "apply.sh": 0o755,
        "synapse": 0o755,
        "synapse/homeserver.yaml": 0o600,
        "nginx": 0o755,
        "nginx/matrix.conf": 0o644,
        MANIFEST_FILE: 0o644,
    }
    old_umask = os.umask(0o777)
    try:
        write_bundle(bundle("one"), out)
        first = modes(out)
        write_bundle({**bundle("two"), "coturn/turnserver.conf": File("x\n")}, out)
        second = modes(out)
    finally:
        os.umask(old_umask)
    assert first == expected
    assert second == {**expected, "coturn": 0o755, "coturn/turnserver.conf": 0o644}
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "parent").stat().st_mode) == 0o755
    assert modes(tmp_path / "parent" / "bundle.previous") == expected


def test_rewriting_the_same_bundle_touches_nothing(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    write_bundle(bundle("one"), out)
    (out / "README.md").write_text("edited by hand\n")
    write_bundle(bundle("two"), out)
    (out / "notes.txt").write_text("added by hand\n")
    write_bundle(bundle("two"), out)
    before_files, before_stamps = snapshot(tmp_path), stamps(out)
    result = write_bundle(bundle("two"), out)
    assert not result.changed
    assert snapshot(tmp_path) == before_files
    # The parent's own times change: the writer lock's file comes and goes in it.
    assert stamps(out) == before_stamps


def test_files_the_bundle_does_not_change_keep_their_times(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    write_bundle(bundle("one"), out)
    os.utime(out / "nginx/matrix.conf", ns=(2_000_000_000, 2_000_000_000))
    write_bundle(bundle("two"), out)
    assert (out / "nginx/matrix.conf").stat().st_mtime_ns == 2_000_000_000
    assert (out / "README.md").read_text() == "# Bundle two\n"


def test_owners_are_kept_for_changed_and_carried_files(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        unavailable("giving files to another owner needs root")
    out = tmp_path / "bundle"
    write_bundle(bundle("one"), out)
    os.chown(out, 991, 991)
    os.chown(out / "synapse/homeserver.yaml", 991, 991)
    (out / "notes.txt").write_text("mine\n")
    os.chown(out / "notes.txt", 1234, 1234)
    write_bundle(bundle("two"), out)
    assert (out / "synapse/homeserver.yaml").read_text().endswith("# two\n")
    assert (out.stat().st_uid, out.stat().st_gid) == (991, 991)
    owner = (out / "synapse/homeserver.yaml").stat()
    assert (owner.st_uid, owner.st_gid) == (991, 991)
    assert (out / "notes.txt").stat().st_uid == 1234
    assert stat.S_IMODE(owner.st_mode) == PRIVATE


# The swap, observed at every step --------------------------------------------------------------


Observer = Callable[[], None]


def observe_swap(monkeypatch: pytest.MonkeyPatch, look: Observer, *, exchange: bool) -> None:
    """Call look after every real rename and exchange of the swap, even one that fails."""
    real_exchange = folder_swap.exchange_paths
    real_rename = os.rename

    def exchanging(first: Path, second: Path) -> bool:
        try:
            return real_exchange(first, second) if exchange else False
        finally:
            look()

    def renaming(source: str | Path, target: str | Path) -> None:
        try:
            real_rename(source, target)
        finally:
            look()

    monkeypatch.setattr(folder_swap, "exchange_paths", exchanging)
    monkeypatch.setattr(os, "rename", renaming)


def needs_exchange(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    try:
        supported = folder_swap.exchange_paths(tmp_path / "x", tmp_path / "y")
    finally:
        (tmp_path / "x").rmdir()
        (tmp_path / "y").rmdir()
    if not supported:
        unavailable("renameat2(RENAME_EXCHANGE) is not available on this system")


def test_every_step_of_the_swap_shows_a_whole_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    needs_exchange(tmp_path)
    out = tmp_path / "bundle"
    write_bundle(bundle("one"), out)
    write_bundle(bundle("two"), out)
    old, older = snapshot(out), snapshot(tmp_path / "bundle.previous")
    seen: list[Snapshot | None] = []
    observe_swap(monkeypatch, lambda: seen.append(snapshot(out)), exchange=True)
    write_bundle(bundle("three"), out)
    monkeypatch.undo()
    new = snapshot(out)
    assert seen, "the swap made no observable step"
    assert all(state in (old, new) for state in seen)
    assert seen[-1] == new
    assert snapshot(tmp_path / "bundle.previous") == old
    assert older != old
    assert leftovers(tmp_path) == []


def test_the_swap_by_renames_never_shows_half_a_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "bundle"
    write_bundle(bundle("one"), out)
    write_bundle(bundle("two"), out)
    old = snapshot(out)
    seen: list[Snapshot | None] = []
    observe_swap(monkeypatch, lambda: seen.append(snapshot(out)), exchange=False)
    write_bundle(bundle("three"), out)
    monkeypatch.undo()
    new = snapshot(out)
    # Without the exchange the folder is missing between the two renames, never half written.
    assert None in seen
    assert all(state in (old, new, None) for state in seen)
    assert seen[-1] == new
    assert snapshot(tmp_path / "bundle.previous") == old
    assert leftovers(tmp_path) == []


def test_a_bundle_folder_that_cannot_be_renamed_is_left_as_it_was(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    write_bundle(bundle("one"), out)
    write_bundle(bundle("two"), out)
    before = snapshot(tmp_path)
    with immutable(out), pytest.raises(WizardError) as caught:
        write_bundle(bundle("three"), out)
    assert "permission denied" in caught.value.message
    assert "immutable" in caught.value.hint
    assert snapshot(tmp_path) == before
    assert leftovers(tmp_path) == []


def test_a_failure_after_the_new_bundle_is_in_place_is_undone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    needs_exchange(tmp_path)
    out = tmp_path / "bundle"
    write_bundle(bundle("one"), out)
    write_bundle(bundle("two"), out)
    before = snapshot(tmp_path)
    old = snapshot(out)
    seen: list[Snapshot | None] = []
    with immutable(tmp_path / "bundle.previous"):
        observe_swap(monkeypatch, lambda: seen.append(snapshot(out)), exchange=True)
        with pytest.raises(WizardError) as caught:
            write_bundle(bundle("three"), out)
        monkeypatch.undo()
    assert "permission denied" in caught.value.message
    new_states = [state for state in seen if state != old]
    assert new_states, "the new bundle was never in place, so nothing was undone"
    assert all(
        state is not None and state["README.md"][2] == b"# Bundle three\n" for state in new_states
    )
    assert seen[-1] == old
    assert snapshot(tmp_path) == before
    assert leftovers(tmp_path) == []


def test_the_swap_by_renames_puts_everything_back_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "bundle"
    write_bundle(bundle("one"), out)
    write_bundle(bundle("two"), out)
    before = snapshot(tmp_path)
    monkeypatch.setattr(folder_swap, "exchange_paths", lambda first, second: False)
    with immutable(out), pytest.raises(WizardError) as caught:
        write_bundle(bundle("three"), out)
    assert "permission denied" in caught.value.message
    assert snapshot(tmp_path) == before
    assert leftovers(tmp_path) == []


def test_the_exchange_reports_real_errors(tmp_path: Path) -> None:
    needs_exchange(tmp_path)
    (tmp_path / "x").mkdir()
    with pytest.raises(OSError) as caught:
        folder_swap.exchange_paths(tmp_path / "x", tmp_path / "missing")
    assert caught.value.errno == errno.ENOENT
