"""capture.sh records everything the probe reads: its snapshot gives the same facts as live."""

import os
import subprocess
from pathlib import Path

from tests.conftest import FIXTURES, ROOT
from wizard.probe.assemble import facts_from_snapshot
from wizard.probe.facts import HostFacts
from wizard.probe.local import LiveSnapshot
from wizard.probe.snapshot import PROGRAMS, ProbeSnapshot, df_command

CAPTURE = FIXTURES / "hosts" / "capture.sh"
# Figures that move between two reads, and the sizes the local probe takes from psutil.
VOLATILE_UNKNOWN = {"disk.total", "disk.free"}


def _capture(folder: Path, data_path: str) -> ProbeSnapshot:
    subprocess.run(["sh", str(CAPTURE), str(folder), data_path], check=True, timeout=60)
    return ProbeSnapshot.from_folder(folder)


def _stable(facts: HostFacts) -> dict[str, object]:
    dumped = facts.model_dump()
    dumped["memory"].pop("available")
    dumped["disk"].pop("total")
    dumped["disk"].pop("free")
    dumped["unknown"] = {
        fact: reason for fact, reason in dumped["unknown"].items() if fact not in VOLATILE_UNKNOWN
    }
    dumped.pop("ports_in_use")
    return dumped


def test_a_capture_of_this_machine_gives_the_facts_of_the_live_probe(tmp_path: Path) -> None:
    data_path = os.path.realpath("/var/lib" if os.path.isdir("/var/lib") else "/")
    snapshot = _capture(tmp_path / "snapshot", data_path)
    live = LiveSnapshot()
    assert _stable(facts_from_snapshot(snapshot, data_path)) == _stable(
        facts_from_snapshot(live, data_path)
    )
    missing = sorted(
        path for path in live.asked if os.path.lexists(path) and not snapshot.exists(path)
    )
    assert missing == []
    assert snapshot.command(df_command(data_path))


def test_the_capture_asks_for_every_program_the_probe_knows() -> None:
    script = (ROOT / "assets" / "probe.sh").read_text(encoding="utf-8")
    for program in PROGRAMS:
        assert f" {program}" in script.split("for program in ", 1)[1].split(";", 1)[0], program


def test_the_capture_refuses_a_missing_data_path(tmp_path: Path) -> None:
    done = subprocess.run(
        ["sh", str(CAPTURE), str(tmp_path / "out"), str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "is not a folder" in done.stderr
