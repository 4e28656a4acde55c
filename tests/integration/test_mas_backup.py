"""backup.sh's and restore.sh's database steps take MAS's database with the homeserver's.

The bundle's own steps (its exact shell, for a native bundle with the bundled PostgreSQL) run
against a real PostgreSQL on its own socket, named by libpq's PGHOST: MAS's accounts, in a table
its role made, come back as they were when the backup was taken, owned by MAS's role. Not
proven here: the compose and external-server variants (their pg_dump runs in a container or
against another host), and MAS reading the restored data, since no MAS runs here.
"""

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.bundle_support import FIXED_SECRETS, answers_for, context_for
from tests.integration.postgres_server import (
    PostgresServer,
    postgres_server_fixture,  # noqa: F401  (registers the fixture)
)
from wizard.bundle import backup, postgres, restore
from wizard.bundle.backup import DatabaseBackup
from wizard.bundle.context import RenderContext

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _context(root: Path, server: PostgresServer) -> RenderContext:
    answers = answers_for(
        database="postgresql",
        database__name="synapse_backed_up",
        database__user="synapse_backed_up",
        auth__mas=True,
        deployment__kind="native",
        deployment__prefix=str(root),
        deployment__ports__postgres=server.port,
    )
    return context_for(answers)


def _helpers(ctx: RenderContext) -> str:
    """Return restore.sh's own say, note, fail, run, host_run and run_from, as rendered."""
    text = restore.restore_script(ctx)
    start, end = text.index("say() {"), text.index("\n}\n", text.index("run_from() {"))
    return text[start : end + 3]


def _run(script: str, server: PostgresServer, **variables: str) -> str:
    environment = {**os.environ, "PGHOST": str(server.socket_dir), **variables}
    done = subprocess.run(
        ["sh", "-eu", "-c", script], env=environment, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _as_mas(server: PostgresServer, sql: str) -> list[str]:
    result = server.psql(
        "--tuples-only",
        "--no-align",
        "-c",
        sql,
        user="mas",
        database="mas",
        password=FIXED_SECRETS.mas_database_password,
        over_tcp=True,
    )
    return result.stdout.split()


def test_mas_accounts_come_back_from_the_backup(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    if os.geteuid() != 0:
        pytest.skip("backup.sh runs pg_dump as the postgres user through runuser, as root")
    ctx = _context(tmp_path / "root", postgres_server)
    init = Path(ctx.install_dir) / "postgres" / "init.sql"
    init.parent.mkdir(parents=True)
    init.write_text(postgres.init_sql(ctx), encoding="utf-8")
    postgres_server.psql("--quiet", "--file", str(init))
    _as_mas(postgres_server, "CREATE TABLE IF NOT EXISTS users (name text)")
    _as_mas(postgres_server, "DELETE FROM users; INSERT INTO users VALUES ('alice'), ('bob')")
    target = tmp_path / "backup"
    target.mkdir()
    step = backup._database_step(ctx, DatabaseBackup.POSTGRES_LOCAL)
    logged = 'log() { echo "$*"; }\nfail() { echo "$*" >&2; exit 1; }\n'

    said = _run(f"{logged}{step}\nbackup_database", postgres_server, target=str(target))
    _as_mas(postgres_server, "INSERT INTO users VALUES ('mallory')")
    restored = _run(
        f"{_helpers(ctx)}\n{restore._database_step(ctx, DatabaseBackup.POSTGRES_LOCAL)}\n"
        "restore_database",
        postgres_server,
        BACKUP=str(target),
        DRY_RUN="0",
        PREFIX=ctx.answers.deployment.prefix,
        INSTALL_DIR=ctx.install_dir,
    )

    assert (target / "mas-database.dump").stat().st_size > 0
    assert "Matrix Authentication Service's database mas" in said
    assert re.search(r"pg_restore .*--role=mas -d mas < .*mas-database\.dump", restored)
    assert sorted(_as_mas(postgres_server, "SELECT name FROM users")) == ["alice", "bob"]
    owner = postgres_server.query(
        "SELECT tableowner FROM pg_tables WHERE tablename = 'users'", "mas"
    )
    assert owner == [["mas"]]
