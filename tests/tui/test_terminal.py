"""The wizard in a real terminal (tmux at 80x24), driven by the keyboard alone."""

import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import require_program
from tests.waiting import wait_until

pytestmark = pytest.mark.tui


class Terminal:
    """A tmux server of its own, with one 80x24 window running the wizard."""

    def __init__(self, tmux: str, folder: Path) -> None:
        self.tmux = tmux
        self.socket = folder / "tmux.sock"
        self.status = folder / "exit-status"

    def _run(self, *args: str) -> str:
        """Run a tmux command against this server and return what it printed."""
        command = [self.tmux, "-S", str(self.socket), "-f", os.devnull, *args]
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout

    def start(self, folder: Path) -> None:
        """Start the wizard in folder; its exit status is written to a file when it ends."""
        wizard = shlex.join([sys.executable, "-m", "wizard"])
        status = shlex.quote(str(self.status))
        self._run(
            "new-session", "-d", "-x", "80", "-y", "24", "-c", str(folder), "-s", "wizard",
            f"{wizard}; echo $? > {status}",
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

    def stops_showing(self, text: str) -> None:
        """Wait until the window no longer shows text."""
        wait_until(lambda: text not in self.screen(), f"the terminal to stop showing {text!r}")

    def _showing(self, texts: tuple[str, ...]) -> str | None:
        screen = self.screen()
        return screen if all(text in screen for text in texts) else None

    def ended_with(self) -> int:
        """Wait for the wizard to end, and return its exit status."""
        wait_until(lambda: self.status.is_file() and self.status.read_text(), "the wizard to end")
        return int(self.status.read_text())

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


def test_the_planning_path_walked_by_keyboard_writes_a_bundle(
    terminal: Terminal, tmp_path: Path
) -> None:
    terminal.start(tmp_path)
    terminal.shows("Step 1 of 11: Welcome")
    terminal.keys("Down", "Down", "Enter")
    terminal.shows("Step 2 of 11: Machine", "vps-4g")
    terminal.keys("Enter")
    terminal.shows("Step 3 of 11: Homeserver and tier")
    terminal.keys("Enter")
    terminal.shows("Step 4 of 11: Deployment")
    terminal.keys("Enter")
    terminal.shows("Step 5 of 11: Domain")
    terminal.type("walk.example.org")
    terminal.shows("matrix.walk.example.org")
    terminal.keys("Enter")
    terminal.shows("Step 6 of 11: Database")
    terminal.keys("Enter")
    terminal.shows("Step 7 of 11: Proxy and TLS", "admin@walk.example.org")
    terminal.keys("Enter")
    terminal.shows("Step 8 of 11: Extras")
    terminal.keys("Enter")
    terminal.shows("Step 9 of 11: Review", "walk.example.org")
    terminal.stops_showing("rendering the bundle")
    terminal.keys("Enter")
    terminal.shows("Step 10 of 11: Write")
    terminal.keys("Enter")
    terminal.shows("Wrote the bundle to", "The answers are saved beside it")
    terminal.stops_showing("writing and checking")
    assert "failed" not in terminal.screen()
    terminal.keys("Enter")
    terminal.shows("Step 11 of 11: Done")
    terminal.keys("Enter")
    assert terminal.ended_with() == 0

    bundle = tmp_path / "matrix-bundle"
    answers = yaml.safe_load((bundle / "answers.yaml").read_text(encoding="utf-8"))
    assert answers["domain"]["server_name"] == "walk.example.org"
    assert "walk.example.org" in (bundle / "nginx" / "matrix.conf").read_text(encoding="utf-8")
    assert (bundle / "apply.sh").stat().st_mode & 0o100
