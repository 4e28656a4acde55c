"""Failures in the background become a readable message on the step, never a crash."""

import os
from pathlib import Path

import pytest
from textual.widgets import Static

from screens.app import WizardApp
from screens.machine import MachineStep
from screens.review import ReviewStep
from screens.state import WizardState
from screens.write import WriteStep
from tests.tui.conftest import (
    asynctest,
    field_problem,
    go_on,
    refused,
    settle,
    step,
    type_into,
    walk_to,
    wizard,
)
from wizard.deliver.bundle_lock import BundleLock
from wizard.errors import UsageError
from wizard.probe.facts import HostFacts

pytestmark = pytest.mark.tui


def refusing_probe(data_path: str) -> HostFacts:
    raise UsageError(f"cannot read {data_path}: permission denied", "give a folder you can read")


def broken_probe(data_path: str) -> HostFacts:
    raise RuntimeError("the probe tripped over [red]something[/red]")


@asynctest
async def test_a_probe_that_refuses_shows_why_beside_the_data_folder() -> None:
    app = WizardApp(probe=refusing_probe, cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        machine = await go_on(pilot)
        assert isinstance(machine, MachineStep)
        assert await refused(pilot)
        assert field_problem(machine, "local.data_path") == (
            "cannot read /var/lib: permission denied: give a folder you can read"
        )


@asynctest
async def test_a_probe_that_breaks_unexpectedly_leaves_the_wizard_running() -> None:
    app = WizardApp(probe=broken_probe, cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        machine = await go_on(pilot)
        assert await refused(pilot)
        problem = field_problem(machine, "local.data_path")
        assert problem is not None
        assert "failed unexpectedly" in problem
        assert "[red]something[/red]" in problem
        assert app.is_running


@asynctest
async def test_unreadable_secrets_in_the_folder_stop_review_with_the_reason(
    tmp_path: Path,
) -> None:
    out = tmp_path / "bundle"
    out.mkdir()
    (out / "secrets.yaml").write_text("- not\n- secrets\n")
    async with wizard(WizardState(out_dir=str(out))).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        review = await walk_to(pilot, ReviewStep)
        assert await refused(pilot)
        said = str(review.query_one("#step-problems", Static).content)
        assert f"cannot read {out / 'secrets.yaml'}" in said
        assert step(pilot.app) is review


@asynctest
async def test_a_folder_another_run_is_writing_is_refused_with_who_holds_it(
    tmp_path: Path,
) -> None:
    out = (tmp_path / "bundle").resolve()
    lock = BundleLock(out)
    lock.acquire()
    try:
        async with wizard().run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            write = await walk_to(pilot, WriteStep)
            await type_into(pilot, "#out-dir", str(out))
            await pilot.click("#write")
            await settle(pilot)
            assert await refused(pilot)
            problem = field_problem(write, "write.out_dir")
            assert problem is not None
            assert problem.startswith(f"{out} is being written by another run, pid {os.getpid()} (")
            assert problem.endswith(": wait for it to finish, then try again")
            assert not out.exists()
            lock.release()
            await pilot.click("#write")
            await settle(pilot)
            assert write.valid
            assert (out / "answers.yaml").is_file()
    finally:
        lock.release()
