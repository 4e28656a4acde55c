"""Fixtures of the federation tests: the compose tests' engine and the run timings."""

from tests.compose.conftest import engine
from tests.e2e.conftest import e2e_timings

__all__ = ["e2e_timings", "engine"]
