"""Shared test helpers: real programs are required under CI and skipped with a reason elsewhere.

The session's fixtures shared by several folders live here, so that each exists once a
session: the container engine, the end-to-end runs' timings, and Dendrite's build. Under
pytest-xdist (`make test` runs two workers), the tests that run the container engine go to one
worker and the other tests that start real programs to one, each in the order collected, so
that the engine, PostgreSQL and the images still exist once a run; the tests of screens and
functions spread over both.
"""

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

import pytest

from tests.e2e import dendrite_build

if TYPE_CHECKING:
    from tests.compose.engine import Engine
    from tests.e2e.support import Timings

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TIMINGS_FILE = "e2e-timings.json"
REAL_PROGRAM_MARKERS = frozenset(
    {"integration", "e2e", "compose", "journey", "workers", "federation", "recovery", "ssh", "slow"}
)
# The folders whose tests run the container engine (and PostgreSQL only in its containers).
ENGINE_FOLDERS = frozenset({"compose", "journey", "federation", "workers"})
# The snapshots write their bundle to one fixed folder, whose name the pictures show.
SNAPSHOT_MODULE = "test_snapshots.py"


# First: pytest-xdist reads the groups in its own hook of the same name.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep the engine's tests on one worker, other real programs' on one, the snapshots on one."""
    for item in items:
        folder = item.path.relative_to(ROOT / "tests").parts[0]
        if folder in ENGINE_FOLDERS:
            item.add_marker(pytest.mark.xdist_group("engine"))
        elif REAL_PROGRAM_MARKERS & {mark.name for mark in item.iter_markers()}:
            item.add_marker(pytest.mark.xdist_group("real-programs"))
        elif item.path.name == SNAPSHOT_MODULE:
            item.add_marker(pytest.mark.xdist_group("snapshots"))


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> "Iterator[Engine]":
    """Start podman's API service once for the session and stop it at the end."""
    from tests.compose.engine import running_engine

    with running_engine(tmp_path_factory.mktemp("engine")) as started:
        yield started


@pytest.fixture(scope="session")
def dendrite_programs() -> Path:
    """Return the folder of Dendrite's programs, built once per machine with the machine's Go."""
    go = dendrite_build.find_go() or require_program("go")  # skips, or fails under CI
    return dendrite_build.build(go)


@pytest.fixture(scope="session")
def e2e_timings(tmp_path_factory: pytest.TempPathFactory) -> "Iterator[list[Timings]]":
    """Collect each run's step times; at the end print them and write them as JSON."""
    runs: list[Timings] = []
    started = time.monotonic()
    yield runs
    if not runs:
        return
    total = round(time.monotonic() - started, 3)
    report = [run.as_json() for run in runs]
    path = tmp_path_factory.getbasetemp() / TIMINGS_FILE
    path.write_text(json.dumps({"total": total, "runs": report}, indent=2) + "\n", "utf-8")
    print(f"\nend-to-end timings, {total:.2f} s in all (also in {path}):")
    for run in report:
        print(f"  {run['run']}: {run['total']:.2f} s")
        for step, seconds in run["steps"].items():
            print(f"    {seconds:7.2f} s  {step}")


def require_program(name: str) -> str:
    """Return the path of a real program, skipping the test when it is absent outside CI."""
    found = shutil.which(name)
    if found:
        return found
    message = f"{name} is not installed (.ci/run installs it)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def run_cli(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run ``python -m wizard`` with the given arguments in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "wizard", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=check,
        timeout=120,
    )


def next_line(stream: IO[str] | None, timeout: float = 120) -> str:
    """Return the next line a process prints, failing the test if none comes within timeout."""
    assert stream is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        pytest.fail(f"no line came within {timeout:g} s")


def busybox_applets(folder: Path, *, flock: bool) -> str:
    """Return a PATH of busybox's applets alone, as on a minimal system, with flock or none.

    Where busybox has no flock applet, util-linux's flock stands in for it.
    """
    busybox = require_program("busybox")
    folder.mkdir()
    listed = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True)
    applets = listed.stdout.split()
    for applet in applets:
        if applet != "flock":
            (folder / applet).symlink_to(busybox)
    if flock:
        (folder / "flock").symlink_to(busybox if "flock" in applets else require_program("flock"))
    return str(folder)
