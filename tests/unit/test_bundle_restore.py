"""restore.sh: the right database step for each stack, valid sh, and clear refusals."""

import hashlib
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.bundle_support import FIXED_SECRETS, answers_for, context_for
from tests.unit.test_bundle_backup import VARIANTS
from wizard.bundle import backup, restore
from wizard.bundle.backup import DatabaseBackup
from wizard.bundle.model import EXECUTABLE

STAMP = "20261203T030000Z"


def script_for(**sets: Any) -> str:
    return restore.render(context_for(answers_for(**sets)))[restore.RESTORE_SCRIPT].text


@pytest.mark.parametrize(("sets", "method"), VARIANTS)
def test_each_stack_gets_its_database_step_and_valid_sh(
    sets: dict[str, Any], method: DatabaseBackup, tmp_path: Path
) -> None:
    file = restore.render(context_for(answers_for(**sets)))[restore.RESTORE_SCRIPT]
    assert file.mode == EXECUTABLE
    assert f"DATABASE_PART='{restore.DATABASE_PARTS[method]}'" in file.text or (
        f"DATABASE_PART={restore.DATABASE_PARTS[method]}\n" in file.text
    )
    script = tmp_path / "restore.sh"
    script.write_text(file.text)
    subprocess.run(["sh", "-n", str(script)], check=True)
    for value in FIXED_SECRETS.values():
        assert value not in file.text


def test_postgres_is_created_again_as_apply_sh_creates_it_then_restored() -> None:
    native = script_for(database="postgresql", deployment__kind="native")
    assert 'DROP DATABASE IF EXISTS "synapse" WITH (FORCE)' in native
    assert 'run_from "$INSTALL_DIR/postgres/init.sql"' in native
    assert "pg_restore" in native and "--single-transaction" in native
    compose = script_for(database="postgresql")
    assert "compose exec -T postgres pg_restore" in compose
    assert "run compose stop\n" in compose  # the proxy starts again after the homeserver


def test_a_remote_database_is_cleaned_and_restored_with_the_password_from_secrets() -> None:
    text = script_for(database="postgresql", database__host="db.example.org")
    assert "--clean --if-exists" in text
    assert "secret_value database_password" in text
    assert "DROP DATABASE" not in text


def test_nothing_when_backups_are_off() -> None:
    assert restore.render(context_for(answers_for(backups__enabled=False))) == {}


# --- refusals and the dry run, run with sh on backups made by hand -----------------------------


def staged_script(tmp_path: Path) -> tuple[Path, Path]:
    """Write restore.sh of Synapse on SQLite staged under tmp_path; return it and the backups."""
    ctx = context_for(
        answers_for(database="sqlite", deployment__kind="native", deployment__prefix=str(tmp_path))
    )
    script = tmp_path / "restore.sh"
    script.write_text(restore.restore_script(ctx))
    return script, tmp_path / "var/backups/matrix-wizard"


def make_backup(folder: Path, parts: dict[str, bytes], sealed: bool = True) -> Path:
    """Write a backup folder with these parts and, if sealed, their SHA256SUMS."""
    backup = folder / STAMP
    backup.mkdir(parents=True)
    for name, data in parts.items():
        (backup / name).write_bytes(data)
    if sealed:
        sums = "".join(
            f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(parts.items())
        )
        (backup / "SHA256SUMS").write_text(sums)
    return backup


def run(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(script), *args], capture_output=True, text=True, timeout=60, check=False
    )


WHOLE = {"bundle.tar": b"bundle", "homeserver.db": b"db", "media.tar": b"media"}


def test_no_backup_at_all_says_where_it_looked_and_what_to_give(tmp_path: Path) -> None:
    script, folder = staged_script(tmp_path)
    done = run(script, "--dry-run")
    assert done.returncode == 1
    assert f"no backup in {folder}" in done.stderr
    missing = run(script, "--dry-run", str(tmp_path / "nowhere"))
    assert "no such backup folder" in missing.stderr


def test_a_backup_without_its_seal_or_a_part_or_with_a_changed_part_is_refused(
    tmp_path: Path,
) -> None:
    script, folder = staged_script(tmp_path)
    unsealed = make_backup(folder / "a", WHOLE, sealed=False)
    assert "is incomplete: it has no SHA256SUMS" in run(script, "--dry-run", str(unsealed)).stderr
    without_db = make_backup(folder / "b", {"bundle.tar": b"b", "media.tar": b"m"})
    done = run(script, "--dry-run", str(without_db))
    assert done.returncode == 1
    assert "lacks *.db" in done.stderr
    changed = make_backup(folder / "c", WHOLE)
    (changed / "media.tar").write_bytes(b"something else")
    done = run(script, "--dry-run", str(changed))
    assert done.returncode == 1
    assert "media.tar: FAILED" in done.stderr
    assert "is not as backup.sh wrote it" in done.stderr


def test_the_dry_run_prints_every_step_and_changes_nothing(tmp_path: Path) -> None:
    script, folder = staged_script(tmp_path)
    make_backup(folder, WHOLE)
    done = run(script, "--dry-run")  # the newest backup
    assert done.returncode == 0, done.stderr
    data = tmp_path / "var/lib/matrix-wizard"
    for step in (
        f"restoring from {folder / STAMP}",
        "+ systemctl stop matrix-synapse   (staging: not done)",
        f"+ tar -C {tmp_path}/opt/matrix-wizard -xpf {folder / STAMP}/bundle.tar",
        f"+ sh {tmp_path}/opt/matrix-wizard/apply.sh --skip-start",
        f"+ cp {folder / STAMP}/homeserver.db {data}/synapse/homeserver.db",
        f"+ tar -C {data}/media -xpf {folder / STAMP}/media.tar",
        f"+ sh {tmp_path}/opt/matrix-wizard/apply.sh\n",
    ):
        assert step in done.stdout
    assert not (tmp_path / "opt").exists()
    assert not (tmp_path / "var/lib").exists()


def test_a_real_run_asks_for_yes_and_for_root(tmp_path: Path) -> None:
    script, folder = staged_script(tmp_path)
    make_backup(folder, WHOLE)
    done = run(script)
    assert done.returncode == 1
    assert "run it with --dry-run to see every step, then with --yes" in done.stderr
    assert not (tmp_path / "opt").exists()
    if os.geteuid() != 0:
        refused = run(script, "--yes")
        assert "run it as root: sudo" in refused.stderr


# --- Dendrite's state folders and the Conduit family's data folder -----------------------------


def stub_systemctl(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """Return an environment whose systemctl only records its arguments (no systemd runs here)."""
    calls = tmp_path / "systemctl-calls.txt"
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    stub = stubs / "systemctl"
    stub.write_text(f'#!/bin/sh\necho "$*" >>{calls}\n')
    stub.chmod(0o755)
    return {**os.environ, "PATH": f"{stubs}:{os.environ['PATH']}"}, calls


def test_dendrite_state_is_backed_up_stopped_and_restore_requires_and_puts_it_back(
    tmp_path: Path,
) -> None:
    ctx = context_for(
        answers_for(
            homeserver="dendrite",
            database="sqlite",
            deployment__kind="native",
            deployment__prefix=str(tmp_path),
        )
    )
    install = Path(ctx.install_dir)
    install.mkdir(parents=True)
    (install / "backup.sh").write_text(backup.backup_script(ctx))
    (install / "restore.sh").write_text(restore.restore_script(ctx))
    data = Path(ctx.data_dir) / "dendrite"
    for state in ("jetstream/streams", "searchindex"):
        (data / state).mkdir(parents=True)
    (data / "jetstream/streams/meta.inf").write_text("stream")
    (data / "searchindex/index.meta").write_text("index")
    subprocess.run(["sqlite3", str(data / "dendrite_userapi.db"), "create table t(x)"], check=True)
    env, calls = stub_systemctl(tmp_path)
    done = subprocess.run(
        ["sh", str(install / "backup.sh")], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert calls.read_text().splitlines() == ["stop dendrite", "start dendrite"]
    (folder,) = Path(backup.backup_dir(ctx)).iterdir()
    listed = subprocess.run(
        ["tar", "-tf", str(folder / backup.STATE_PART)], capture_output=True, text=True, check=True
    ).stdout.split()
    assert "jetstream/streams/meta.inf" in listed
    assert "searchindex/index.meta" in listed
    assert (folder / "dendrite_userapi.db").is_file()

    planned = run(folder / "restore.sh", "--dry-run", str(folder))
    assert planned.returncode == 0, planned.stderr
    assert f"+ tar -C {data} -xpf {folder}/{backup.STATE_PART}" in planned.stdout
    assert f"+ rm -rf {data}/jetstream" in planned.stdout
    (folder / backup.STATE_PART).unlink()
    refused = run(folder / "restore.sh", "--dry-run", str(folder))
    assert f"lacks {backup.STATE_PART}" in refused.stderr


@pytest.mark.parametrize("homeserver", ["conduit", "tuwunel"])
def test_a_conduit_family_data_folder_is_put_back_whole(homeserver: str, tmp_path: Path) -> None:
    ctx = context_for(
        answers_for(
            homeserver=homeserver,
            database="rocksdb",
            deployment__kind="native",
            deployment__prefix=str(tmp_path),
        )
    )
    script = tmp_path / "restore.sh"
    script.write_text(restore.restore_script(ctx))
    parts = {"bundle.tar": b"b", "homeserver-data.tar": b"d"}
    if backup.media_dir(ctx):
        parts["media.tar"] = b"m"
    folder = make_backup(Path(backup.backup_dir(ctx)), parts)
    planned = run(script, "--dry-run", str(folder))
    assert planned.returncode == 0, planned.stderr
    data = Path(ctx.data_dir) / homeserver
    assert f"+ find {data} -mindepth 1 -delete" in planned.stdout
    assert f"+ tar -C {data} -xpf {folder}/homeserver-data.tar" in planned.stdout
