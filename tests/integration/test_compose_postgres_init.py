"""The compose PostgreSQL's first start, played as the official entrypoint does it, for real.

The postgres image cannot be pulled here, so this test plays its documented entrypoint
(docker-library/postgres docker-entrypoint.sh, "Initialization scripts" on the image's page)
with the real PostgreSQL programs: initdb as POSTGRES_USER with POSTGRES_INITDB_ARGS, the
database POSTGRES_DB when it is not "postgres", then every *.sql of /docker-entrypoint-initdb.d
run by psql as POSTGRES_USER with ON_ERROR_STOP, no psqlrc and no password. It covers what the
bundle's docker-compose.yml sets in that contract; the image's own pg_hba.conf and its gosu
switch are not played.
"""

import shlex
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.bundle_support import FIXED_SECRETS, answers_for, facts_with
from tests.integration.postgres_server import PostgresServer, start_postgres
from wizard.bundle import compose, postgres
from wizard.bundle.context import RenderContext

pytestmark = pytest.mark.integration


def _context() -> RenderContext:
    answers = answers_for(
        "synapse", database="postgresql", database__name="matrix", database__user="matrix_owner"
    )
    return RenderContext(answers=answers, facts=facts_with(ram_gib=8), secrets=FIXED_SECRETS)


def _postgres_service(ctx: RenderContext) -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load(compose.render(ctx)[compose.COMPOSE_FILE].text)[
        "services"
    ]
    service: dict[str, Any] = services["postgres"]
    return service


@pytest.fixture(name="first_start", scope="module")
def first_start_fixture() -> Iterator[tuple[RenderContext, PostgresServer]]:
    """Yield a cluster initialised from the compose service's environment, init.sql run on it."""
    ctx = _context()
    environment = _postgres_service(ctx)["environment"]
    superuser = environment.get("POSTGRES_USER", "postgres")
    options = tuple(shlex.split(environment.get("POSTGRES_INITDB_ARGS", "")))
    for server in start_postgres(superuser=superuser, initdb_options=options):
        database = environment.get("POSTGRES_DB", superuser)
        if database != "postgres":
            server.psql("-c", f'CREATE DATABASE "{database}"')
        script = server.root / "init.sql"
        script.write_text(postgres.init_sql(ctx), encoding="utf-8")
        server.psql("-v", "ON_ERROR_STOP=1", "--file", str(script), database=database)
        yield ctx, server


def test_the_init_script_is_mounted_read_only_where_the_entrypoint_runs_it() -> None:
    volumes = _postgres_service(_context())["volumes"]
    assert any(volume.endswith(f":{compose.POSTGRES_INIT_SCRIPT}:ro") for volume in volumes)
    assert compose.POSTGRES_INIT_SCRIPT.startswith("/docker-entrypoint-initdb.d/")


def test_the_homeserver_role_is_no_superuser(
    first_start: tuple[RenderContext, PostgresServer],
) -> None:
    ctx, server = first_start
    rows = server.query(
        "SELECT rolsuper, rolcreaterole, rolcreatedb, rolcanlogin FROM pg_roles "
        f"WHERE rolname = '{ctx.answers.database.user}'"
    )
    assert rows == [["f", "f", "f", "t"]]


def test_the_homeserver_role_logs_in_and_owns_a_utf8_c_database(
    first_start: tuple[RenderContext, PostgresServer],
) -> None:
    ctx, server = first_start
    database = ctx.answers.database
    result = server.psql(
        "--tuples-only",
        "--no-align",
        "-c",
        "SELECT current_user, pg_get_userbyid(datdba), pg_encoding_to_char(encoding), "
        "datcollate, datctype FROM pg_database WHERE datname = current_database()",
        user=database.user,
        database=database.name,
        password=FIXED_SECRETS.database_password,
        over_tcp=True,
    )
    assert result.stdout.strip() == f"{database.user}|{database.user}|UTF8|C|C"
    created = server.psql(
        "-c",
        "CREATE TABLE owned_here (id int)",
        user=database.user,
        database=database.name,
        password=FIXED_SECRETS.database_password,
        over_tcp=True,
        check=False,
    )
    assert created.returncode == 0, created.stderr


def test_the_superuser_password_is_not_the_homeserver_password() -> None:
    env = compose.render(_context())[compose.POSTGRES_ENV].text
    assert env == f"POSTGRES_PASSWORD={FIXED_SECRETS.postgres_superuser_password}\n"
    assert FIXED_SECRETS.postgres_superuser_password != FIXED_SECRETS.database_password
