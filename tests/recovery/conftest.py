"""Fixtures of the recovery tests: PostgreSQL, and the measured time and disk of each restore."""

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.postgres_server import postgres_server_fixture

__all__ = ["postgres_server_fixture"]

MEASURES_FILE = "recovery-timings.json"


@pytest.fixture(scope="session")
def recovery_timings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[dict[str, Any]]]:
    """Collect each run's backup and restore time and disk; at the end print and write them."""
    runs: list[dict[str, Any]] = []
    yield runs
    if not runs:
        return
    path = tmp_path_factory.getbasetemp() / MEASURES_FILE
    path.write_text(json.dumps(runs, indent=2) + "\n", "utf-8")
    print(f"\nbackup and restore, time and disk (also in {path}):")
    for run in runs:
        print(
            f"  {run['run']}: backup {run['backup_seconds']:.2f} s, {run['backup_bytes']} bytes; "
            f"restore {run['restore_seconds']:.2f} s (again {run['second_restore_seconds']:.2f} s)"
        )
