"""Advice on screen says what to do there, never a command-line flag; Measure disk measures."""

import socket
import threading
from pathlib import Path

import pytest
from rich.console import Console
from textual.widgets import Button, Static

from screens.app import WizardApp
from screens.machine import MachineStep
from screens.ssh_session import SshSession
from screens.widgets.facts_table import FactsTable
from tests.tui.conftest import (
    asynctest,
    connect_on_screen,
    field_problem,
    go_on,
    settle,
    status_line,
    type_into,
    wizard,
)
from tests.waiting import LIMIT, eventually
from wizard.probe.blockdev import MEASURE_HINT
from wizard.probe.facts import DiskKind, HostFacts
from wizard.probe.local import locate_data_path
from wizard.probe.profile import load_profile
from wizard.ssh.timeouts import Timeouts

pytestmark = pytest.mark.tui


def machine_to_measure(data_path: str) -> HostFacts:
    """Return a machine whose disk kind only measuring tells, checking the data path is real."""
    locate_data_path(data_path)
    facts = load_profile("vps-4g")
    disk = facts.disk.model_copy(
        update={
            "kind": DiskKind.UNKNOWN,
            "kind_reason": f"virtual disk vda reports rotational=1: {MEASURE_HINT}",
        }
    )
    return facts.model_copy(update={"source": "local", "disk": disk})


class StandInMeasurement:
    """Times no disk: the real measurement writes a 256 MiB test file and reads for up to 1.5 s.

    It holds its answer until told to go, so that the test sees the step while it measures.
    """

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.go = threading.Event()

    def __call__(self, data_path: str) -> HostFacts:
        self.asked.append(data_path)
        self.go.wait(LIMIT)
        facts = machine_to_measure(data_path)
        disk = facts.disk.model_copy(
            update={
                "kind": DiskKind.SSD,
                "kind_reason": "measured: median 0.05 ms over 400 random 4 KiB reads",
            }
        )
        return facts.model_copy(update={"disk": disk})


def facts_shown(machine: MachineStep) -> str:
    """Return the facts table as plain text, its rows as wide as need be."""
    console = Console(width=400, record=True, color_system=None)
    console.print(machine.query_one(FactsTable).content)
    return console.export_text()


@asynctest
async def test_measure_disk_measures_and_shows_the_kind_in_the_facts(tmp_path: Path) -> None:
    measure = StandInMeasurement()
    app = WizardApp(probe=machine_to_measure, measure=measure, cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        machine = await go_on(pilot)
        assert isinstance(machine, MachineStep)
        assert "unknown unless measured with Measure disk" in facts_shown(machine)
        assert "--measure-disk" not in facts_shown(machine)
        await type_into(pilot, "#data-path", str(tmp_path))
        await pilot.click("#measure")
        await eventually(lambda: measure.asked, "the measurement to start")
        assert measure.asked == [str(tmp_path)]
        status = str(machine.query_one("#machine-status", Static).content)
        assert status == f"Measuring the disk at {tmp_path}..."
        assert machine.query_one("#measure", Button).disabled
        assert status_line(app) == f"measuring the disk at {tmp_path}..."
        measure.go.set()
        await settle(pilot)
        shown = facts_shown(machine)
        assert "SSD (measured: median 0.05 ms over 400 random 4 KiB reads)" in shown
        assert not machine.query_one("#measure", Button).disabled
        assert str(machine.query_one("#machine-status", Static).content) == ""
        assert machine.valid


@asynctest
async def test_a_data_folder_that_is_a_file_says_what_to_do_without_a_flag(
    tmp_path: Path,
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("", encoding="utf-8")
    app = WizardApp(probe=machine_to_measure, cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        machine = await go_on(pilot)
        await type_into(pilot, "#data-path", str(a_file))
        await pilot.click("#probe")
        await settle(pilot)
        problem = field_problem(machine, "local.data_path")
        assert problem == f"data path {a_file} is a file, not a folder: give a folder that exists"


def a_closed_port() -> int:
    """Return a port on this machine that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@asynctest
async def test_a_refused_connection_points_to_the_port_field_not_a_flag(tmp_path: Path) -> None:
    session = SshSession(timeouts=Timeouts(connect=5.0, banner=5.0, auth=5.0), ssh_dir=tmp_path)
    async with wizard(session_factory=lambda: session).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        machine = await connect_on_screen(pilot, "127.0.0.1", a_closed_port(), "root")
        await settle(pilot)
        problem = field_problem(machine, "remote.host")
        assert problem is not None
        assert "refused the connection" in problem
        assert "check the Port and that sshd runs on the server" in problem
        assert "--port" not in problem
