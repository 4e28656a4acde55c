"""One writer at a time per bundle folder, shown with real processes and no waiting on the clock.

A holder process takes the lock and says so on a pipe before the second writer starts, so the
second one always finds the lock held; a holder ends only when the test closes its input or
kills it.
"""

import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, next_line, run_cli
from wizard.answers.secret_store import SECRETS_FILE
from wizard.bundle.model import PRIVATE, PUBLIC, Bundle, File
from wizard.deliver.bundle_lock import BundleLock, describe_holder, holder_record, lock_path
from wizard.deliver.folder_swap import stale_staging_dirs
from wizard.deliver.manifest import verify_bundle
from wizard.deliver.targets import write_bundle, writer_lock
from wizard.errors import WizardError

RACE_ROUNDS = 15
TIMEOUT = 120
SINCE = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}"
HOLDER = """
import sys
from pathlib import Path
from wizard.cli import main
from wizard.deliver.targets import writer_lock

folder = Path(sys.argv[1])
then = sys.argv[2:]
sys.argv = ["matrix-wizard", "generate", "--out", str(folder)]
with writer_lock(folder):
    print("held", flush=True)
    sys.stdin.read()
    if then:
        main(then)
"""

Tree = dict[str, tuple[bytes, int]]


def tree(folder: Path) -> Tree:
    """Return each file under a folder with its bytes and mode."""
    return {
        path.relative_to(folder).as_posix(): (path.read_bytes(), stat.S_IMODE(path.stat().st_mode))
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def answers_file(path: Path, *sets: str) -> Path:
    """Write a complete answers file for a Synapse server, with some answers set.

    Its backups go to another disk, so generate warns of nothing and stderr holds only the lock.
    """
    args = ["answers", "--homeserver", "synapse", "--server-name", "example.com"]
    args += ["--set", "backups.path=/mnt/backups/matrix-wizard"]
    for setting in sets:
        args += ["--set", setting]
    made = run_cli(*args)
    assert made.returncode == 0, made.stderr
    path.write_text(made.stdout, encoding="utf-8")
    return path


@contextmanager
def ended_at_exit(process: subprocess.Popen[str]) -> Iterator[subprocess.Popen[str]]:
    """Yield a started process, killing it at the end if a failed test left it running."""
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=TIMEOUT)


def generate(answers: Path, out: Path, *flags: str) -> subprocess.Popen[str]:
    """Start `matrix-wizard generate` in its own process."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wizard",
            "generate",
            "--answers",
            str(answers),
            "--out",
            str(out),
            *flags,
        ],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@contextmanager
def holder(folder: Path, *then: str) -> Iterator[subprocess.Popen[str]]:
    """Run a process that holds the folder's lock from when this yields until its input ends.

    Before it lets go, it runs the matrix-wizard command then, if one is given.
    """
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder), *then],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    with ended_at_exit(process):
        assert next_line(process.stdout) == "held\n"
        yield process
        let_go(process)
        process.wait(timeout=TIMEOUT)


def let_go(holding: subprocess.Popen[str]) -> None:
    """End a holder's input, so that it lets the lock go and ends."""
    assert holding.stdin is not None
    holding.stdin.close()


def refusal(folder: Path, pid: int) -> str:
    """Return the pattern of the one line a writer refused by the holder's lock prints."""
    return (
        f"matrix-wizard: error: {re.escape(str(folder))} is being written by another run, "
        f"pid {pid} \\(matrix-wizard generate --out {re.escape(str(folder))}\\), since {SINCE}: "
        "wait for it to finish, then try again\n"
    )


@pytest.fixture
def bundle_a(tmp_path: Path) -> Path:
    """Return a folder holding a bundle generated from the default answers."""
    out = (tmp_path / "bundle").resolve()
    made = run_cli(
        "generate", "--answers", str(answers_file(tmp_path / "a.yaml")), "--out", str(out)
    )
    assert made.returncode == 0, made.stderr
    return out


def test_a_second_generate_is_refused_with_who_holds_the_folder(
    bundle_a: Path, tmp_path: Path
) -> None:
    answers = answers_file(tmp_path / "b.yaml", "media.max_upload_mb=200")
    before = tree(bundle_a)
    with holder(bundle_a) as holding:
        refused = generate(answers, bundle_a)
        out, err = refused.communicate(timeout=TIMEOUT)
        assert refused.returncode == 1, err
        assert re.fullmatch(refusal(bundle_a, holding.pid), err), err
        assert out == ""
        assert tree(bundle_a) == before
    written = generate(answers, bundle_a)
    out, err = written.communicate(timeout=TIMEOUT)
    assert written.returncode == 0, err
    assert out.startswith(f"Wrote the bundle to {bundle_a}: ")
    assert tree(bundle_a) != before


def test_apply_is_refused_while_the_bundle_is_being_written(
    bundle_a: Path,
) -> None:
    # The lock is taken before any connection: the port named here has no server behind it.
    with holder(bundle_a) as holding:
        refused = run_cli("apply", str(bundle_a), "--ssh", "root@127.0.0.1", "--port", "1")
        assert refused.returncode == 1, refused.stderr
        assert re.fullmatch(refusal(bundle_a, holding.pid), refused.stderr), refused.stderr


def test_a_holder_killed_with_sigkill_leaves_the_folder_free(
    bundle_a: Path, tmp_path: Path
) -> None:
    with holder(bundle_a) as holding:
        holding.send_signal(signal.SIGKILL)
        holding.wait(timeout=TIMEOUT)
    left = lock_path(bundle_a).read_text(encoding="utf-8")
    assert left.startswith(f"pid {holding.pid}\n")
    answers = answers_file(tmp_path / "b.yaml", "media.max_upload_mb=200")
    written = generate(answers, bundle_a)
    _, err = written.communicate(timeout=TIMEOUT)
    assert written.returncode == 0, err
    assert not lock_path(bundle_a).exists()


def test_generate_with_wait_says_whom_it_waits_for_then_writes(
    bundle_a: Path, tmp_path: Path
) -> None:
    answers = answers_file(tmp_path / "b.yaml", "media.max_upload_mb=200")
    before = tree(bundle_a)
    with (
        holder(bundle_a) as holding,
        ended_at_exit(generate(answers, bundle_a, "--wait")) as waiting,
    ):
        said = next_line(waiting.stderr)
        assert re.fullmatch(
            f"Waiting for another run to finish writing {re.escape(str(bundle_a))}: "
            f"pid {holding.pid} \\(matrix-wizard generate --out {re.escape(str(bundle_a))}\\), "
            f"since {SINCE}\\.\n",
            said,
        ), said
        assert waiting.poll() is None
        assert tree(bundle_a) == before
        let_go(holding)
        out, err = waiting.communicate(timeout=TIMEOUT)
    assert waiting.returncode == 0, err
    assert out.startswith(f"Wrote the bundle to {bundle_a}: ")
    assert err == ""


def test_a_waiting_run_reads_the_secrets_the_holder_wrote(tmp_path: Path) -> None:
    out = (tmp_path / "bundle").resolve()
    first = answers_file(tmp_path / "a.yaml")
    second = answers_file(tmp_path / "b.yaml", "media.max_upload_mb=200")
    with (
        holder(out, "generate", "--answers", str(first), "--out", str(out)) as holding,
        ended_at_exit(generate(second, out, "--wait")) as waiting,
    ):
        assert next_line(waiting.stderr).startswith("Waiting for another run to finish writing")
        assert not out.exists()
        let_go(holding)
        _, err = waiting.communicate(timeout=TIMEOUT)
    assert waiting.returncode == 0, err
    previous = out.parent / f"{out.name}.previous"
    assert secrets_of(out) == secrets_of(previous)
    signing_key = "synapse/signing.key"
    assert (out / signing_key).read_bytes() == (previous / signing_key).read_bytes()
    assert verify_bundle(out) == []


def test_wait_and_dry_run_are_refused_together(tmp_path: Path) -> None:
    answers = answers_file(tmp_path / "a.yaml")
    done = run_cli("generate", "--answers", str(answers), "--out", "x", "--wait", "--dry-run")
    assert done.returncode == 2
    assert "not allowed with argument" in done.stderr


def small_bundle(version: str) -> Bundle:
    return {
        "README.md": File(f"# {version}\n", PUBLIC),
        SECRETS_FILE: File(f"password: {version}\n", PRIVATE),
    }


def test_the_lock_file_is_beside_the_folder_while_held_and_gone_after(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    assert lock_path(out) == tmp_path / ".bundle.lock"
    with writer_lock(out) as folder:
        assert folder == out.resolve()
        record = lock_path(out).read_text(encoding="utf-8")
        assert record.startswith(f"pid {os.getpid()}\ncommand matrix-wizard")
        write_bundle(small_bundle("one"), out)
        assert lock_path(out).exists()
    assert not lock_path(out).exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bundle"]


def test_another_thread_of_the_same_process_is_refused(tmp_path: Path) -> None:
    out = (tmp_path / "bundle").resolve()
    caught: list[WizardError] = []

    def write_from_another_thread() -> None:
        try:
            write_bundle(small_bundle("two"), out)
        except WizardError as error:
            caught.append(error)

    with writer_lock(out):
        other = threading.Thread(target=write_from_another_thread)
        other.start()
        other.join(timeout=TIMEOUT)
    assert len(caught) == 1
    assert caught[0].message.startswith(
        f"{out} is being written by another run, pid {os.getpid()} (matrix-wizard"
    )
    assert not out.exists()


def test_a_waiter_whose_lock_file_was_deleted_as_it_was_let_go_takes_a_new_one(
    tmp_path: Path,
) -> None:
    out = (tmp_path / "bundle").resolve()
    first = BundleLock(out)
    first.acquire()
    waiting = threading.Event()
    held: list[str] = []

    def wait_for_it() -> None:
        second = BundleLock(out)
        second.acquire(wait=True, on_wait=lambda line: waiting.set())
        held.append(lock_path(out).read_text(encoding="utf-8") if lock_path(out).exists() else "")
        second.release()

    other = threading.Thread(target=wait_for_it)
    other.start()
    assert waiting.wait(timeout=TIMEOUT)
    first.release()
    other.join(timeout=TIMEOUT)
    assert len(held) == 1
    assert held[0].startswith(f"pid {os.getpid()}\n")
    assert not lock_path(out).exists()


def test_a_holder_that_has_not_yet_written_its_record_is_named_as_unknown() -> None:
    assert describe_holder("") == "a process that has not yet said which"
    assert describe_holder("pid 12\ncommand matrix-wizard\nsince 2030-01-02 03:04:05 +0000\n") == (
        "pid 12 (matrix-wizard), since 2030-01-02 03:04:05 +0000"
    )
    assert describe_holder(holder_record(7, "a\nb"), pid_where=" there").startswith(
        "pid 7 there (a b), since "
    )


def secrets_of(folder: Path) -> object:
    return yaml.safe_load((folder / SECRETS_FILE).read_text(encoding="utf-8"))


@pytest.mark.slow
def test_two_generates_at_once_never_tear_the_bundle_or_lose_its_secrets(
    bundle_a: Path, tmp_path: Path
) -> None:
    answers = {
        "b": answers_file(tmp_path / "b.yaml", "media.max_upload_mb=200"),
        "c": answers_file(tmp_path / "c.yaml", "media.max_upload_mb=300"),
    }
    pristine = tmp_path / "pristine"
    shutil.copytree(bundle_a, pristine, symlinks=True)
    previous = bundle_a.parent / f"{bundle_a.name}.previous"

    def restore_a() -> None:
        shutil.rmtree(bundle_a)
        shutil.rmtree(previous, ignore_errors=True)
        shutil.copytree(pristine, bundle_a, symlinks=True)

    expected = {"a": tree(pristine)}
    for name, path in answers.items():
        restore_a()
        run_cli("generate", "--answers", str(path), "--out", str(bundle_a), check=True)
        expected[name] = tree(bundle_a)
    assert expected["b"] != expected["c"]
    for round_number in range(RACE_ROUNDS):
        restore_a()
        started = {name: generate(path, bundle_a) for name, path in answers.items()}
        ended = {name: process.communicate(timeout=TIMEOUT) for name, process in started.items()}
        codes = {name: started[name].returncode for name in started}
        said = "".join(out + err for out, err in ended.values())
        assert "edited by hand" not in said, (round_number, said)
        assert "Traceback" not in said, (round_number, said)
        for name, (_, err) in ended.items():
            if codes[name] == 1:
                other = started["c" if name == "b" else "b"].pid
                assert re.fullmatch(
                    f"matrix-wizard: error: {re.escape(str(bundle_a))} is being written by "
                    f"another run, (pid {other} .*|a process that has not yet said which): "
                    "wait for it to finish, then try again\n",
                    err,
                ), (round_number, err)
            else:
                assert codes[name] == 0 and err == "", (round_number, codes, err)
        now = (tree(bundle_a), tree(previous))
        assert verify_bundle(bundle_a) == [], round_number
        assert secrets_of(bundle_a) == secrets_of(pristine), round_number
        assert secrets_of(previous) == secrets_of(pristine), round_number
        if codes == {"b": 0, "c": 0}:
            assert now in ((expected["b"], expected["c"]), (expected["c"], expected["b"]))
        else:
            assert sorted(codes.values()) == [0, 1], (round_number, codes)
            winner = "b" if codes["b"] == 0 else "c"
            assert now == (expected[winner], expected["a"]), round_number
        assert stale_staging_dirs(bundle_a) == []
        assert not lock_path(bundle_a).exists()
