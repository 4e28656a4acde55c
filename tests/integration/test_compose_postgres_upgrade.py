"""A cluster an older compose bundle made gets a fresh cluster's roles, on a real PostgreSQL.

Older bundles set POSTGRES_USER to the homeserver's role, so the image's initdb made that role
the cluster's first (bootstrap) superuser. Each test plays such a cluster with the real
PostgreSQL programs: initdb as that role with the bundle's POSTGRES_INITDB_ARGS, the password
the image's --pwfile gives it, the database POSTGRES_DB named, and objects the homeserver makes
in it. Then it asks apply.sh's ROLES_QUERY as apply.sh does and pipes the bundle's
postgres/upgrade-roles.sql to psql over the socket, as the first superuser, with
POSTGRES_PASSWORD in the environment as the container has it.

PostgreSQL 16, the image's version, refuses to take SUPERUSER from the first superuser, so the
tests check that role is renamed postgres (it keeps OID 10), whatever version runs here. Not
played: the container, `docker compose exec` and the image's entrypoint; the apply.sh side is
tested with stand-ins in test_compose_apply_roles.py.
"""

import shlex
from collections.abc import Iterator
from subprocess import CompletedProcess

import pytest

from tests.bundle_support import FIXED_SECRETS, answers_for
from tests.integration.postgres_server import PostgresServer, start_postgres
from wizard.bundle import compose, postgres
from wizard.bundle.context import RenderContext
from wizard.bundle.render import render

pytestmark = pytest.mark.integration

INITDB_OPTIONS = tuple(shlex.split(compose.POSTGRES_INITDB_ARGS))
CONTAINER_ENVIRONMENT = {
    postgres.SUPERUSER_PASSWORD_VARIABLE: FIXED_SECRETS.postgres_superuser_password
}
# What a homeserver makes in its database: tables with serial and identity columns, a free
# sequence, a view, a function, types, a partitioned table, and a schema of its own.
HOMESERVER_OBJECTS = """
CREATE TABLE events (stream_ordering serial PRIMARY KEY, event_id text UNIQUE);
CREATE TABLE event_txn_id (id bigint GENERATED ALWAYS AS IDENTITY, txn_id text);
CREATE SEQUENCE receipts_sequence;
CREATE VIEW recent_events AS SELECT * FROM events;
CREATE FUNCTION check_event(text) RETURNS boolean LANGUAGE sql AS 'SELECT $1 IS NOT NULL';
CREATE TYPE membership AS ENUM ('join', 'leave');
CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
CREATE TABLE partitioned (k int) PARTITION BY RANGE (k);
CREATE TABLE partitioned_low PARTITION OF partitioned FOR VALUES FROM (0) TO (10);
CREATE SCHEMA extra;
CREATE TABLE extra.kept (id int);
INSERT INTO events (event_id) VALUES ('$first');
"""
# Every role with its attributes and password, and the owner of every object made after initdb.
STATE_QUERIES = (
    "SELECT oid, rolname, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, "
    "rolcanlogin, rolpassword FROM pg_authid ORDER BY oid",
    "SELECT 'class', oid::regclass::text, relowner FROM pg_class WHERE oid >= 16384 "
    "UNION ALL SELECT 'routine', oid::regprocedure::text, proowner FROM pg_proc "
    "WHERE oid >= 16384 "
    "UNION ALL SELECT 'type', oid::regtype::text, typowner FROM pg_type WHERE oid >= 16384 "
    "UNION ALL SELECT 'schema', nspname, nspowner FROM pg_namespace "
    "WHERE oid >= 16384 AND nspname NOT LIKE 'pg\\_%' "
    "UNION ALL SELECT 'database', datname, datdba FROM pg_database ORDER BY 1, 2",
)


def _context() -> RenderContext:
    return RenderContext(
        answers=answers_for("synapse", database="postgresql"), facts=None, secrets=FIXED_SECRETS
    )


def _script(ctx: RenderContext) -> str:
    """Return the bundle's upgrade-roles.sql, the text apply.sh pipes to psql."""
    return render(ctx.answers, None, FIXED_SECRETS)[postgres.UPGRADE_ROLES_SQL].text


def _rows(server: PostgresServer, sql: str, user: str, database: str) -> list[str]:
    result = server.psql("-tA", "-c", sql, user=user, database=database)
    return result.stdout.splitlines()


def _roles_needed(server: PostgresServer, ctx: RenderContext) -> str:
    """Return apply.sh's ROLES_QUERY answer, asked as apply.sh asks it: as the homeserver's role."""
    database = ctx.answers.database
    result = server.psql(
        "-tA",
        "-F",
        " ",
        "-c",
        postgres.roles_query(ctx),
        user=database.user,
        database=database.name,
    )
    return result.stdout.strip()


def _first_superuser(server: PostgresServer, ctx: RenderContext) -> str:
    database = ctx.answers.database
    query = f"SELECT rolname FROM pg_roles WHERE oid = {postgres.BOOTSTRAP_ROLE_OID}"
    return _rows(server, query, database.user, database.name)[0]


def _state(server: PostgresServer, ctx: RenderContext) -> list[str]:
    superuser, name = _first_superuser(server, ctx), ctx.answers.database.name
    return [row for query in STATE_QUERIES for row in _rows(server, query, superuser, name)]


def _upgrade(server: PostgresServer, ctx: RenderContext) -> CompletedProcess[str]:
    """Pipe upgrade-roles.sql to psql as apply.sh does: as the first superuser, over the socket."""
    return server.psql(
        "-q",
        "-f",
        "-",
        user=_first_superuser(server, ctx),
        database=ctx.answers.database.name,
        stdin=_script(ctx),
        environment=CONTAINER_ENVIRONMENT,
        check=False,
    )


def _older_cluster(ctx: RenderContext, *setup: str) -> Iterator[PostgresServer]:
    """Yield a cluster as an older bundle's image made it, with the homeserver's objects in it."""
    database = ctx.answers.database
    for server in start_postgres(superuser=database.user, initdb_options=INITDB_OPTIONS):
        password = postgres.sql_literal(FIXED_SECRETS.database_password)
        server.psql(
            "-c", f"ALTER ROLE {postgres.sql_identifier(database.user)} PASSWORD {password}"
        )
        server.psql("-c", f"CREATE DATABASE {postgres.sql_identifier(database.name)}")
        for sql in (HOMESERVER_OBJECTS, *setup):
            server.psql("-v", "ON_ERROR_STOP=1", "-c", sql, database=database.name)
        yield server


def _logs_in(server: PostgresServer, user: str, password: str, database: str) -> bool:
    result = server.psql(
        "-tA",
        "-c",
        "SELECT current_user",
        user=user,
        database=database,
        password=password,
        over_tcp=True,
        check=False,
    )
    return result.returncode == 0 and result.stdout.strip() == user


@pytest.fixture(name="handed_over", scope="module")
def handed_over_fixture() -> Iterator[tuple[RenderContext, PostgresServer, str, str]]:
    """Yield an older cluster after one upgrade, with the query's answer before and the output."""
    ctx = _context()
    for server in _older_cluster(ctx):
        needed = _roles_needed(server, ctx)
        done = _upgrade(server, ctx)
        assert done.returncode == 0, done.stderr
        yield ctx, server, needed, done.stdout


def test_the_query_names_the_first_superuser_to_hand_over(
    handed_over: tuple[RenderContext, PostgresServer, str, str],
) -> None:
    ctx, _, needed, _ = handed_over
    assert needed == f"{ctx.answers.database.user} t"


def test_postgres_is_the_first_superuser_and_logs_in_with_the_env_password(
    handed_over: tuple[RenderContext, PostgresServer, str, str],
) -> None:
    _, server, _, _ = handed_over
    query = "SELECT oid, rolsuper, rolcanlogin FROM pg_roles WHERE rolname = 'postgres'"
    assert _rows(server, query, "postgres", "postgres") == ["10|t|t"]
    password = FIXED_SECRETS.postgres_superuser_password
    assert _logs_in(server, "postgres", password, "postgres")
    assert not _logs_in(server, "postgres", FIXED_SECRETS.database_password, "postgres")
    assert _rows(
        server,
        f"SELECT count(*) FROM pg_roles WHERE rolname = '{postgres.SWAP_ROLE}'",
        "postgres",
        "postgres",
    ) == ["0"]


def test_the_homeserver_role_is_plain_logs_in_and_owns_its_database_and_objects(
    handed_over: tuple[RenderContext, PostgresServer, str, str],
) -> None:
    ctx, server, _, _ = handed_over
    user, name = ctx.answers.database.user, ctx.answers.database.name
    attributes = _rows(
        server,
        "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolcanlogin "
        f"FROM pg_roles WHERE rolname = '{user}'",
        "postgres",
        name,
    )
    assert attributes == ["f|f|f|f|f|t"]
    assert _rows(
        server,
        f"SELECT datdba::regrole FROM pg_database WHERE datname = '{name}'",
        "postgres",
        name,
    ) == [user]
    left = _rows(server, STATE_QUERIES[1], "postgres", name)
    assert [row for row in left if row.endswith("|10") and not row.startswith("database")] == []
    assert _logs_in(server, user, FIXED_SECRETS.database_password, name)
    work = server.psql(
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
        "INSERT INTO events (event_id) VALUES ('$second'); "
        "INSERT INTO event_txn_id (txn_id) VALUES ('t'); SELECT nextval('receipts_sequence'); "
        "ALTER TABLE events ADD COLUMN sender text; CREATE TABLE new_table (id int); "
        "INSERT INTO partitioned VALUES (1); INSERT INTO extra.kept VALUES (1);",
        user=user,
        database=name,
        password=FIXED_SECRETS.database_password,
        over_tcp=True,
        check=False,
    )
    assert work.returncode == 0, work.stderr


def test_it_says_what_it_did(handed_over: tuple[RenderContext, PostgresServer, str, str]) -> None:
    ctx, _, _, output = handed_over
    user = ctx.answers.database.user
    assert f"    {user} is the cluster's first superuser, as an older bundle made it" in output
    assert f"renaming it postgres, with the password of {postgres.ENV_FILE}" in output


def test_running_it_again_changes_nothing(
    handed_over: tuple[RenderContext, PostgresServer, str, str],
) -> None:
    ctx, server, _, _ = handed_over
    assert _roles_needed(server, ctx) == ""
    before = _state(server, ctx)
    again = _upgrade(server, ctx)
    assert again.returncode == 0, again.stderr
    assert again.stdout == ""
    assert _state(server, ctx) == before


def test_a_fresh_cluster_is_left_untouched() -> None:
    ctx = _context()
    for server in start_postgres(initdb_options=INITDB_OPTIONS):
        server.psql("-v", "ON_ERROR_STOP=1", "-f", "-", stdin=postgres.init_sql(ctx))
        assert _roles_needed(server, ctx) == ""
        before = _state(server, ctx)
        done = _upgrade(server, ctx)
        assert done.returncode == 0, done.stderr
        assert done.stdout == ""
        assert _state(server, ctx) == before


def test_a_failure_part_way_leaves_the_first_superuser_as_it_was() -> None:
    """An event trigger refuses the first ALTER TABLE, after the rename: all is rolled back."""
    ctx = _context()
    refuse = (
        "CREATE FUNCTION refuse() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF tg_tag = 'ALTER TABLE' THEN RAISE EXCEPTION 'refused here'; END IF; END $$; "
        "CREATE EVENT TRIGGER refuse ON ddl_command_start EXECUTE FUNCTION refuse();"
    )
    for server in _older_cluster(ctx, refuse):
        user, name = ctx.answers.database.user, ctx.answers.database.name
        before = _state(server, ctx)
        done = _upgrade(server, ctx)
        assert done.returncode != 0
        assert "refused here" in done.stderr
        assert _state(server, ctx) == before
        assert _first_superuser(server, ctx) == user
        assert _logs_in(server, user, FIXED_SECRETS.database_password, name)


def test_a_role_named_postgres_beside_the_first_superuser_stops_it_with_the_fix() -> None:
    ctx = _context()
    for server in _older_cluster(ctx):
        server.psql("-c", "CREATE ROLE postgres")
        user = ctx.answers.database.user
        assert _roles_needed(server, ctx) == f"{user} f"
        before = _state(server, ctx)
        done = _upgrade(server, ctx)
        assert done.returncode != 0
        assert "rename or drop that other role postgres" in done.stderr
        assert _state(server, ctx) == before


def test_a_privileged_role_beside_another_first_superuser_is_made_plain() -> None:
    """With another first superuser, postgres is created if missing and the role made plain."""
    ctx = _context()
    user, name = ctx.answers.database.user, ctx.answers.database.name
    for server in start_postgres(superuser="admin", initdb_options=INITDB_OPTIONS):
        server.psql("-v", "ON_ERROR_STOP=1", "-f", "-", stdin=postgres.init_sql(ctx))
        server.psql("-c", f"ALTER ROLE {user} SUPERUSER CREATEDB CREATEROLE")
        assert _roles_needed(server, ctx) == "admin f"
        done = _upgrade(server, ctx)
        assert done.returncode == 0, done.stderr
        assert "creating the superuser postgres" in done.stdout
        assert f"taking SUPERUSER, CREATEDB, CREATEROLE, REPLICATION and BYPASSRLS from {user}" in (
            done.stdout
        )
        query = (
            "SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolcanlogin FROM pg_roles "
            f"WHERE rolname IN ('postgres', '{user}') ORDER BY rolsuper"
        )
        assert _rows(server, query, "admin", name) == [f"{user}|f|f|f|t", "postgres|t|t|t|t"]
        assert _logs_in(server, "postgres", FIXED_SECRETS.postgres_superuser_password, name)
        assert _logs_in(server, user, FIXED_SECRETS.database_password, name)
        assert _roles_needed(server, ctx) == ""
