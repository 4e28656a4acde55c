"""Fixtures of the end-to-end tests: PostgreSQL and Dendrite's build."""

from pathlib import Path

import pytest

from tests.conftest import require_program
from tests.e2e import dendrite_build
from tests.integration.postgres_server import postgres_server_fixture

__all__ = ["postgres_server_fixture"]


@pytest.fixture(scope="session")
def dendrite_programs() -> Path:
    """Return the folder of Dendrite's programs, built once per machine with the machine's Go."""
    go = dendrite_build.find_go() or require_program("go")  # skips, or fails under CI
    return dendrite_build.build(go)
