"""Helpers for driving the wizard on screen: a profile in place of the probe, and walking steps."""

import asyncio
import functools
import html
import re
import shutil
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Button, Input, Static

from screens.app import WizardApp
from screens.dialogs import ApplyDialog
from screens.domain import DomainStep
from screens.done import DoneStep
from screens.machine import MachineStep
from screens.remote import SessionFactory, UnavailableSession
from screens.state import Mode, WizardState
from screens.step import StepPane
from screens.welcome import WelcomeStep
from screens.widgets.choices import Choices
from screens.widgets.field import Field
from screens.write import WriteStep
from tests.waiting import LIMIT, POLL, eventually
from wizard.answers.model import AnswersError, parse_answers
from wizard.cli import main
from wizard.probe.facts import HostFacts
from wizard.probe.profile import load_profile

Params = ParamSpec("Params")
Dialog = TypeVar("Dialog", bound=Screen[Any])


def asynctest(test: Callable[Params, Coroutine[Any, Any, None]]) -> Callable[Params, None]:
    """Run an async test function in its own event loop, keeping its fixtures."""

    @functools.wraps(test)
    def run(*args: Params.args, **kwargs: Params.kwargs) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


@pytest.fixture(autouse=True)
def in_a_fresh_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every test from an empty folder, so the default bundle folder is written there."""
    monkeypatch.chdir(tmp_path)


# The probe reads the machine the tests run on, whose facts differ from one machine to the
# next; a profile stands in wherever a test or snapshot needs facts that never change.
STABLE_PROFILE = "vps-4g"


def profile_probe(data_path: str) -> HostFacts:
    """Return the stable profile's facts, whatever the data path."""
    return load_profile(STABLE_PROFILE)


def wizard(
    state: WizardState | None = None, *, session_factory: SessionFactory = UnavailableSession
) -> WizardApp:
    """Return the app with the stable probe and no blinking cursors."""
    return WizardApp(
        state, probe=profile_probe, session_factory=session_factory, cursor_blink=False
    )


def step(app: App[int]) -> StepPane:
    """Return the step on show, failing when a dialog covers it."""
    assert isinstance(app, WizardApp)
    shown = app.current_step()
    assert shown is not None, f"{type(app.screen).__name__} covers the step"
    return shown


async def settle(pilot: Pilot[int]) -> None:
    """Wait for every worker and for the screen to catch up."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def steady(pilot: Pilot[int]) -> None:
    """Wait until the screen is drawn the same twice running, with every worker done.

    Textual's own pause takes a loaded machine's slowness for idleness, so a screen can still
    be drawing (a table's rows, help's Markdown) after it; a snapshot waits for this instead.
    """
    previous = None

    async def drawn_again() -> bool:
        nonlocal previous
        await settle(pilot)
        await pilot.wait_for_scheduled_animations()
        drawing = pilot.app.export_screenshot()
        same, previous = drawing == previous, drawing
        return same

    deadline = time.monotonic() + LIMIT
    while not await drawn_again():
        if time.monotonic() > deadline:
            raise AssertionError(f"the screen was still changing after {LIMIT:.0f} s")
        await asyncio.sleep(POLL)


async def type_into(pilot: Pilot[int], selector: str, value: str) -> None:
    """Set an input's value as if typed, and let the step check it."""
    step(pilot.app).query_one(selector, Input).value = value
    await pilot.pause()


async def go_on(pilot: Pilot[int]) -> StepPane:
    """Press ctrl+n and return the step that follows, once settled."""
    await pilot.press("ctrl+n")
    await settle(pilot)
    return step(pilot.app)


async def go_back(pilot: Pilot[int]) -> StepPane:
    """Press Escape and return the step before, once settled."""
    await pilot.press("escape")
    await settle(pilot)
    return step(pilot.app)


def plan_state(out_dir: Path | str = "matrix-bundle") -> WizardState:
    """Return a fresh state in planning mode, writing to out_dir."""
    return WizardState(mode=Mode.PLAN, out_dir=str(out_dir))


async def walk_to(
    pilot: Pilot[int], target: type[StepPane], server_name: str = "example.com"
) -> StepPane:
    """Walk a planning run from Welcome to the target step, on the defaults."""
    current = step(pilot.app)
    if isinstance(current, WelcomeStep):
        current.query_one("#mode", Choices).choose("plan")
        await pilot.pause()
    while not isinstance(current, target):
        if isinstance(current, DomainStep):
            await type_into(pilot, "#server-name", server_name)
        current = await go_on(pilot)
    return current


async def write_and_dry_run(pilot: Pilot[int], server_name: str = "example.com") -> DoneStep:
    """From a connected Machine step, walk to Write, write, and press Done's upload and dry run."""
    while not isinstance(step(pilot.app), DomainStep):
        await go_on(pilot)
    await type_into(pilot, "#server-name", server_name)
    while not isinstance(step(pilot.app), WriteStep):
        await go_on(pilot)
    await pilot.click("#write")
    await settle(pilot)
    done = await go_on(pilot)
    assert isinstance(done, DoneStep)
    await pilot.click("#dry-run")
    await settle(pilot)
    return done


def status_line(app: App[int]) -> str:
    """Return what the navigation row says about the step on show."""
    return str(app.screen.query_one("#nav-status", Static).content)


def field_problem(screen: StepPane, path: str) -> str | None:
    """Return the problem shown beside the field for an answer, or None, checking it shows."""
    field = next(field for field in screen.query(Field) if field.path == path)
    if field.problem is not None:
        detail = field.query_one(".detail", Static)
        assert detail.display and str(detail.content).startswith(field.problem)
    return field.problem


def answers_file_says(data: dict[str, object]) -> dict[str, str]:
    """Return what the answers file reports for data, by path."""
    try:
        parse_answers(data)
    except AnswersError as error:
        return {problem.path: problem.message for problem in error.problems}
    return {}


async def refused(pilot: Pilot[int]) -> bool:
    """Return whether Next is disabled and ctrl+n leaves the step where it is."""
    before = step(pilot.app)
    disabled = before.screen.query_one("#next", Button).disabled
    await pilot.press("ctrl+n")
    await pilot.pause()
    return disabled and step(pilot.app) is before and not before.valid


def screen_text(app: App[int]) -> str:
    """Return the characters on screen, line after line, as the screenshot shows them."""
    svg = app.export_screenshot()
    lines: dict[str, list[str]] = {}
    for line, text in re.findall(
        r'<text[^>]*clip-path="url\(#[\w-]+-line-(\d+)\)"[^>]*>(.*?)</text>', svg
    ):
        lines.setdefault(line, []).append(html.unescape(text).replace("\xa0", " "))
    return "\n".join(
        "".join(parts) for _, parts in sorted(lines.items(), key=lambda item: int(item[0]))
    )


def screen_lines(app: App[int]) -> list[str]:
    """Return the screen's lines as drawn, every space kept, so columns can be compared."""
    return [
        "".join(segment.text for segment in line) for line in app.screen._compositor.render_strips()
    ]


def files_of(folder: Path) -> dict[str, bytes]:
    """Return every file under a folder by relative path, with its bytes."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def assert_generate_reproduces(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Check the saved answers rebuild the bundle byte for byte, in place and in a new folder."""
    answers = bundle / "answers.yaml"
    capsys.readouterr()
    assert main(["generate", "--answers", str(answers), "--out", str(bundle)]) == 0
    assert "Nothing changed" in capsys.readouterr().out

    again = tmp_path / "again"
    again.mkdir()
    shutil.copy2(bundle / "secrets.yaml", again / "secrets.yaml")
    assert main(["generate", "--answers", str(answers), "--out", str(again)]) == 0
    assert files_of(again) == files_of(bundle)


async def connect_on_screen(
    pilot: Pilot[int],
    host: str,
    port: int | None = None,
    user: str | None = None,
    key: Path | None = None,
) -> MachineStep:
    """Choose remote mode, fill in the machine to reach (what is given) and press Connect."""
    welcome = step(pilot.app)
    assert isinstance(welcome, WelcomeStep)
    welcome.query_one("#mode", Choices).choose("remote")
    await pilot.pause()
    machine = await go_on(pilot)
    assert isinstance(machine, MachineStep)
    entries = {"#host": host, "#port": port, "#user": user, "#key-file": key}
    for selector, value in entries.items():
        if value is not None:
            await type_into(pilot, selector, str(value))
    await pilot.click("#connect")
    return machine


async def dialog_on_screen(pilot: Pilot[int], kind: type[Dialog]) -> Dialog:
    """Wait for a dialog of the kind to cover the step, and return it once it is drawn."""

    def asking() -> Dialog | None:
        screen = pilot.app.screen
        return screen if isinstance(screen, kind) and screen.is_mounted else None

    dialog = await eventually(asking, f"a {kind.__name__} on screen")
    await pilot.pause()
    return dialog


async def apply_for_real(pilot: Pilot[int], *, confirm: bool = True) -> str:
    """Press Done's "Upload and apply", answer its question, and return the question asked."""
    await pilot.click("#apply")
    dialog = await dialog_on_screen(pilot, ApplyDialog)
    asked = str(dialog.query_one("#apply-what", Static).content)
    await pilot.click("#confirm" if confirm else "#cancel")
    await settle(pilot)
    return asked
