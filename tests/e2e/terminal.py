"""Run a program on a terminal of its own and type answers at its prompts, as a person would."""

import os
import select
import subprocess
import time
from dataclasses import dataclass

from tests.waiting import LIMIT


@dataclass(frozen=True)
class Typed:
    """How a program that was answered at its prompts ended: its exit status and all it wrote."""

    returncode: int
    output: str


def _read(main: int) -> bytes:
    """Return what the program wrote, or b"" once its side of the terminal is closed."""
    try:
        return os.read(main, 4096)
    except OSError:  # EIO: every copy of the program's side of the terminal is closed
        return b""


def answer_prompts(argv: list[str], answers: list[tuple[str, str]]) -> Typed:
    """Run argv on a pseudo-terminal; type each answer once its prompt appears after the last."""
    main, side = os.openpty()
    process = subprocess.Popen(argv, stdin=side, stdout=side, stderr=side, close_fds=True)
    os.close(side)
    pending = list(answers)
    written = b""
    answered_up_to = 0
    deadline = time.monotonic() + LIMIT
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 0.2)
            if not ready:
                continue
            chunk = _read(main)
            if not chunk:
                break
            written += chunk
            if pending and pending[0][0].encode() in written[answered_up_to:]:
                prompt, answer = pending.pop(0)
                answered_up_to = written.index(prompt.encode(), answered_up_to) + len(prompt)
                os.write(main, answer.encode() + b"\n")
        returncode = process.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(main)
    text = written.decode(errors="replace")
    assert not pending, f"{argv[0]} never asked {pending[0][0]!r}:\n{text}"
    return Typed(returncode, text)
