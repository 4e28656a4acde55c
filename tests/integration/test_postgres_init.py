"""The rendered PostgreSQL files against a real PostgreSQL server on loopback."""

import subprocess
from typing import Any

import pytest

from tests.bundle_support import FIXED_SECRETS, answers_for, facts_with
from tests.integration.postgres_server import (
    PostgresServer,
    as_postgres_user,
    postgres_server_fixture,  # noqa: F401  (registers the fixture)
)
from wizard.bundle import postgres
from wizard.bundle.context import RenderContext
from wizard.units import GIB

pytestmark = pytest.mark.integration

# Bytes in one of each unit PostgreSQL reports in pg_settings.
_UNIT_BYTES = {"8kB": 8192, "kB": 1024, "MB": 1024**2}


def _context(
    name: str, password: str = "s3cret", homeserver: str = "synapse", **sets: Any
) -> RenderContext:
    answers = answers_for(
        homeserver,
        database="postgresql",
        database__name=name,
        database__user=f"{name}_owner",
        deployment__kind="native",
        **sets,
    )
    secrets = FIXED_SECRETS.model_copy(update={"database_password": password})
    return RenderContext(answers=answers, facts=facts_with(ram_gib=8), secrets=secrets)


def _run_init(server: PostgresServer, ctx: RenderContext, check: bool = True) -> str:
    script = server.root / f"init-{ctx.answers.database.name}.sql"
    script.write_text(postgres.init_sql(ctx), encoding="utf-8")
    result = server.psql("--quiet", "--file", str(script), check=check)
    return result.stderr


def _can_log_in(server: PostgresServer, ctx: RenderContext, password: str) -> bool:
    database = ctx.answers.database
    result = server.psql(
        "--tuples-only",
        "-c",
        "SELECT current_user",
        user=database.user,
        database=database.name,
        password=password,
        over_tcp=True,
        check=False,
    )
    return result.returncode == 0 and result.stdout.strip() == database.user


def test_init_creates_a_utf8_c_database_and_runs_again(postgres_server: PostgresServer) -> None:
    ctx = _context("synapse_twice")
    _run_init(postgres_server, ctx)
    _run_init(postgres_server, ctx)

    assert postgres_server.query(postgres.collation_check_query(ctx)) == [["C", "C"]]
    encoding_and_owner = postgres_server.query(
        "SELECT pg_encoding_to_char(encoding), pg_get_userbyid(datdba) "
        "FROM pg_database WHERE datname = 'synapse_twice'"
    )
    assert encoding_and_owner == [["UTF8", "synapse_twice_owner"]]
    assert _can_log_in(postgres_server, ctx, "s3cret")
    assert not _can_log_in(postgres_server, ctx, "not-the-password")


def test_a_password_with_quotes_and_dollars_is_stored_as_written(
    postgres_server: PostgresServer,
) -> None:
    password = 'it\'s a \\ back$$slash $check$ ;-- %s "q"'
    ctx = _context("synapse_quotes", password=password)
    _run_init(postgres_server, ctx)

    assert _can_log_in(postgres_server, ctx, password)


def test_running_again_with_a_new_password_updates_it(postgres_server: PostgresServer) -> None:
    _run_init(postgres_server, _context("synapse_rotate", password="first-password"))
    ctx = _context("synapse_rotate", password="second-password")
    _run_init(postgres_server, ctx)

    assert _can_log_in(postgres_server, ctx, "second-password")
    assert not _can_log_in(postgres_server, ctx, "first-password")


def test_a_reserved_word_as_names_works(postgres_server: PostgresServer) -> None:
    answers = answers_for(database="postgresql", database__name="user", database__user="select")
    ctx = RenderContext(answers=answers, facts=facts_with(), secrets=FIXED_SECRETS)
    _run_init(postgres_server, ctx)

    assert postgres_server.query(postgres.collation_check_query(ctx)) == [["C", "C"]]
    assert _can_log_in(postgres_server, ctx, FIXED_SECRETS.database_password)


def test_an_existing_database_with_the_wrong_collation_stops_synapse_init(
    postgres_server: PostgresServer,
) -> None:
    postgres_server.psql(
        "-c",
        "CREATE DATABASE wrong_locale ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' "
        "LC_CTYPE 'C.UTF-8' TEMPLATE template0",
    )

    stderr = _run_init(postgres_server, _context("wrong_locale"), check=False)

    assert "is not UTF8 with C collation and ctype" in stderr
    roles = postgres_server.query("SELECT 1 FROM pg_roles WHERE rolname = 'wrong_locale_owner'")
    assert roles == [], "the script stopped before creating anything"
    dendrite_ctx = _context("wrong_locale", homeserver="dendrite")
    _run_init(postgres_server, dendrite_ctx)
    assert _can_log_in(postgres_server, dendrite_ctx, "s3cret")


def _settings_as_postgres_reads_them(
    server: PostgresServer, names: list[str], extra_args: list[str]
) -> dict[str, int | str]:
    """Return each setting as PostgreSQL parses it with these arguments, sizes in bytes."""
    units = dict(
        (row[0], row[1])
        for row in server.query(
            "SELECT name, coalesce(unit, '') FROM pg_settings WHERE name = ANY(ARRAY["
            + ",".join(f"'{name}'" for name in names)
            + "])"
        )
    )
    values: dict[str, int | str] = {}
    for name in names:
        result = subprocess.run(
            [
                *as_postgres_user(),
                str(server.bin_dir / "postgres"),
                "-D",
                str(server.data_dir),
                *extra_args,
                "-C",
                name,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        raw = result.stdout.strip()
        unit = units[name]
        values[name] = int(raw) * _UNIT_BYTES[unit] if unit in _UNIT_BYTES else raw
    return values


def _expected(ctx: RenderContext) -> dict[str, int | str]:
    expected: dict[str, int | str] = {}
    for name, value in postgres.postgres_settings(ctx).items():
        expected[name] = int(value.removesuffix("MB")) * 1024**2 if value.endswith("MB") else value
    return expected


def test_postgresql_conf_is_accepted_by_the_real_server(postgres_server: PostgresServer) -> None:
    ctx = _context("conf_check", deployment__ports__postgres=6543)
    conf = postgres_server.root / "postgresql-from-bundle.conf"
    conf.write_text(postgres.postgresql_conf(ctx), encoding="utf-8")
    expected = _expected(ctx)

    parsed = _settings_as_postgres_reads_them(
        postgres_server, list(expected), ["-c", f"config_file={conf}"]
    )

    assert parsed == expected
    assert parsed["listen_addresses"] == "127.0.0.1"
    assert parsed["port"] == "6543"


def test_compose_command_is_accepted_by_the_real_server(postgres_server: PostgresServer) -> None:
    answers = answers_for(database="postgresql", deployment__kind="compose")
    ctx = RenderContext(answers=answers, facts=facts_with(ram_gib=16), secrets=FIXED_SECRETS)
    command = postgres.compose_command(ctx)
    expected = _expected(ctx)

    parsed = _settings_as_postgres_reads_them(postgres_server, list(expected), command[1:])

    assert command[0] == "postgres"
    assert parsed == expected
    assert parsed["listen_addresses"] == "*"
    assert int(parsed["shared_buffers"]) == 1 * GIB
