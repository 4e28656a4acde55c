"""PostgreSQL: re-runnable scripts for the homeserver's role and database, and tuning."""

from wizard.answers.model import Homeserver
from wizard.bundle import mas
from wizard.bundle.context import RenderContext
from wizard.bundle.model import PRIVATE, PUBLIC, Bundle, File
from wizard.bundle.tuning import tuning
from wizard.errors import WizardError
from wizard.units import MIB

INIT_SQL = "postgres/init.sql"
UPGRADE_ROLES_SQL = "postgres/upgrade-roles.sql"
POSTGRESQL_CONF = "postgres/postgresql.conf"

# The superuser of the bundled cluster under compose, and the file and variable of its password.
SUPERUSER = "postgres"
ENV_FILE = "postgres/postgres.env"
SUPERUSER_PASSWORD_VARIABLE = "POSTGRES_PASSWORD"
# The homeserver's role as a fresh cluster has it: it logs in and owns its database, no more.
PLAIN_ROLE = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
# The attributes of the first superuser, the role initdb makes.
FIRST_SUPERUSER_ROLE = "SUPERUSER CREATEDB CREATEROLE REPLICATION BYPASSRLS LOGIN"
# Its OID (BOOTSTRAP_SUPERUSERID): PostgreSQL 16 refuses to take SUPERUSER from it.
BOOTSTRAP_ROLE_OID = 10
# A superuser that lives only inside the upgrade's transaction, to rename the first superuser.
SWAP_ROLE = "matrix_wizard_swap"

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


def mas_sql(ctx: RenderContext) -> str:
    """Return psql lines that make MAS's plain role and database when missing, and its password."""
    role, name = sql_identifier(mas.ROLE), sql_identifier(mas.DATABASE)
    create_database = (
        f"CREATE DATABASE {name} WITH OWNER {role} ENCODING {sql_literal(ENCODING)} "
        "TEMPLATE template0"
    )
    password = sql_literal(ctx.secrets.mas_database_password)
    return (
        "-- Matrix Authentication Service: a role and database of its own.\n"
        f"SELECT {sql_literal(f'CREATE ROLE {role}')}\n"
        f"  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {sql_literal(mas.ROLE)})"
        "\\gexec\n"
        f"ALTER ROLE {role} WITH {PLAIN_ROLE} PASSWORD {password};\n"
        f"SELECT {sql_literal(create_database)}\n"
        f"  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = {sql_literal(mas.DATABASE)})"
        "\\gexec\n"
        f"ALTER DATABASE {name} OWNER TO {role};\n"
    )


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
        "\\gexec\n" + _database_owner(ctx) + (mas_sql(ctx) if mas.enabled(ctx) else "")
    )


# Every object of the connected database that the first superuser owns, outside the system's
# schemas and extensions, as (kind, name, follows). An object that follows changes owner with
# another one: a table's indexes, row type and serial sequences, a type's array type.
_OWNED_BY_FIRST_SUPERUSER = f"""SELECT owned.kind, owned.name, owned.follows
  FROM (SELECT 'SCHEMA', quote_ident(n.nspname), n.oid, n.oid, 'pg_namespace'::regclass, false
          FROM pg_namespace AS n WHERE n.nspowner = {BOOTSTRAP_ROLE_OID}
        UNION ALL
        SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                 WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
               c.oid::regclass::text, c.oid, c.relnamespace, 'pg_class'::regclass,
               c.relkind NOT IN ('r', 'p', 'v', 'm', 'f', 'S')
               OR (c.relkind = 'S' AND EXISTS (
                 SELECT FROM pg_depend AS d WHERE d.classid = 'pg_class'::regclass
                   AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass
                   AND d.deptype IN ('a', 'i')))
          FROM pg_class AS c WHERE c.relowner = {BOOTSTRAP_ROLE_OID}
        UNION ALL
        SELECT 'ROUTINE', p.oid::regprocedure::text, p.oid, p.pronamespace, 'pg_proc'::regclass,
               false
          FROM pg_proc AS p WHERE p.proowner = {BOOTSTRAP_ROLE_OID}
        UNION ALL
        SELECT CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, t.oid::regtype::text,
               t.oid, t.typnamespace, 'pg_type'::regclass,
               t.typtype <> 'm' AND EXISTS (
                 SELECT FROM pg_depend AS d WHERE d.classid = 'pg_type'::regclass
                   AND d.objid = t.oid AND d.deptype = 'i')
          FROM pg_type AS t WHERE t.typowner = {BOOTSTRAP_ROLE_OID}
       ) AS owned (kind, name, oid, namespace, catalog, follows)
  JOIN pg_namespace AS schema ON schema.oid = owned.namespace
 WHERE schema.nspname <> 'information_schema' AND schema.nspname NOT LIKE 'pg\\_%'
   AND NOT EXISTS (SELECT FROM pg_depend AS d
                    WHERE d.classid = owned.catalog AND d.objid = owned.oid AND d.deptype = 'e')"""


def _echo(text: str) -> str:
    """Return a psql line that prints text indented as apply.sh's notes are."""
    return f"\\echo {sql_literal('    ' + text)}\n"


def _fail(message: str) -> str:
    """Return a statement that stops the script with message, rolling its transaction back."""
    return f"DO $fail$ BEGIN RAISE EXCEPTION {sql_literal(message)}; END $fail$;\n"


def _role_facts(ctx: RenderContext) -> str:
    """Return a one-row query of what the roles need to be as a fresh cluster has them."""
    user = sql_literal(ctx.answers.database.user)
    return (
        "SELECT first_superuser AND NOT has_superuser AS hand_over,\n"
        "       first_superuser AND has_superuser AS blocked,\n"
        "       NOT first_superuser AND NOT has_superuser AS add_superuser,\n"
        "       NOT first_superuser AND privileged AS demote\n"
        "  FROM (SELECT EXISTS (SELECT FROM pg_roles\n"
        f"                        WHERE oid = {BOOTSTRAP_ROLE_OID} AND rolname = {user}) "
        "AS first_superuser,\n"
        "               EXISTS (SELECT FROM pg_roles\n"
        f"                        WHERE rolname = {sql_literal(SUPERUSER)}) AS has_superuser,\n"
        f"               EXISTS (SELECT FROM pg_roles WHERE rolname = {user}\n"
        "                          AND (rolsuper OR rolcreatedb OR rolcreaterole\n"
        "                               OR rolreplication OR rolbypassrls)) AS privileged\n"
        "       ) AS roles"
    )


def roles_query(ctx: RenderContext) -> str:
    """Return the query naming the first superuser, and if it is handed over, when roles differ."""
    return (
        f"SELECT rolname, hand_over FROM ({_role_facts(ctx)}) AS needed "
        f"JOIN pg_roles ON pg_roles.oid = {BOOTSTRAP_ROLE_OID} "
        "WHERE hand_over OR blocked OR add_superuser OR demote"
    )


def _hand_over(ctx: RenderContext) -> str:
    """Return the psql lines that rename the first superuser postgres and remake the homeserver."""
    # PostgreSQL 16 keeps the first superuser a superuser, and a session cannot rename its own
    # role: a superuser that lives only in the transaction renames it. The homeserver's role is
    # then made as init.sql makes it, keeps its password hash (SCRAM does not hash the name;
    # MD5 does, and the name is the same), and gets its database and every object in it.
    database = ctx.answers.database
    user, swap = sql_identifier(database.user), sql_identifier(SWAP_ROLE)
    left_behind = (
        f"database {database.name} holds objects of a kind this script does not hand over (it "
        "moves schemas, tables, views, sequences, routines and types), so nothing was changed: "
        "dump the database and restore it into a fresh cluster instead"
    )
    return (
        _echo(
            f"{database.user} is the cluster's first superuser, as an older bundle made it, "
            "and PostgreSQL keeps that role a superuser:"
        )
        + _echo(
            f"renaming it {SUPERUSER}, with the password of {ENV_FILE}, and making "
            f"{database.user} anew as a plain role with its password, owner of database "
            f"{database.name} and of all in it"
        )
        + "SELECT rolpassword AS homeserver_password FROM pg_authid "
        f"WHERE oid = {BOOTSTRAP_ROLE_OID} \\gset\n"
        f"CREATE TEMPORARY VIEW first_superusers_objects AS {_OWNED_BY_FIRST_SUPERUSER};\n"
        f"CREATE ROLE {swap} WITH SUPERUSER NOLOGIN;\n"
        f"SET SESSION AUTHORIZATION {swap};\n"
        f"ALTER ROLE {user} RENAME TO {sql_identifier(SUPERUSER)};\n"
        f"ALTER ROLE {sql_identifier(SUPERUSER)} WITH PASSWORD :'superuser_password';\n"
        + _create_role(ctx)
        + _plain_role(ctx)
        + "\\if :{?homeserver_password}\n"
        + f"ALTER ROLE {user} WITH PASSWORD :'homeserver_password';\n"
        + "\\endif\n"
        + _database_owner(ctx)
        + f"SELECT format('ALTER %s %s OWNER TO %I', kind, name, {sql_literal(database.user)})\n"
        "  FROM first_superusers_objects WHERE NOT follows \\gexec\n"
        "DO $moved$\nBEGIN\n"
        "  IF EXISTS (SELECT FROM first_superusers_objects) THEN\n"
        f"    RAISE EXCEPTION {sql_literal(left_behind)};\n"
        "  END IF;\nEND\n$moved$;\n"
        "DROP VIEW first_superusers_objects;\n"
        "RESET SESSION AUTHORIZATION;\n"
        f"DROP ROLE {swap};\n"
    )


def upgrade_roles_sql(ctx: RenderContext) -> str:
    """Return the psql script giving a cluster an older compose bundle made a fresh one's roles."""
    # Older bundles set POSTGRES_USER to the homeserver's role, so initdb made it the first
    # superuser; the image runs init.sql only on an empty cluster, so apply.sh runs this too.
    database = ctx.answers.database
    blocked = (
        f"{database.user} is the cluster's first superuser, which PostgreSQL keeps a superuser, "
        f"and a role {SUPERUSER} exists too, so it cannot be renamed {SUPERUSER}: rename or "
        f"drop that other role {SUPERUSER}, then run apply.sh again"
    )
    return (
        f"-- Roles as a fresh cluster has them: {SUPERUSER} the superuser, {database.user} a "
        f"plain role owning database {database.name}.\n"
        "-- Written by matrix-wizard; apply.sh runs it in the postgres container as the first\n"
        "-- superuser, connected to that database. On a cluster already so it changes nothing.\n"
        "\\set ON_ERROR_STOP on\n"
        f"\\getenv superuser_password {SUPERUSER_PASSWORD_VARIABLE}\n"
        "\\if :{?superuser_password}\n\\else\n"
        + _fail(f"{SUPERUSER_PASSWORD_VARIABLE} is not set: run this in the postgres container")
        + "\\endif\n"
        "BEGIN;\n" + _role_facts(ctx) + " \\gset\n"
        "\\if :blocked\n" + _fail(blocked) + "\\endif\n"
        "\\if :hand_over\n" + _hand_over(ctx) + "\\endif\n"
        "\\if :add_superuser\n"
        + _echo(f"creating the superuser {SUPERUSER}, with the password of {ENV_FILE}")
        + f"CREATE ROLE {sql_identifier(SUPERUSER)} WITH {FIRST_SUPERUSER_ROLE} "
        "PASSWORD :'superuser_password';\n"
        "\\endif\n"
        "\\if :demote\n"
        + _echo(
            f"taking SUPERUSER, CREATEDB, CREATEROLE, REPLICATION and BYPASSRLS from "
            f"{database.user}; it keeps its login and database {database.name}"
        )
        + _plain_role(ctx)
        + _database_owner(ctx)
        + "\\endif\n"
        "COMMIT;\n"
    )


def render(ctx: RenderContext) -> Bundle:
    """Return the init script whenever PostgreSQL is used; its settings and more when bundled."""
    if not ctx.uses_postgres:
        return {}
    files: Bundle = {INIT_SQL: File(init_sql(ctx), PRIVATE)}
    if ctx.bundled_postgres:
        files[POSTGRESQL_CONF] = File(postgresql_conf(ctx), PUBLIC)
    if ctx.bundled_postgres and ctx.compose:
        files[UPGRADE_ROLES_SQL] = File(upgrade_roles_sql(ctx), PUBLIC)
    return files
