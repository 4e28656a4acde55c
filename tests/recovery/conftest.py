"""Fixtures of the recovery tests: PostgreSQL, and the measured time and disk of each restore."""

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.integration.postgres_server import postgres_server_fixture

__all__ = ["postgres_server_fixture"]

MEASURES_FILE = "recovery-timings.json"
Measure = dict[str, Any]


def kept_measures(
    factory: pytest.TempPathFactory, file_name: str, title: str, line: Callable[[Measure], str]
) -> Iterator[list[Measure]]:
    """Collect measures while the tests run; at the end print them a line each and write them."""
    runs: list[Measure] = []
    yield runs
    if not runs:
        return
    path = factory.getbasetemp() / file_name
    path.write_text(json.dumps(runs, indent=2) + "\n", "utf-8")
    print(f"\n{title} (also in {path}):")
    for run in runs:
        print(f"  {run['run']}: {line(run)}")


@pytest.fixture(scope="session")
def recovery_timings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Measure]]:
    """Collect each run's backup and restore time and disk; at the end print and write them."""
    yield from kept_measures(
        tmp_path_factory,
        MEASURES_FILE,
        "backup and restore, time and disk",
        lambda run: (
            f"backup {run['backup_seconds']:.2f} s, {run['backup_bytes']} bytes; "
            f"restore {run['restore_seconds']:.2f} s (again {run['second_restore_seconds']:.2f} s)"
        ),
    )
