"""A Synapse on SQLite moves to PostgreSQL by its new bundle's apply.sh, also when interrupted.

Natively, under a staging prefix, with a real Synapse, PostgreSQL and nginx:

1. the SQLite bundle is generated and applied; two users made with the README's command talk in
   a room through nginx with matrix-nio and one uploads a file; Synapse is stopped and its
   install and data folders are saved, to be put back before each case;
2. the bundle is generated again from the same answers with only database.kind changed to
   postgresql, into the same folder (so its secrets and signing key stay);
3. its apply.sh runs: it finds the SQLite database, creates the PostgreSQL database with
   init.sql, takes a snapshot, runs synapse_port_db against it and then against the live file,
   keeps the SQLite file in moved-to-postgresql/ and swaps the config in;
4. PostgreSQL holds as many rows as the SQLite file held in users, events, room_memberships,
   local_media_repository and devices; then Synapse starts with its unit's command: both users
   log in through nginx with matrix-nio and read every message, and the file downloads byte for
   byte; the SQLite file is kept, the snapshot gone.

Interrupted: for each step of the move in turn the first run is made to stop there (psql
cannot reach PostgreSQL; mv of the step fails; the synapse_port_db process is killed as
soon as it appears), then apply.sh runs again and must end as an uninterrupted run does.

The time and disk of the move are printed and written to move-timings.json in pytest's base
temporary folder.

What is NOT proven: under the staging prefix apply.sh prints the host's service actions
(systemctl stop and start of Synapse) instead of taking them, so Synapse is stopped by the test
before apply.sh runs and the first port runs with Synapse stopped, not beside a Synapse writing
to the SQLite file; a killed port is killed as it starts, not half-way through its tables; the
disk refusal is proven by unit tests with df's answer made small, not on a full disk.
"""

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_program
from tests.e2e.services import register_as_readme_says, start_homeserver, start_proxy
from tests.e2e.support import (
    Programs,
    Staged,
    answers_for_run,
    generate,
    programs_in,
    require_root,
    stage,
)
from tests.integration.postgres_server import PostgresServer
from tests.recovery.client import History, leave_history, read_back
from tests.recovery.conftest import kept_measures
from tests.recovery.moving import (
    COUNTED_TABLES,
    background_updates_done,
    kill_the_port_of,
    sqlite_counts,
)
from tests.recovery.test_restore import disk_bytes
from tests.waiting import LIMIT, wait_until
from wizard.bundle import migrate
from wizard.bundle.context import RenderContext

pytestmark = [pytest.mark.recovery, pytest.mark.slow]

PASSWORD = "correct horse battery staple"
USERS = ("alice", "bob")
FILE_BYTES = os.urandom(64 * 1024)
DATABASE = "moved_synapse"
SCRIPT_TIMEOUT = 600
MEASURES_FILE = "move-timings.json"
# A fresh Synapse runs some sixty background updates, a second apart.
BACKGROUND_UPDATES_LIMIT = 600
STEPS = ("database", "snapshot", "first-port", "final-port", "kept")
# A command in a step's way stops, by a program of the same name first on PATH.
FAILING_PROGRAM = {"snapshot": ("mv", "snapshot.db.part"), "kept": ("mv", "/homeserver.db")}
SHIM = """#!/bin/sh
case "$*" in
    *"$MOVE_FAULT"*)
        echo "$0: stopped here by the test" >&2
        exit 1
        ;;
esac
exec /bin/{name} "$@"
"""


@dataclass
class SqliteHomeserver:
    """A Synapse bundle on SQLite with history made, stopped, and its PostgreSQL successor."""

    staged: Staged
    postgres: Staged
    server: PostgresServer
    programs: Programs
    history: History
    saved: Path
    folder: Path

    @property
    def env(self) -> dict[str, str]:
        """Return the environment apply.sh needs to reach the test's PostgreSQL."""
        return {"PGHOST": str(self.server.socket_dir)}


def saved_places(ctx: RenderContext) -> dict[str, str]:
    """Return the folders saved before the move and put back before each case, by a name."""
    return {"install": ctx.install_dir, "data": ctx.data_dir}


@pytest.fixture(scope="module")
def moved_from(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer
) -> Iterator[SqliteHomeserver]:
    """Yield a stopped Synapse on SQLite with two users' history, and its PostgreSQL bundle."""
    require_root()
    require_program("openssl")
    folder = tmp_path_factory.mktemp("migrate")
    answers = answers_for_run("nginx", "sqlite", False, postgres_server.port, DATABASE)
    staged = stage(folder, answers)
    ctx = staged.ctx
    with ExitStack() as stack:
        programs = stack.enter_context(programs_in(folder))
        start_homeserver(staged, programs)
        start_proxy(staged, programs, folder)
        for user in USERS:
            register_as_readme_says(staged, user, PASSWORD)
        user_ids = [f"@{user}:{ctx.server_name}" for user in USERS]
        base_url = ctx.public_baseurl.rstrip("/")
        history = leave_history(base_url, (user_ids[0], user_ids[1]), PASSWORD, FILE_BYTES)
        sqlite = Path(migrate.sqlite_path(ctx))
        wait_until(
            lambda: background_updates_done(sqlite),
            "Synapse's background updates",
            limit=BACKGROUND_UPDATES_LIMIT,
        )
        programs.stop(next(p for p in programs.started if p.name == ctx.homeserver.value))
        saved = folder / "saved"
        for name, place in saved_places(ctx).items():
            shutil.copytree(place, saved / name, symlinks=True)
        answers["database"] = {"kind": "postgresql", "name": DATABASE, "user": DATABASE}
        bundle, prefix, pg_ctx = generate(folder, answers)
        assert prefix == staged.prefix
        postgres = Staged(bundle, prefix, pg_ctx, "")
        yield SqliteHomeserver(staged, postgres, postgres_server, programs, history, saved, folder)


@pytest.fixture(scope="module")
def move_timings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[dict[str, Any]]]:
    """Collect each move's time and disk; at the end print them and write them to a file."""
    yield from kept_measures(
        tmp_path_factory,
        MEASURES_FILE,
        "SQLite to PostgreSQL, time and disk",
        lambda run: (
            f"apply.sh {run['apply_seconds']:.2f} s (ports {run['port_seconds']}); "
            f"SQLite {run['sqlite_bytes']} bytes, PostgreSQL {run['postgres_bytes']} bytes"
        ),
    )


def start_over(world: SqliteHomeserver) -> None:
    """Put back the SQLite homeserver as saved, with no database in PostgreSQL."""
    for name, place in saved_places(world.staged.ctx).items():
        shutil.rmtree(place)
        shutil.copytree(world.saved / name, place, symlinks=True)
    world.server.psql("-c", f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def apply(
    world: SqliteHomeserver, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run the PostgreSQL bundle's apply.sh as root; return how it ended and its seconds."""
    begin = time.monotonic()
    done = subprocess.run(
        ["sh", str(world.postgres.bundle / "apply.sh")],
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT,
        env={**os.environ, **world.env, **(env or {})},
        check=False,
    )
    return done, round(time.monotonic() - begin, 3)


def applied(world: SqliteHomeserver, env: dict[str, str] | None = None) -> tuple[str, float]:
    """Run apply.sh, which must succeed; return its output and seconds."""
    done, seconds = apply(world, env)
    assert done.returncode == 0, f"apply.sh failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr, seconds


def postgres_counts(server: PostgresServer) -> dict[str, int]:
    """Return the rows of each counted table in the homeserver's PostgreSQL database."""
    return {
        table: int(server.query(f"SELECT count(*) FROM {table}", database=DATABASE)[0][0])
        for table in COUNTED_TABLES
    }


def assert_every_row_moved(world: SqliteHomeserver) -> None:
    """Before anyone logs in again, PostgreSQL holds as many rows as SQLite held, table by table."""
    ctx = world.postgres.ctx
    saved_sqlite = world.saved / "data" / ctx.homeserver.value / migrate.SQLITE_FILE
    counts = sqlite_counts(saved_sqlite)
    assert counts["users"] == len(USERS)
    assert postgres_counts(world.server) == counts


def assert_moved_and_readable(world: SqliteHomeserver) -> None:
    """Synapse starts on PostgreSQL; both users read the history and the file; SQLite is kept."""
    ctx = world.postgres.ctx
    assert not Path(migrate.sqlite_path(ctx)).exists()
    assert Path(migrate.kept_sqlite_path(ctx)).is_file()
    assert not Path(migrate.move_dir(ctx), "snapshot.db").exists()
    assert Path(migrate.move_dir(ctx), "state").read_text("utf-8") == "kept\n"
    tables = world.server.query(migrate.SYNAPSE_TABLES_QUERY, database=DATABASE)
    assert tables == [["1"]]
    start_homeserver(world.postgres, world.programs)
    try:
        base_url = ctx.public_baseurl.rstrip("/")
        for user in USERS:
            user_id = f"@{user}:{ctx.server_name}"
            bodies, downloaded = read_back(
                base_url, user_id, PASSWORD, world.history.room_id, world.history.file_uri
            )
            assert bodies == world.history.bodies
            assert downloaded == FILE_BYTES
    finally:
        homeserver = next(p for p in world.programs.started if p.name == ctx.homeserver.value)
        world.programs.stop(homeserver)


def test_the_postgresql_bundle_moves_sqlite_and_serves_the_same_history(
    moved_from: SqliteHomeserver, move_timings: list[dict[str, Any]]
) -> None:
    world = moved_from
    ctx = world.postgres.ctx
    start_over(world)
    sqlite = Path(migrate.sqlite_path(ctx))
    measured: dict[str, Any] = {"run": "synapse-sqlite-to-postgresql-nginx"}
    measured["sqlite_bytes"] = disk_bytes(sqlite)
    output, measured["apply_seconds"] = applied(world)
    for number in range(1, 6):
        assert f"moving to PostgreSQL, {number} of 5" in output
    measured["port_seconds"] = [
        int(line.split()[2]) for line in output.splitlines() if line.strip().startswith("ported in")
    ]
    assert len(measured["port_seconds"]) == 2, output
    size = world.server.query(f"SELECT pg_database_size('{DATABASE}')", database=DATABASE)
    measured["postgres_bytes"] = int(size[0][0])
    assert_every_row_moved(world)
    assert_moved_and_readable(world)

    again, _ = applied(world)
    assert "moving to PostgreSQL" not in again
    assert_moved_and_readable(world)
    move_timings.append(measured)
    print(json.dumps(measured, indent=2))


def shim_folder(folder: Path, name: str) -> Path:
    """Return a folder holding a program NAME that fails when its arguments hold MOVE_FAULT."""
    shims = folder / "shims"
    shims.mkdir(exist_ok=True)
    program = shims / name
    program.write_text(SHIM.replace("{name}", name), "utf-8")
    program.chmod(0o755)
    return shims


@pytest.mark.parametrize("step", STEPS)
def test_a_move_stopped_at_each_step_ends_the_same_when_applied_again(
    step: str, moved_from: SqliteHomeserver
) -> None:
    world = moved_from
    ctx = world.postgres.ctx
    start_over(world)
    env: dict[str, str] = {}
    watcher: threading.Thread | None = None
    stop = threading.Event()
    if step == "database":
        env["PGHOST"] = str(world.folder / "no-postgresql-here")
    elif step in FAILING_PROGRAM:
        name, fault = FAILING_PROGRAM[step]
        env["PATH"] = f"{shim_folder(world.folder, name)}:{os.environ['PATH']}"
        env["MOVE_FAULT"] = fault
    else:
        live = migrate.sqlite_path(ctx)
        snapshot = f"{migrate.move_dir(ctx)}/snapshot.db"
        watcher = kill_the_port_of(snapshot if step == "first-port" else live, stop)
    try:
        done, _ = apply(world, env)
    finally:
        stop.set()
        if watcher is not None:
            watcher.join(timeout=LIMIT)
    assert done.returncode != 0, f"apply.sh did not stop at {step}:\n{done.stdout}"
    before = STEPS[STEPS.index(step) - 1] if step != "database" else None
    state = Path(migrate.move_dir(ctx), "state")
    if before is None:
        assert not state.exists() or state.read_text("utf-8") == ""
    else:
        assert state.read_text("utf-8") == f"{before}\n", done.stdout + done.stderr
    assert "apply.sh: " in done.stderr

    output, _ = applied(world)
    assert f"done so far: {before or 'none'}" in output
    assert_every_row_moved(world)
    assert_moved_and_readable(world)
