"""A compose Synapse on SQLite moves to PostgreSQL by its new bundle's apply.sh, also when stopped.

Synapse behind nginx under the container engine, as in test_compose_stack.py:

1. the SQLite bundle is applied; two users made with the README's command talk in a room
   through nginx with matrix-nio, and one uploads a file; the test waits until Synapse has run
   its background updates;
2. the bundle is generated again from the same answers with only database.kind changed to
   postgresql, into the same folder (so its secrets and signing key stay);
3. its apply.sh runs while the first port's synapse_port_db, in its one-off container, is
   killed as soon as it starts: apply.sh stops, says how far it got, and the old Synapse
   container still serves from SQLite;
4. apply.sh runs again: it goes on from the snapshot, ports it while that Synapse serves,
   stops Synapse for the final port, keeps the SQLite file, and starts the stack on PostgreSQL;
5. PostgreSQL holds as many rows as the kept SQLite file in users, events, room_memberships,
   local_media_repository and devices; both users log in through nginx, read every message and
   download the file byte for byte; a third apply moves nothing.

While apply.sh runs, a client asks nginx for /_matrix/client/versions every quarter second: the
longest time without an answer is printed as the move's downtime, with the time of each apply.sh
and port, and the disk of SQLite and PostgreSQL.

What is not proven: the images are stand-ins (tests/compose/images); synapse_port_db in the
official image is taken to be on PATH, as pip installs it there; the killed port is killed as it
starts, not half-way through its tables.
"""

import http.client
import json
import os
import threading
import time
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from tests.compose.engine import Engine
from tests.compose.stack import ComposeRun, build_images, prepare, synapse_nginx_answers
from tests.e2e.support import Timings
from tests.integration.proxy_runtime import send
from tests.recovery.client import read_back
from tests.recovery.moving import (
    COUNTED_TABLES,
    background_updates_done,
    kill_the_port_of,
    sqlite_counts,
)
from tests.recovery.test_restore import disk_bytes
from tests.waiting import LIMIT, wait_until
from wizard.bundle import layout, migrate
from wizard.bundle.context import CONTAINER_DATA_DIR, POSTGRES_SERVICE

pytestmark = [pytest.mark.compose, pytest.mark.recovery, pytest.mark.slow]

PASSWORD = "correct horse battery staple"
USERS = ("alice", "bob")
FILE_BYTES = os.urandom(128 * 1024)
# A fresh Synapse runs some sixty background updates, a second apart.
BACKGROUND_UPDATES_LIMIT = 600
POLL_SECONDS = 0.25
# How long one question may wait: a request the proxy holds counts as unanswered after that.
QUESTION_TIMEOUT = 2.0


@dataclass
class Outages:
    """Asks the homeserver through the proxy, over and over, to find its longest silence."""

    run: ComposeRun
    seen: list[tuple[float, bool]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def answers(self) -> bool:
        """Return whether the homeserver answers its versions through the proxy."""
        try:
            reply = send(
                self.run.ctx.ports.https,
                self.run.ctx.homeserver_host,
                "/_matrix/client/versions",
                timeout=QUESTION_TIMEOUT,
            )
        except (OSError, http.client.HTTPException):
            return False
        return reply.status == 200

    def watch(self) -> None:
        """Ask, noting when each answer or failure came, till an answer once told to stop."""
        while True:
            answered = self.answers()
            self.seen.append((time.monotonic(), answered))
            if answered and self.stop.is_set():
                return
            self.stop.wait(POLL_SECONDS)

    def longest(self) -> float:
        """Return the longest time between two answers with only failures between them."""
        answered = [when for when, ok in self.seen if ok]
        return max((later - earlier for earlier, later in pairwise(answered)), default=0.0)


def postgres_counts(run: ComposeRun, database: str) -> dict[str, int]:
    """Return the rows of each counted table in the homeserver's database in the container."""
    counts = {}
    for table in COUNTED_TABLES:
        output = run.compose(
            "exec", "-T", POSTGRES_SERVICE, "psql", "-X", "-U", "postgres", "-d", database,
            "-tA", "-c", f"SELECT count(*) FROM {table}",
        )  # fmt: skip
        counts[table] = int(output.strip().splitlines()[-1])
    return counts


def apply_stopped_by_a_killed_port(run: ComposeRun, sqlite_in_container: str) -> str:
    """Run apply.sh while the port of sqlite_in_container is killed; return what it printed."""
    stop = threading.Event()
    watcher = kill_the_port_of(sqlite_in_container, stop)
    try:
        done = run.apply_expecting_failure()
    finally:
        stop.set()
        watcher.join(timeout=LIMIT)
    return done


def test_a_compose_synapse_moves_from_sqlite_to_postgresql_and_serves_the_same_history(
    engine: Engine, tmp_path: Path, e2e_timings: list[Timings]
) -> None:
    timings = Timings("compose-move-synapse-sqlite-to-postgresql-nginx")
    e2e_timings.append(timings)
    answers = synapse_nginx_answers("sqlite")
    with timings.step("generate, certificate, stand-in images (built once per machine)"):
        run = prepare(tmp_path, engine, answers)
    ctx = run.ctx
    base_url = ctx.public_baseurl.rstrip("/")
    user_ids = tuple(f"@{user}:{ctx.server_name}" for user in USERS)
    sqlite = Path(migrate.sqlite_path(ctx))
    outages = Outages(run)
    try:
        with timings.step("apply.sh on SQLite, two users talk and share a file"):
            run.apply()
            history = run.leave_history(USERS, PASSWORD, FILE_BYTES)
        wait_until(
            lambda: background_updates_done(sqlite),
            "Synapse's background updates",
            limit=BACKGROUND_UPDATES_LIMIT,
        )

        answers["database"] = {"kind": "postgresql"}
        run.regenerate(answers)
        build_images(run.bundle, run.ctx)
        assert migrate.carries_move(run.ctx)
        measured: dict[str, Any] = {"run": timings.name, "sqlite_bytes": disk_bytes(sqlite)}
        watcher = threading.Thread(target=outages.watch, daemon=True)
        watcher.start()

        snapshot = f"{CONTAINER_DATA_DIR}/{migrate.MOVE_FOLDER}/snapshot.db"
        began = time.monotonic()
        serving = run.main_pid(ctx.homeserver.value)
        stopped = apply_stopped_by_a_killed_port(run, snapshot)
        measured["stopped_apply_seconds"] = round(time.monotonic() - began, 3)
        assert "moving to PostgreSQL, 3 of 5" in stopped
        assert "the move to PostgreSQL stopped (done so far: snapshot)" in stopped
        state = Path(migrate.move_dir(run.ctx), "state")
        assert state.read_text("utf-8") == "snapshot\n"
        # The SQLite Synapse still serves: the same process, answering through the proxy.
        assert run.main_pid(ctx.homeserver.value) == serving
        versions = send(ctx.ports.https, ctx.homeserver_host, "/_matrix/client/versions")
        assert versions.status == 200, versions

        began = time.monotonic()
        output = run.apply()
        measured["apply_seconds"] = round(time.monotonic() - began, 3)
        outages.stop.set()
        watcher.join(timeout=LIMIT)
        assert not watcher.is_alive(), "nothing answered through the proxy after the move"
        measured["downtime_seconds"] = round(outages.longest(), 2)
        measured["questions"] = len(outages.seen)
        measured["unanswered"] = sum(1 for _, answered in outages.seen if not answered)
        assert "done so far: snapshot" in output
        for number in range(3, 6):
            assert f"moving to PostgreSQL, {number} of 5" in output
        # Synapse stops once, for the final port: the first port ran while it served.
        stops = [line for line in output.splitlines() if f"stop {ctx.homeserver.value}" in line]
        assert len(stops) == 1, output
        assert output.index("4 of 5") < output.index(stops[0]) < output.index("5 of 5")
        measured["port_seconds"] = [
            int(line.split()[2]) for line in output.splitlines() if "ported in" in line
        ]
        assert len(measured["port_seconds"]) == 2, output

        kept = Path(migrate.kept_sqlite_path(run.ctx))
        assert not sqlite.exists()
        assert kept.is_file()
        assert state.read_text("utf-8") == "kept\n"
        assert not Path(migrate.move_dir(run.ctx), "snapshot.db").exists()
        database = run.ctx.answers.database.name
        counts = sqlite_counts(kept)
        assert counts["users"] == len(USERS)
        assert postgres_counts(run, database) == counts
        measured["postgres_bytes"] = disk_bytes(Path(layout.service_dir(run.ctx, POSTGRES_SERVICE)))

        with timings.step("both users read the history and the file back"):
            for user in user_ids:
                bodies, downloaded = read_back(
                    base_url, user, PASSWORD, history.room_id, history.file_uri
                )
                assert bodies == history.bodies
                assert downloaded == FILE_BYTES

        again = run.apply()
        assert "moving" not in again
        timings.steps["apply.sh with the move, resumed"] = measured["apply_seconds"]
        print(json.dumps(measured, indent=2))
    finally:
        outages.stop.set()
        print(run.logs())
        run.down()
    timings.finish()
