"""The wizard on screen, headless: start-up against a bare Textual app, peak RSS, step changes."""

import asyncio
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App, ComposeResult
from textual.widgets import Label

if TYPE_CHECKING:
    from screens.app import WizardApp
    from screens.step import StepPane

ROOT = Path(__file__).resolve().parent.parent
RUNS = 7
STEP_ROUNDS = 3
WALKS = 3
SIZE = (80, 24)


# --- Child processes: each prints one figure and exits ----------------------------------------


class _BareApp(App[None]):
    """The smallest Textual app: one label."""

    def compose(self) -> ComposeResult:
        yield Label("matrix-wizard")

    def on_ready(self) -> None:
        self.call_after_refresh(_painted, self)


def _painted(app: App[Any]) -> None:
    print(f"{time.time():.6f} {time.process_time():.6f}", flush=True)
    app.exit()


def _child_first_paint(which: str) -> None:
    """Run one app headless and print the wall time at which its first screen is painted."""
    if which == "bare":
        _BareApp().run(headless=True, size=SIZE)
        return
    import wizard.cli  # noqa: F401  (the path `matrix-wizard` takes: the command line first)
    from screens.app import WizardApp

    class TimedWizard(WizardApp):
        def on_ready(self) -> None:
            self.call_after_refresh(self._check)

        def _check(self) -> None:
            shown = self.current_step()
            if shown is not None and shown.is_mounted:
                _painted(self)
            else:
                self.call_after_refresh(self._check)

    TimedWizard().run(headless=True, size=SIZE)


def _child_whole_run() -> None:
    """Walk a planning run to a written bundle and print the peak RSS in KiB."""
    asyncio.run(_walk_and_write())
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, flush=True)


def _planning_wizard(kind: "type[WizardApp] | None" = None) -> "WizardApp":
    """Return the wizard planning for the vps-4g profile, cursors not blinking."""
    from screens.app import WizardApp
    from wizard.probe.profile import load_profile

    return (kind or WizardApp)(probe=lambda path: load_profile("vps-4g"), cursor_blink=False)


def _answer_what_is_asked(shown: "StepPane | None") -> None:
    """Give the entries a planning run needs beyond the defaults: the mode and a server name."""
    from textual.widgets import Input

    from screens.domain import DomainStep
    from screens.welcome import WelcomeStep
    from screens.widgets.choices import Choices

    if isinstance(shown, WelcomeStep):
        shown.query_one("#mode", Choices).choose("plan")
    elif isinstance(shown, DomainStep):
        shown.query_one("#server-name", Input).value = "example.com"


async def _change_step(app: "WizardApp", *, forward: bool) -> tuple["StepPane", bool, float]:
    """Go a step on or back; return the step shown, whether it was built, and seconds to paint."""
    before = app.current_step()
    painted = asyncio.Event()
    start = time.perf_counter()
    if forward:
        app.next_step()
    else:
        app.prev_step()
    shown = app.current_step()
    assert shown is not None and shown is not before
    built = shown.is_mounted
    while not shown.is_mounted:
        await asyncio.sleep(0.0005)
    app.screen.call_after_refresh(painted.set)
    await painted.wait()
    return shown, built, time.perf_counter() - start


def _label(shown: "StepPane", visit: str) -> str:
    return f"to {type(shown).__name__.removesuffix('Step')}, {visit}"


async def _walk_and_write() -> None:
    from textual.widgets import Input

    from screens.write import WriteStep

    app = _planning_wizard()
    with tempfile.TemporaryDirectory() as folder:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            while not isinstance(shown := app.current_step(), WriteStep):
                _answer_what_is_asked(shown)
                await _read_for_a_moment(app)
                app.next_step()
                await app.workers.wait_for_complete()
                await pilot.pause()
            shown.query_one("#out-dir", Input).value = str(Path(folder) / "bundle")
            await pilot.pause()
            await pilot.click("#write")
            await app.workers.wait_for_complete()
            await pilot.pause()


async def _read_for_a_moment(app: "WizardApp") -> None:
    """Wait as a person reading the step would: until the next step has been built ahead."""
    from screens.app import BUILD_AHEAD_PAUSE
    from screens.step import StepPane

    await asyncio.sleep(BUILD_AHEAD_PAUSE + 0.05)
    await app.workers.wait_for_complete()
    while not all(pane.is_mounted for pane in app.frame.query(StepPane)):
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.02)


# --- Step changes, in process ------------------------------------------------------------------


async def _step_changes() -> dict[str, list[float]]:
    """Return, for each step change, the seconds from asking for it to the new step painted.

    Between changes the run waits as a person reading the step would, which gives the wizard
    the pause it uses to build the next step out of sight.
    """
    from screens.write import WriteStep

    app = _planning_wizard()
    timings: dict[str, list[float]] = {}
    seen: set[int] = set()

    async def change(forward: bool) -> None:
        before = app.current_step()
        seen.add(id(before))
        shown, built, seconds = await _change_step(app, forward=forward)
        if id(shown) in seen:
            visit = "again"
        else:
            visit = "first time, built ahead" if built else "first time, built on the spot"
        timings.setdefault(_label(shown, visit), []).append(seconds)
        await _read_for_a_moment(app)

    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        while not isinstance(app.current_step(), WriteStep):
            _answer_what_is_asked(app.current_step())
            await _read_for_a_moment(app)
            for _ in range(STEP_ROUNDS):
                await change(forward=True)
                await change(forward=False)
            await change(forward=True)
    return timings


async def _first_visits_without_a_pause() -> dict[str, list[float]]:
    """Return the seconds to paint each step when Next is pressed as soon as a step is shown.

    The wizard here never builds a step ahead, so each is built on the spot, as when the
    person changes an answer the next step shows and goes on at once.
    """
    from screens.app import WizardApp
    from screens.write import WriteStep

    class BuildingOnTheSpot(WizardApp):
        def _build_ahead(self) -> None:
            return

    app = _planning_wizard(BuildingOnTheSpot)
    timings: dict[str, list[float]] = {}
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        while not isinstance(app.current_step(), WriteStep):
            _answer_what_is_asked(app.current_step())
            await pilot.pause()
            shown, _, seconds = await _change_step(app, forward=True)
            timings[_label(shown, "built on the spot")] = [seconds]
            await app.workers.wait_for_complete()
    return timings


# --- Running and reporting ---------------------------------------------------------------------


def _first_paint_seconds(which: str) -> tuple[float, float]:
    """Return the seconds from start to the first paint, on the clock and of the CPU used."""
    start = time.time()
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_tui", "--first-paint", which],
        capture_output=True,
        text=True,
        check=True,
    )
    painted, cpu = done.stdout.strip().splitlines()[-1].split()
    return float(painted) - start, float(cpu)


def _whole_run_rss_kib() -> int:
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_tui", "--whole-run"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout.strip().splitlines()[-1])


def _compile_like_an_install() -> None:
    """Compile the wizard's modules to bytecode, as installing the package does.

    Textual is installed, so its bytecode is there; without this an editable checkout run
    with PYTHONDONTWRITEBYTECODE would compile the wizard's sources on every start.
    """
    import compileall

    for package in ("wizard", "screens"):
        compileall.compile_dir(ROOT / package, quiet=1)


def main() -> None:
    """Print the on-screen figures beside their goals."""
    _compile_like_an_install()
    bare: list[tuple[float, float]] = []
    wizard: list[tuple[float, float]] = []
    for _ in range(RUNS):
        bare.append(_first_paint_seconds("bare"))
        wizard.append(_first_paint_seconds("wizard"))
    for index, clock in enumerate(("on the clock", "CPU time")):
        bare_median = statistics.median(run[index] for run in bare)
        wizard_median = statistics.median(run[index] for run in wizard)
        runs = f"{clock}, median of {RUNS}"
        print(
            f"{'start to first paint, bare Textual app, ' + runs:<64} "
            f"{bare_median * 1000:9.1f} ms   reference"
        )
        print(
            f"{'start to first paint, matrix-wizard, ' + runs:<64} "
            f"{wizard_median * 1000:9.1f} ms   ratio {wizard_median / bare_median:.2f}x "
            "(goal: under 1.3x)"
        )
    rss = _whole_run_rss_kib()
    print(
        f"{'peak RSS, planning run to a written bundle':<64} {rss / 1024:9.1f} MB   "
        "goal: under 60 MB"
    )
    timings: dict[str, list[float]] = {}
    for _ in range(WALKS):
        for walk in (_step_changes, _first_visits_without_a_pause):
            for label, values in asyncio.run(walk()).items():
                timings.setdefault(label, []).extend(values)
    for label, values in timings.items():
        worst = max(values)
        print(
            f"{'step change ' + label + ', median of ' + str(len(values)):<64} "
            f"{statistics.median(values) * 1000:9.1f} ms   worst {worst * 1000:.1f} ms "
            "(goal: under 100 ms)"
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--first-paint"]:
        _child_first_paint(sys.argv[2])
    elif sys.argv[1:2] == ["--whole-run"]:
        _child_whole_run()
    else:
        main()
