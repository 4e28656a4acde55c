"""Moving Synapse from SQLite to PostgreSQL in place: apply.sh's step, and what the move costs."""

from wizard.answers.model import DatabaseKind, Homeserver
from wizard.bundle import compose, layout, postgres, shell
from wizard.bundle.context import CONTAINER_DATA_DIR, POSTGRES_SERVICE, RenderContext

MOVE_FRAGMENT = "apply/move-to-postgresql.sh"
NATIVE_FRAGMENT = "apply/move-native.sh"
COMPOSE_FRAGMENT = "apply/move-compose.sh"
LEFT_BEHIND_FRAGMENT = "apply/sqlite-left-behind.sh"
SQLITE_FILE = "homeserver.db"
MOVE_FOLDER = "moved-to-postgresql"
PORT_PROGRAM = "synapse_port_db"
POSTGRES_DATA = "/var/lib/postgresql"
# PostgreSQL takes 25-100% more than the SQLite file (Synapse's docs/postgres.md), and files of
# its own besides whatever the size (a 2 MB SQLite file became a 16 MB database); the move holds
# one snapshot of the SQLite file besides.
POSTGRES_FACTOR = 2
POSTGRES_ALLOWANCE_MB = 64
SNAPSHOT_FACTOR = 1
# Milliseconds between PostgreSQL's background updates while the port prepares it.
PORT_SLEEP_MS = 10
# A table every Synapse database has: one in PostgreSQL means Synapse already lives there.
SYNAPSE_TABLES_QUERY = (
    "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
)
NOTHING_TO_MOVE = "move_to_postgresql() {\n    :\n}\n"
WHY_NO_MOVE = "with an external PostgreSQL"


def carries_move(ctx: RenderContext) -> bool:
    """Return whether apply.sh moves an SQLite database it finds into the bundled PostgreSQL."""
    return ctx.homeserver is Homeserver.SYNAPSE and ctx.uses_postgres and ctx.bundled_postgres


def sqlite_path(ctx: RenderContext) -> str:
    """Return the host path of the SQLite database a Synapse bundle on SQLite uses."""
    return f"{layout.service_dir(ctx, ctx.homeserver.value)}/{SQLITE_FILE}"


def move_dir(ctx: RenderContext) -> str:
    """Return the folder beside the data that holds the move's progress and the kept SQLite file."""
    return f"{layout.service_dir(ctx, ctx.homeserver.value)}/{MOVE_FOLDER}"


def kept_sqlite_path(ctx: RenderContext) -> str:
    """Return where the SQLite database is kept once its content is in PostgreSQL."""
    return f"{move_dir(ctx)}/{SQLITE_FILE}"


def move_step(ctx: RenderContext) -> str:
    """Return apply.sh's move_to_postgresql: the move, a refusal where none can be, or nothing."""
    if ctx.homeserver is not Homeserver.SYNAPSE or not ctx.uses_postgres:
        return NOTHING_TO_MOVE
    if not carries_move(ctx):
        values = {"sqlite": shell.quote(sqlite_path(ctx)), "why_no_move": shell.quote(WHY_NO_MOVE)}
        return shell.fragment(LEFT_BEHIND_FRAGMENT, values)
    values = {
        "sqlite": shell.quote(sqlite_path(ctx)),
        "move_dir": shell.quote(move_dir(ctx)),
        "move_owner": shell.quote(_port_user(ctx)),
        "port_program": PORT_PROGRAM,
        "port_config": shell.quote(
            f"{ctx.homeserver.value}/{compose.CONFIG_FILES[ctx.homeserver]}"
        ),
        "postgres_factor": str(POSTGRES_FACTOR),
        "postgres_allowance_kb": str(POSTGRES_ALLOWANCE_MB * 1024),
        "snapshot_factor": str(SNAPSHOT_FACTOR),
        "port_sleep_ms": str(PORT_SLEEP_MS),
        "synapse_tables_query": shell.quote(SYNAPSE_TABLES_QUERY),
    }
    return shell.fragment(MOVE_FRAGMENT, values) + "\n" + _deployment_part(ctx)


def _port_user(ctx: RenderContext) -> str:
    """Return who runs the port: the image's user under compose, root (-) natively."""
    return (layout.owner(ctx, ctx.homeserver.value) if ctx.compose else "") or "-"


def _deployment_part(ctx: RenderContext) -> str:
    """Return the move's functions that depend on how Synapse runs: natively or in containers."""
    if not ctx.compose:
        return shell.fragment(
            NATIVE_FRAGMENT, {"postgres_data": shell.quote(ctx.host_path(POSTGRES_DATA))}
        )
    values = {
        "postgres_data": shell.quote(layout.service_dir(ctx, POSTGRES_SERVICE)),
        "homeserver_data": shell.quote(layout.service_dir(ctx, ctx.homeserver.value)),
        "homeserver_data_in_container": shell.quote(CONTAINER_DATA_DIR),
    }
    return shell.fragment(COMPOSE_FRAGMENT, values)


def disk_needed(sqlite_bytes: int) -> int:
    """Return the free disk the move needs for an SQLite file of this size."""
    return sqlite_bytes * (POSTGRES_FACTOR + SNAPSHOT_FACTOR) + POSTGRES_ALLOWANCE_MB * 1024 * 1024


def move_cost(homeserver: Homeserver, kind: DatabaseKind) -> str | None:
    """Return what moving an existing SQLite database to PostgreSQL costs, where it applies."""
    if homeserver is not Homeserver.SYNAPSE or kind is not DatabaseKind.POSTGRESQL:
        return None
    factor = POSTGRES_FACTOR + SNAPSHOT_FACTOR
    return (
        f"apply.sh moves the data into PostgreSQL ({postgres.COLLATION} collation). It needs "
        f"free disk of {factor} x the SQLite file plus {POSTGRES_ALLOWANCE_MB} MB "
        f"(x{POSTGRES_FACTOR} and {POSTGRES_ALLOWANCE_MB} MB for PostgreSQL's copy, "
        f"x{SNAPSHOT_FACTOR} for a snapshot). Synapse is down for the final port, which copies "
        "only what changed since the snapshot (without containers also for a moment while the "
        f"snapshot is taken). The SQLite file is kept in {MOVE_FOLDER}/ beside the data."
    )


def readme_section(ctx: RenderContext) -> list[str]:
    """Return the README's section on coming from SQLite, for Synapse on PostgreSQL."""
    if ctx.homeserver is not Homeserver.SYNAPSE or not ctx.uses_postgres:
        return []
    heading = ["## Coming from SQLite", ""]
    if not carries_move(ctx):
        return [
            *heading,
            f"This bundle ({WHY_NO_MOVE}) does not move an earlier SQLite database: apply.sh stops "
            f"while `{sqlite_path(ctx)}` is there, rather than start Synapse on an empty "
            "database. Port it with `synapse_port_db` as Synapse's docs/postgres.md says and "
            "move the file away, or keep `database.kind: sqlite`.",
            "",
        ]
    cost = move_cost(Homeserver.SYNAPSE, DatabaseKind.POSTGRESQL)
    running = (
        " The Synapse container that runs serves from SQLite until the final port: do not "
        "restart it, or bring the stack up by hand, until apply.sh has finished, because it "
        "would start on the new config, on an empty PostgreSQL database."
        if ctx.compose
        else ""
    )
    return [
        *heading,
        f"When `{sqlite_path(ctx)}` is there from an earlier bundle on SQLite, before Synapse "
        f"starts on this config: {cost}{running} `apply.sh --dry-run` prints every step. Each "
        f"finished step is written to `{move_dir(ctx)}/state`: after a failure, run apply.sh "
        f"again and it goes on from there. Delete `{kept_sqlite_path(ctx)}` once the server "
        "has run well on PostgreSQL for a while.",
        "",
    ]
