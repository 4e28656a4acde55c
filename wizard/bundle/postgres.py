"""PostgreSQL: a re-runnable init script for the homeserver's role and database, and tuning."""

from wizard.answers.model import Homeserver
from wizard.bundle.context import RenderContext
from wizard.bundle.model import PRIVATE, PUBLIC, Bundle, File
from wizard.bundle.tuning import tuning
from wizard.errors import WizardError
from wizard.units import MIB

INIT_SQL = "postgres/init.sql"
POSTGRESQL_CONF = "postgres/postgresql.conf"

# The homeserver's role as a fresh cluster has it: it logs in and owns its database, no more.
PLAIN_ROLE = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"

# Synapse refuses a database that is not UTF8 with C collation and ctype (facts 1.3).
ENCODING = "UTF8"
COLLATION = "C"
# /dev/shm of the PostgreSQL container, in MiB.
SHM_MIN_MB = 256
SHM_MAX_MB = 1024


def sql_literal(text: str) -> str:
    """Return text as a standard SQL string literal, quotes doubled."""
    if "\0" in text:
        raise WizardError(
            "a database value holds a NUL character, which PostgreSQL cannot store",
            "remove it from the answers or secrets file",
        )
    return "'" + text.replace("'", "''") + "'"


def sql_identifier(name: str) -> str:
    """Return a name as a quoted SQL identifier, so reserved words such as user work too."""
    if "\0" in name:
        raise WizardError(
            "a database name holds a NUL character", "use letters, digits and underscores"
        )
    return '"' + name.replace('"', '""') + '"'


def postgres_settings(ctx: RenderContext) -> dict[str, str]:
    """Return the server settings of the bundled PostgreSQL, tuned for the machine."""
    tuned = tuning(ctx)
    return {
        # In compose the container network is private and the port is never published.
        "listen_addresses": "*" if ctx.compose else "127.0.0.1",
        "port": str(ctx.ports.postgres),
        "max_connections": str(tuned.max_connections),
        "shared_buffers": f"{tuned.shared_buffers_mb}MB",
        "effective_cache_size": f"{tuned.effective_cache_size_mb}MB",
        "work_mem": f"{tuned.work_mem_mb}MB",
        "maintenance_work_mem": f"{tuned.maintenance_work_mem_mb}MB",
        "max_wal_size": f"{tuned.max_wal_size_mb}MB",
        "password_encryption": "scram-sha-256",
    }


def shm_size_mb(ctx: RenderContext) -> int:
    """Return the container's /dev/shm in MiB: a quarter of PostgreSQL's RAM, 256 to 1024."""
    # Docker's default of 64 MiB is too small for the shared memory of parallel queries.
    share = tuning(ctx).postgres_ram // 4 // MIB
    return max(SHM_MIN_MB, min(SHM_MAX_MB, share))


def compose_command(ctx: RenderContext) -> list[str]:
    """Return the postgres container's command: the server with every setting as `-c key=value`."""
    command = ["postgres"]
    for key, value in postgres_settings(ctx).items():
        command += ["-c", f"{key}={value}"]
    return command


def postgresql_conf(ctx: RenderContext) -> str:
    """Return postgresql.conf lines for the tuned settings, for conf.d or a mounted config."""
    tuned = tuning(ctx)
    lines = [
        "# PostgreSQL settings written by matrix-wizard for the homeserver beside it:",
        f"# {tuned.postgres_ram // MIB} MiB of the host's {tuned.ram // MIB} MiB RAM "
        "are PostgreSQL's share.",
    ]
    for key, value in postgres_settings(ctx).items():
        lines.append(f"{key} = {sql_literal(value)}")
    return "\n".join(lines) + "\n"


def collation_check_query(ctx: RenderContext) -> str:
    """Return the query whose answer must be `C | C`: the database's collation and ctype."""
    name = sql_literal(ctx.answers.database.name)
    return f"SELECT datcollate, datctype FROM pg_database WHERE datname = {name};"


def _wrong_setup_check(ctx: RenderContext) -> str:
    """Return a DO block that stops the script when an existing database has the wrong setup."""
    database = ctx.answers.database.name
    wrong = f"pg_encoding_to_char(encoding) <> {sql_literal(ENCODING)}"
    needs = ENCODING
    if ctx.homeserver is Homeserver.SYNAPSE:
        wrong += (
            f" OR datcollate <> {sql_literal(COLLATION)} OR datctype <> {sql_literal(COLLATION)}"
        )
        needs += f" with {COLLATION} collation and ctype"
    message = (
        f"database {database} exists but is not {needs}, which {ctx.homeserver.value} needs: "
        "dump it, drop it and run this script again"
    )
    return (
        "DO $check$\n"
        "BEGIN\n"
        "  IF EXISTS (SELECT FROM pg_database\n"
        f"             WHERE datname = {sql_literal(database)} AND ({wrong})) THEN\n"
        f"    RAISE EXCEPTION {sql_literal(message)};\n"
        "  END IF;\n"
        "END\n"
        "$check$;\n"
    )


def _create_role(ctx: RenderContext) -> str:
    """Return the psql lines that create the homeserver's role when it is missing."""
    user = ctx.answers.database.user
    return (
        f"SELECT {sql_literal(f'CREATE ROLE {sql_identifier(user)}')}\n"
        f"  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {sql_literal(user)})"
        "\\gexec\n"
    )


def _plain_role(ctx: RenderContext, password: str = "") -> str:
    """Return the ALTER ROLE that makes the homeserver's role plain, with a password if given."""
    role = sql_identifier(ctx.answers.database.user)
    return f"ALTER ROLE {role} WITH {PLAIN_ROLE}{f' PASSWORD {password}' if password else ''};\n"


def _database_owner(ctx: RenderContext) -> str:
    """Return the statement that hands the homeserver's database to its role."""
    database = ctx.answers.database
    name, role = sql_identifier(database.name), sql_identifier(database.user)
    return f"ALTER DATABASE {name} OWNER TO {role};\n"


def init_sql(ctx: RenderContext) -> str:
    """Return a psql script that creates the role and database, and can run again safely."""
    database = ctx.answers.database
    role = sql_identifier(database.user)
    name = sql_identifier(database.name)
    create_database = (
        f"CREATE DATABASE {name} WITH OWNER {role} ENCODING {sql_literal(ENCODING)} "
        f"LC_COLLATE {sql_literal(COLLATION)} LC_CTYPE {sql_literal(COLLATION)} "
        "TEMPLATE template0"
    )
    return (
        f"-- The {ctx.homeserver.value} role and database, written by matrix-wizard.\n"
        "-- Run as a superuser with psql; running it again changes nothing but the password.\n"
        "\\set ON_ERROR_STOP on\n"
        + _wrong_setup_check(ctx)
        + _create_role(ctx)
        + _plain_role(ctx, sql_literal(ctx.secrets.database_password))
        + f"SELECT {sql_literal(create_database)}\n"
        f"  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = {sql_literal(database.name)})"
        "\\gexec\n" + _database_owner(ctx)
    )


def render(ctx: RenderContext) -> Bundle:
    """Return the init script whenever PostgreSQL is used, and its settings when it is bundled."""
    if not ctx.uses_postgres:
        return {}
    files: Bundle = {INIT_SQL: File(init_sql(ctx), PRIVATE)}
    if ctx.bundled_postgres:
        files[POSTGRESQL_CONF] = File(postgresql_conf(ctx), PUBLIC)
    return files
