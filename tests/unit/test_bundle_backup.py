"""backup.sh: the right database copy for each stack, valid sh, and no secret inside."""

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.bundle_support import FIXED_SECRETS, answers_for, context_for
from wizard.bundle import backup
from wizard.bundle.backup import DatabaseBackup
from wizard.bundle.model import EXECUTABLE

VARIANTS = [
    ({"homeserver": "synapse", "database": "sqlite"}, DatabaseBackup.SQLITE),
    ({"homeserver": "conduit", "database": "sqlite"}, DatabaseBackup.SQLITE),
    ({"homeserver": "synapse", "database": "postgresql"}, DatabaseBackup.POSTGRES_COMPOSE),
    (
        {"homeserver": "dendrite", "database": "postgresql", "deployment__kind": "native"},
        DatabaseBackup.POSTGRES_LOCAL,
    ),
    (
        {"homeserver": "synapse", "database": "postgresql", "database__host": "db.example.org"},
        DatabaseBackup.POSTGRES_REMOTE,
    ),
    ({"homeserver": "conduit", "database": "rocksdb"}, DatabaseBackup.DATA_FOLDER),
    (
        {"homeserver": "conduit", "database": "rocksdb", "deployment__kind": "native"},
        DatabaseBackup.DATA_FOLDER,
    ),
    ({"homeserver": "continuwuity"}, DatabaseBackup.DATA_FOLDER),
    ({"homeserver": "tuwunel", "deployment__kind": "native"}, DatabaseBackup.DATA_FOLDER),
]


def script_for(**sets: Any) -> str:
    return backup.render(context_for(answers_for(**sets)))[backup.BACKUP_SCRIPT].text


@pytest.mark.parametrize(("sets", "method"), VARIANTS)
def test_each_stack_gets_its_database_copy_and_valid_sh(
    sets: dict[str, Any], method: DatabaseBackup, tmp_path: Path
) -> None:
    ctx = context_for(answers_for(**sets))
    assert backup.database_backup(ctx) is method
    file = backup.render(ctx)[backup.BACKUP_SCRIPT]
    assert file.mode == EXECUTABLE
    assert file.text.startswith("#!/bin/sh\n")
    assert "set -eu" in file.text
    script = tmp_path / "backup.sh"
    script.write_text(file.text)
    subprocess.run(["sh", "-n", str(script)], check=True)
    for value in FIXED_SECRETS.values():
        assert value not in file.text


def test_postgres_under_compose_dumps_inside_the_container() -> None:
    text = script_for(homeserver="synapse", database="postgresql")
    assert "compose exec -T postgres pg_dump" in text
    assert "-Fc" in text


def test_a_stopped_copy_restarts_the_homeserver_even_when_the_copy_fails() -> None:
    compose = script_for(homeserver="conduit", database="rocksdb")
    assert "compose stop conduit" in compose
    assert "trap start_homeserver EXIT" in compose
    native = script_for(homeserver="conduit", database="rocksdb", deployment__kind="native")
    assert "systemctl stop matrix-conduit" in native
    assert "docker" not in native


@pytest.mark.parametrize(
    ("homeserver", "unit"), [("continuwuity", "continuwuity"), ("tuwunel", "tuwunel")]
)
def test_a_successors_data_folder_is_copied_stopped_with_its_media_inside(
    homeserver: str, unit: str
) -> None:
    compose = script_for(homeserver=homeserver)
    assert f"compose stop {homeserver}" in compose
    assert f"HOMESERVER_DATA=/var/lib/matrix-wizard/{homeserver}\n" in compose
    assert "MEDIA_DIR=''\n" in compose  # the media is in the data folder: copied with it
    assert "copied with it" in compose
    native = script_for(homeserver=homeserver, deployment__kind="native")
    assert f"systemctl stop {unit}" in native
    assert "MEDIA_DIR=/var/lib/matrix-wizard/media" in script_for(homeserver="conduit")


def test_the_remote_database_password_is_read_from_the_secrets_file() -> None:
    text = script_for(homeserver="synapse", database="postgresql", database__host="db.example.org")
    assert "secret_value database_password" in text
    assert "secrets.yaml" in text


def test_paths_and_retention_follow_the_answers() -> None:
    text = script_for(
        backups__path="/srv/backups",
        backups__keep_days=3,
        deployment__prefix="/tmp/stage",
    )
    assert "BACKUP_DIR=/tmp/stage/srv/backups\n" in text
    assert "KEEP_DAYS=3\n" in text


def test_media_in_s3_is_not_archived() -> None:
    text = script_for(
        media__backend="s3",
        media__s3={"bucket": "matrix-media", "access_key_id": "AKIAEXAMPLE"},
    )
    assert "MEDIA_DIR=''\n" in text


def test_nothing_when_backups_are_off() -> None:
    assert backup.render(context_for(answers_for(backups__enabled=False))) == {}


@pytest.mark.parametrize("kind", ["native", "compose"])
def test_synapse_with_workers_is_dumped_online_and_no_service_stops(kind: str) -> None:
    ctx = context_for(
        answers_for(
            database="postgresql",
            homeserver__workers=True,
            backups__enabled=True,
            deployment__kind=kind,
        )
    )
    # Workers need PostgreSQL, which pg_dump copies while Synapse and its workers run.
    assert backup.database_backup(ctx) in {
        DatabaseBackup.POSTGRES_LOCAL,
        DatabaseBackup.POSTGRES_COMPOSE,
    }
    text = backup.backup_script(ctx)
    assert "pg_dump" in text
    assert " stop " not in text
