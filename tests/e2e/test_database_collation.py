"""Negative proof: a database without C collation is caught before Synapse, which refuses it.

A person who creates the database by hand with the host's locale (LC_COLLATE 'C.UTF-8') gets a
database Synapse will not use. The bundle's README check step shows it before the first start,
the bundle's init.sql refuses it, and the bundle's own start of Synapse (its unit's command)
stops with Synapse's IncorrectDatabaseSetup message.
"""

import subprocess
from pathlib import Path

import pytest

from tests.e2e.support import (
    Timings,
    answers_for_run,
    readme_check_output,
    require_root,
    run_init_sql,
    stage,
)
from tests.integration.postgres_server import PostgresServer
from wizard.bundle import apply_script, postgres

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DATABASE = "e2e_wrong_collation"
WRONG_LOCALE = "C.UTF-8"


def test_a_database_without_c_collation_is_caught_and_refused(
    tmp_path: Path, request: pytest.FixtureRequest, e2e_timings: list[Timings]
) -> None:
    require_root()
    timings = Timings("synapse-postgresql, database created with C.UTF-8 collation")
    e2e_timings.append(timings)
    with timings.step("PostgreSQL ready (shared by the session)"):
        postgres_server: PostgresServer = request.getfixturevalue("postgres_server")
    with timings.step("generate, certificate, apply.sh under the prefix"):
        answers = answers_for_run("nginx", "postgresql", False, postgres_server.port, DATABASE)
        staged = stage(tmp_path, answers)
    ctx = staged.ctx
    password = postgres.sql_literal(ctx.secrets.database_password)
    with timings.step("role and database made by hand with the wrong collation"):
        postgres_server.psql("-c", f"CREATE ROLE {DATABASE} LOGIN PASSWORD {password}")
        postgres_server.psql(
            "-c",
            f"CREATE DATABASE {DATABASE} OWNER {DATABASE} ENCODING 'UTF8' "
            f"LC_COLLATE '{WRONG_LOCALE}' LC_CTYPE '{WRONG_LOCALE}' TEMPLATE template0",
        )

    with timings.step("the README's check step shows it"):
        shown = readme_check_output(staged, postgres_server)
    assert shown == f"UTF8|{WRONG_LOCALE}|{WRONG_LOCALE}"
    assert shown != apply_script.expected_database_locale(ctx)

    with timings.step("the bundle's init.sql refuses it"):
        refused = run_init_sql(staged, postgres_server)
    assert refused.returncode != 0
    assert f"database {DATABASE} exists but is not UTF8 with C collation" in refused.stderr

    with timings.step("the bundle's start of Synapse fails with Synapse's message"):
        unit = staged.unit("matrix-synapse")
        started = subprocess.run(
            unit.argv,
            env={"PATH": "/usr/bin:/bin", **unit.env},
            cwd=unit.cwd,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    output = started.stdout + started.stderr
    assert started.returncode != 0, output
    assert "IncorrectDatabaseSetup" in output
    assert f"Database has incorrect collation of '{WRONG_LOCALE}'. Should be 'C'" in output
    timings.finish()
