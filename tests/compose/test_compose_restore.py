"""A compose bundle's backup, restored by its restore.sh, serves the same users again.

Synapse with PostgreSQL behind nginx under the container engine, as in test_compose_stack.py:

1. two users made with the README's command talk in a room through the proxy with matrix-nio,
   and one uploads a file and posts it; the signing key the server publishes is noted;
2. the bundle's own backup.sh runs while the stack runs (pg_dump in the postgres container);
3. the stack is taken down and the bundle's folder and the whole data folder (PostgreSQL's
   files, Synapse's media and signing key) are deleted: a fresh machine but for the engine,
   the images and the certificate;
4. the restore.sh in the backup folder runs on it, twice: it starts PostgreSQL alone, creates the
   database as apply.sh does, loads the dump, puts back the media and bundle, and runs the
   restored apply.sh, which starts the stack;
5. both users log in through the proxy, read the old messages and download the file byte for
   byte, and the server publishes the signing key it had.

What is not proven: the images are stand-ins (tests/compose/images), and the scheduled run of
backup.sh (a host timer) is not run here.
"""

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.compose.engine import Engine
from tests.compose.stack import ComposeRun, prepare, synapse_nginx_answers
from tests.e2e.support import Timings
from tests.integration.proxy_runtime import send
from tests.recovery.client import read_back
from wizard.bundle import backup, restore

pytestmark = [pytest.mark.compose, pytest.mark.recovery, pytest.mark.slow]

PASSWORD = "correct horse battery staple"
USERS = ("alice", "bob")
FILE_BYTES = os.urandom(256 * 1024)
SCRIPT_TIMEOUT = 900


def run_script(run: ComposeRun, *argv: str) -> str:
    """Run one of the bundle's scripts as root would, with the engine's environment."""
    done = subprocess.run(
        ["sh", *argv], capture_output=True, text=True, env=run.env, timeout=SCRIPT_TIMEOUT
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{argv[0]} failed:\n{output}\n{run.logs()}"
    return output


def published_keys(run: ComposeRun) -> dict[str, Any]:
    """Return the signing keys the server publishes through the proxy."""
    reply = send(run.ctx.ports.https, run.ctx.homeserver_host, "/_matrix/key/v2/server")
    assert reply.status == 200, reply
    keys: dict[str, Any] = json.loads(reply.body)["verify_keys"]
    return keys


def test_a_restored_compose_backup_serves_the_same_users_history_file_and_key(
    engine: Engine, tmp_path: Path, e2e_timings: list[Timings]
) -> None:
    timings = Timings("compose-restore-synapse-postgresql-nginx")
    e2e_timings.append(timings)
    answers = synapse_nginx_answers("postgresql")
    with timings.step("generate, certificate, stand-in images (built once per machine)"):
        run = prepare(tmp_path, engine, answers)
    ctx = run.ctx
    base_url = ctx.public_baseurl.rstrip("/")
    user_ids = tuple(f"@{user}:{ctx.server_name}" for user in USERS)
    try:
        with timings.step("apply.sh, two users talk and share a file"):
            run.apply()
            history = run.leave_history(USERS, PASSWORD, FILE_BYTES)
        keys_before = published_keys(run)
        assert f"ed25519:{ctx.secrets.signing_key_id}" in keys_before

        with timings.step("backup.sh while the stack runs"):
            run_script(run, f"{ctx.install_dir}/{backup.BACKUP_SCRIPT}")
        folders = sorted(Path(backup.backup_dir(ctx)).iterdir())
        assert len(folders) == 1, folders
        folder = folders[0]

        with timings.step("the stack down, the bundle and the data deleted"):
            run.down()
            shutil.rmtree(ctx.install_dir)
            shutil.rmtree(ctx.data_dir)

        restore_script = str(folder / restore.RESTORE_SCRIPT)
        with timings.step("restore.sh (it starts the stack with apply.sh)"):
            output = run_script(run, restore_script, "--yes", str(folder))
        assert f"restored from {folder}" in output
        started = time.monotonic()
        run_script(run, restore_script, "--yes", str(folder))
        timings.steps["restore.sh again"] = round(time.monotonic() - started, 3)

        with timings.step("both users read the history and the file back"):
            for user in user_ids:
                bodies, downloaded = read_back(
                    base_url, user, PASSWORD, history.room_id, history.file_uri
                )
                assert bodies == history.bodies
                assert downloaded == FILE_BYTES
        assert published_keys(run) == keys_before
    finally:
        print(run.logs())
        run.down()
    timings.finish()
