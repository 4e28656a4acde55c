"""Shared test helpers: real programs are required under CI and skipped with a reason elsewhere."""

import os
import queue
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


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
