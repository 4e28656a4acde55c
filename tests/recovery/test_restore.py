"""A backup from the bundle's backup.sh, restored by its restore.sh, serves the same users again.

For Synapse with PostgreSQL and with SQLite behind nginx, natively: the bundle is generated and
its apply.sh run under a staging prefix, and the programs are started with the commands of the
units apply.sh installed, as in tests/e2e/test_homeserver.py. Then:

1. two users made with the README's command talk in a room through the proxy with matrix-nio,
   and one uploads a file and posts it; the signing key the server publishes through the proxy
   (GET /_matrix/key/v2/server) is noted;
2. the bundle's own backup.sh runs, as root, while Synapse runs;
3. Synapse is stopped, and the bundle's folder, the whole data folder (database file, media,
   apply.sh's records) are deleted and the PostgreSQL database dropped: a fresh machine but for
   the installed programs, the certificate and PostgreSQL's server;
4. the restore.sh that backup.sh put in the backup folder runs on that folder, twice (a second
   run over the first must end the same);
5. Synapse starts again with its unit's command: both users log in through the proxy with
   matrix-nio, read the old messages from the room's history and download the file, byte for
   byte, and the server publishes the signing key it had.

The time and disk of each backup and restore are printed and written to recovery-timings.json
in pytest's base temporary folder.

What is proven: backup.sh takes everything Synapse needs to start as the same server (signing
key, secrets, config, database, local media), and restore.sh puts it back with the database
created as apply.sh creates it; restore.sh runs the restored apply.sh for the folders, modes and
start. What is not: under the staging prefix, apply.sh and restore.sh print the steps on the
host's services (systemctl stop, start and enable, apt-get) instead of taking them, so the test
stops and starts Synapse itself; PostgreSQL runs on a socket of its own, named to pg_dump,
psql and pg_restore by libpq's PGHOST, where a host's default socket needs nothing; the
scheduled run (the systemd timer) is checked by systemd-analyze elsewhere, not run here.
"""

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_program
from tests.e2e.services import (
    init_database,
    register_as_readme_says,
    start_homeserver,
    start_proxy,
)
from tests.e2e.support import Staged, answers_for_run, programs_in, require_root, stage
from tests.integration.postgres_server import PostgresServer
from tests.integration.proxy_runtime import send
from tests.recovery.client import leave_history, read_back
from wizard.bundle import backup, restore

pytestmark = [pytest.mark.recovery, pytest.mark.slow]

PASSWORD = "correct horse battery staple"
USERS = ("alice", "bob")
FILE_BYTES = os.urandom(256 * 1024)
SCRIPT_TIMEOUT = 600


def disk_bytes(*paths: Path) -> int:
    """Return the bytes the files under the paths take on disk, as du counts them."""
    done = subprocess.run(
        ["du", "-s", "-B1", "-c", *map(str, paths)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return int(done.stdout.splitlines()[-1].split()[0])


def run_script(argv: list[str], env: dict[str, str]) -> tuple[str, float]:
    """Run one of the bundle's scripts as root; return its output and the seconds it took."""
    begin = time.monotonic()
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT,
        env={**os.environ, **env},
        check=False,
    )
    seconds = round(time.monotonic() - begin, 3)
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr, seconds


def published_keys(staged: Staged) -> dict[str, Any]:
    """Return the verify keys the server publishes through the proxy's federation port."""
    ctx = staged.ctx
    reply = send(ctx.federation_port, ctx.homeserver_host, "/_matrix/key/v2/server")
    assert reply.status == 200, reply
    keys: dict[str, Any] = json.loads(reply.body)["verify_keys"]
    return keys


def drop_database(server: PostgresServer, name: str) -> None:
    """Drop the homeserver's database, as a lost server would have lost it."""
    server.psql("-c", f'DROP DATABASE "{name}"')
    assert server.query(f"SELECT count(*) FROM pg_database WHERE datname = '{name}'") == [["0"]]


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_a_restored_backup_serves_the_same_users_history_file_and_key(
    database: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    recovery_timings: list[dict[str, Any]],
) -> None:
    require_root()
    require_program("openssl")
    require_program("sqlite3" if database == "sqlite" else "pg_restore")
    server: PostgresServer | None = None
    env: dict[str, str] = {}
    if database == "postgresql":
        server = request.getfixturevalue("postgres_server")
        env["PGHOST"] = str(server.socket_dir)
    name = f"recovery_{database}"
    answers = answers_for_run("nginx", database, False, server.port if server else None, name)
    staged = stage(tmp_path, answers)
    ctx = staged.ctx
    base_url = ctx.public_baseurl.rstrip("/")
    user_ids = tuple(f"@{user}:{ctx.server_name}" for user in USERS)
    measured: dict[str, Any] = {"run": f"synapse-{database}-nginx"}
    with programs_in(tmp_path) as programs:
        if server is not None:
            init_database(staged, server)
        start_homeserver(staged, programs)
        start_proxy(staged, programs, tmp_path)
        for user in USERS:
            register_as_readme_says(staged, user, PASSWORD)
        history = leave_history(base_url, (user_ids[0], user_ids[1]), PASSWORD, FILE_BYTES)
        assert history.bodies == ["first, from alice", "second, from bob"]
        keys_before = published_keys(staged)
        assert f"ed25519:{ctx.secrets.signing_key_id}" in keys_before

        output, measured["backup_seconds"] = run_script(
            ["sh", f"{ctx.install_dir}/{backup.BACKUP_SCRIPT}"], env
        )
        folders = sorted(Path(backup.backup_dir(ctx)).iterdir())
        assert len(folders) == 1, output
        folder = folders[0]
        measured["backup_bytes"] = disk_bytes(folder)
        measured["backup_parts"] = {
            part.name: part.stat().st_size for part in sorted(folder.iterdir())
        }

        homeserver = next(p for p in programs.started if p.name == ctx.homeserver.value)
        programs.stop(homeserver)
        shutil.rmtree(ctx.install_dir)
        shutil.rmtree(ctx.data_dir)
        if server is not None:
            drop_database(server, name)

        restore_argv = ["sh", str(folder / restore.RESTORE_SCRIPT), "--yes", str(folder)]
        output, measured["restore_seconds"] = run_script(restore_argv, env)
        assert f"restored from {folder}" in output
        assert "systemctl stop matrix-synapse   (staging: not done)" in output
        output, measured["second_restore_seconds"] = run_script(restore_argv, env)
        restored = [Path(ctx.install_dir), Path(ctx.data_dir)]
        measured["restored_file_bytes"] = disk_bytes(*restored)
        if server is not None:
            size = server.query(f"SELECT pg_database_size('{name}')", database=name)
            measured["restored_database_bytes"] = int(size[0][0])

        start_homeserver(staged, programs)
        for user in user_ids:
            bodies, downloaded = read_back(
                base_url, user, PASSWORD, history.room_id, history.file_uri
            )
            assert bodies == history.bodies
            assert downloaded == FILE_BYTES
        assert published_keys(staged) == keys_before
    recovery_timings.append(measured)
    print(json.dumps(measured, indent=2))
