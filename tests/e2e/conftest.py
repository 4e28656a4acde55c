"""Fixtures of the end-to-end tests: PostgreSQL."""

from tests.integration.postgres_server import postgres_server_fixture

__all__ = ["postgres_server_fixture"]
