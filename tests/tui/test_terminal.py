"""The wizard in a real terminal (tmux at 80x24), driven by the keyboard alone."""

import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_program
from tests.waiting import wait_until

pytestmark = pytest.mark.tui


class Terminal:
    """A tmux server of its own, with one 80x24 window running the wizard."""

    def __init__(self, tmux: str, folder: Path) -> None:
        self.tmux = tmux
        self.socket = folder / "tmux.sock"

    def _run(self, *args: str) -> str:
        """Run a tmux command against this server and return what it printed."""
        command = [self.tmux, "-S", str(self.socket), "-f", os.devnull, *args]
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout

    def start(self, folder: Path) -> None:
        """Start the wizard in folder, in a window that stays once the wizard has ended."""
        wizard = shlex.join([sys.executable, "-m", "wizard"])
        self._run(
            "new-session", "-d", "-x", "80", "-y", "24", "-c", str(folder), "-s", "wizard", wizard,
            ";", "set-option", "-t", "wizard", "remain-on-exit", "on",
        )  # fmt: skip

    def keys(self, *keys: str) -> None:
        """Press keys, named as tmux names them (Enter, Down, C-n)."""
        self._run("send-keys", "-t", "wizard", *keys)

    def type(self, text: str) -> None:
        """Type text as it is."""
        self._run("send-keys", "-t", "wizard", "-l", text)

    def screen(self) -> str:
        """Return what the window shows now."""
        return self._run("capture-pane", "-p", "-t", "wizard")

    def shows(self, *texts: str) -> str:
        """Wait until the window shows every one of texts at once, and return the screen."""
        return wait_until(lambda: self._showing(texts), f"the terminal to show {texts!r}")

    def _showing(self, texts: tuple[str, ...]) -> str | None:
        screen = self.screen()
        return screen if all(text in screen for text in texts) else None

    def ended_with(self) -> int:
        """Wait for the wizard to end, and return its exit status."""
        status = wait_until(
            lambda: self._run("display-message", "-p", "-t", "wizard", "#{pane_dead_status}"),
            "the wizard to end",
        )
        return int(status)

    def close(self) -> None:
        """Stop the tmux server and whatever still runs in it."""
        subprocess.run(
            [self.tmux, "-S", str(self.socket), "kill-server"], check=False, capture_output=True
        )


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    """Return a terminal of its own, closed after the test."""
    shown = Terminal(require_program("tmux"), tmp_path)
    yield shown
    shown.close()


def test_keys_typed_while_the_wizard_starts_are_kept(terminal: Terminal, tmp_path: Path) -> None:
    terminal.start(tmp_path)
    terminal.keys("Down", "Down", "Enter")  # typed at once, before the first step is drawn
    terminal.shows("Step 2 of 11: Machine", "a profile of a common plan")
