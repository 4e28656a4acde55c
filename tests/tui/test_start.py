"""`matrix-wizard` with no arguments: the wizard in a terminal, and a clear word without one."""

import os
import pty
import select
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, run_cli

pytestmark = pytest.mark.tui


def test_no_command_without_a_terminal_says_what_to_do() -> None:
    result = run_cli()
    assert result.returncode == 2
    assert "the wizard needs a terminal" in result.stderr
    assert "Traceback" not in result.stderr


def read_until(fd: int, wanted: bytes, seconds: float) -> bytes:
    """Read a terminal's output until wanted appears or the time runs out."""
    seen = b""
    deadline = time.monotonic() + seconds
    while wanted not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
    return seen


def test_no_command_in_a_terminal_starts_the_wizard_and_ctrl_q_leaves() -> None:
    controller, terminal = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"}
    process = subprocess.Popen(
        [sys.executable, "-m", "wizard"],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        cwd=ROOT,
        env=env,
        close_fds=True,
    )
    os.close(terminal)
    try:
        shown = read_until(controller, b"Welcome", 30)
        assert b"Welcome" in shown
        os.write(controller, b"\x11")  # ctrl+q: nothing entered, so it quits at once
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(controller)
