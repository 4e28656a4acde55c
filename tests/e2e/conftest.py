"""Fixtures of the end-to-end tests: PostgreSQL, Dendrite's build, and every run's timings."""

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_program
from tests.e2e import dendrite_build
from tests.e2e.support import Timings
from tests.integration.postgres_server import postgres_server_fixture

__all__ = ["postgres_server_fixture"]

TIMINGS_FILE = "e2e-timings.json"


@pytest.fixture(scope="session")
def e2e_timings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Timings]]:
    """Collect each run's step times; at the end print them and write them as JSON."""
    runs: list[Timings] = []
    started = time.monotonic()
    yield runs
    if not runs:
        return
    total = round(time.monotonic() - started, 3)
    report = [run.as_json() for run in runs]
    path = tmp_path_factory.getbasetemp() / TIMINGS_FILE
    path.write_text(json.dumps({"total": total, "runs": report}, indent=2) + "\n", "utf-8")
    print(f"\nend-to-end timings, {total:.2f} s in all (also in {path}):")
    for run in report:
        print(f"  {run['run']}: {run['total']:.2f} s")
        for step, seconds in run["steps"].items():
            print(f"    {seconds:7.2f} s  {step}")


@pytest.fixture(scope="session")
def dendrite_programs() -> Path:
    """Return the folder of Dendrite's programs, built once per machine with the machine's Go."""
    go = dendrite_build.find_go() or require_program("go")  # skips, or fails under CI
    return dendrite_build.build(go)
