"""Fixtures of the compose tests: one container engine for the session, and the run timings."""

from collections.abc import Iterator

import pytest

from tests.compose.engine import Engine, running_engine
from tests.e2e.conftest import e2e_timings

__all__ = ["e2e_timings"]


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """Start podman's API service once for the session and stop it at the end."""
    with running_engine(tmp_path_factory.mktemp("engine")) as started:
        yield started
