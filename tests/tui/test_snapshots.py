"""SVG snapshots of every step at 80x24 and 120x40, with a profile in place of the probe.

Update them after a deliberate change with `pytest tests/tui --snapshot-update`, and review the
report pytest-textual-snapshot writes before committing the new ones.
"""

import fcntl
import shutil
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import TabbedContent

from screens.app import WizardApp
from screens.database import DatabaseStep
from screens.deployment import DeploymentStep
from screens.domain import DomainStep
from screens.done import DoneStep
from screens.extras import ExtrasStep
from screens.machine import MachineStep
from screens.proxy import ProxyStep
from screens.review import ReviewStep
from screens.state import WizardState
from screens.step import StepPane
from screens.tier import TierStep
from screens.welcome import WelcomeStep
from screens.widgets.choices import Choices
from screens.write import WriteStep
from tests.tui.conftest import go_on, settle, steady, step, type_into, wizard

pytestmark = pytest.mark.tui

# Done shows the bundle's folder, so it must be the same folder on every run; two runs at once
# on one machine take turns with it.
SNAPSHOT_BUNDLE = Path("/tmp/matrix-wizard-snapshots/bundle")
SNAPSHOT_LOCK = Path("/tmp/matrix-wizard-snapshots.lock")
SIZES = [(80, 24), (120, 40)]
SnapCompare = Callable[..., bool]
RunBefore = Callable[[Pilot[int]], Awaitable[None]]


@pytest.fixture(scope="module", autouse=True)
def snapshot_folder_held() -> Iterator[None]:
    """Hold the snapshots' fixed bundle folder for this run until its snapshots are taken."""
    with SNAPSHOT_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def reach(target: type[StepPane], *, mode: str = "local") -> RunBefore:
    """Return a run_before that walks a run to the target step, writing when it passes Write."""

    async def run_before(pilot: Pilot[int]) -> None:
        await settle(pilot)
        if mode != "local":
            step(pilot.app).query_one("#mode", Choices).choose(mode)
            await pilot.pause()
        while not isinstance(step(pilot.app), target):
            current = step(pilot.app)
            if isinstance(current, DomainStep):
                await type_into(pilot, "#server-name", "example.com")
            if isinstance(current, WriteStep):
                await pilot.click("#write")
                await settle(pilot)
            await go_on(pilot)
        await steady(pilot)

    return run_before


def app_for_snapshot() -> WizardApp:
    shutil.rmtree(SNAPSHOT_BUNDLE.parent, ignore_errors=True)
    return wizard(WizardState(out_dir=str(SNAPSHOT_BUNDLE)))


STEP_CLASSES = [
    WelcomeStep,
    MachineStep,
    TierStep,
    DeploymentStep,
    DomainStep,
    DatabaseStep,
    ProxyStep,
    ExtrasStep,
    ReviewStep,
    WriteStep,
    DoneStep,
]


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
@pytest.mark.parametrize("target", STEP_CLASSES, ids=[cls.__name__ for cls in STEP_CLASSES])
def test_every_step(
    snap_compare: SnapCompare, target: type[StepPane], size: tuple[int, int]
) -> None:
    assert snap_compare(app_for_snapshot(), terminal_size=size, run_before=reach(target))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_planning_by_hand(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[int]) -> None:
        await reach(MachineStep, mode="plan")(pilot)
        step(pilot.app).query_one("#source", Choices).choose("hand")
        await pilot.pause()
        await type_into(pilot, "#cores", "2")
        await type_into(pilot, "#ram", "4X")
        await pilot.press("ctrl+n")  # refused: every problem shows
        await steady(pilot)

    assert snap_compare(app_for_snapshot(), terminal_size=size, run_before=run_before)


def test_review_files(snap_compare: SnapCompare) -> None:
    async def run_before(pilot: Pilot[int]) -> None:
        await reach(ReviewStep)(pilot)
        step(pilot.app).query_one("#review-tabs", TabbedContent).active = "files-tab"
        await steady(pilot)

    assert snap_compare(app_for_snapshot(), terminal_size=(120, 40), run_before=run_before)


def test_domain_with_a_problem_in_the_light_theme(snap_compare: SnapCompare) -> None:
    async def run_before(pilot: Pilot[int]) -> None:
        pilot.app.theme = "textual-light"
        await reach(DomainStep)(pilot)
        await type_into(pilot, "#server-name", "matrix")
        await pilot.press("ctrl+n")  # refused: the problem shows
        await steady(pilot)

    assert snap_compare(app_for_snapshot(), terminal_size=(80, 24), run_before=run_before)


def test_help(snap_compare: SnapCompare) -> None:
    async def run_before(pilot: Pilot[int]) -> None:
        await reach(TierStep)(pilot)
        await pilot.press("f1")
        await steady(pilot)

    assert snap_compare(app_for_snapshot(), terminal_size=(80, 24), run_before=run_before)
