"""apply.sh moving SQLite to PostgreSQL: which bundles carry it, its dry run, its disk refusal."""

import subprocess
from pathlib import Path

import pytest

from tests.bundle_support import FIXED_SECRETS, answers_for, context_for, facts_with
from tests.conftest import run_cli
from wizard.answers.model import DatabaseKind, Homeserver
from wizard.bundle import apply_script, migrate, readme, synapse
from wizard.bundle.render import render

# apply.sh's own helpers, as the move's functions call them.
HELPERS = """set -eu
DRY_RUN=0
PREFIX=/staging
HOMESERVER=synapse
say() { printf '\\n==> %s\\n' "$*"; }
note() { printf '    %s\\n' "$*"; }
fail() { printf 'apply.sh: %s\\n' "$*" >&2; exit 1; }
"""
# df -Pk as it answers for a disk with 100000 KB free, mounted on /srv.
SMALL_DISK_DF = """#!/bin/sh
echo 'Filesystem 1024-blocks Used Available Capacity Mounted on'
echo "/dev/vda1 1000000 900000 ${FREE_KB:-100000} 90% /srv"
"""


def postgres_apply_sh() -> str:
    """Return apply.sh of a native Synapse bundle on the bundled PostgreSQL."""
    ctx = context_for(answers_for(database="postgresql", deployment__kind="native"))
    return apply_script.apply_script(ctx)


def test_a_native_synapse_bundle_on_postgresql_moves_before_its_config_is_placed() -> None:
    text = postgres_apply_sh()
    ctx = context_for(answers_for(database="postgresql", deployment__kind="native"))
    assert f"MOVE_SQLITE={migrate.sqlite_path(ctx)}\n" in text
    assert migrate.sqlite_path(ctx).endswith("/synapse/homeserver.db")
    assert "MOVE_WHEN=before-install\n" in text
    main = text[text.rindex("check_root\ncheck_prerequisites") :]
    assert main.index("install_programs\n") < main.index("move_to_postgresql before-install\n")
    assert main.index("move_to_postgresql before-install\n") < main.index("copy_bundle\n")
    assert 'homeserver_run() {\n    program=$1\n    shift\n    "$SYNAPSE_VENV/bin/$program"' in text
    assert "MOVE_OWNER=-\n" in text  # the port runs as root, as apply.sh does
    assert FIXED_SECRETS.database_password not in text


def test_a_compose_synapse_bundle_on_postgresql_moves_once_postgresql_answers() -> None:
    # The running container keeps the SQLite config it started with; compose would start a
    # new one on the config this bundle places, so the move runs before the stack starts.
    ctx = context_for(answers_for(database="postgresql", deployment__kind="compose"))
    assert migrate.carries_move(ctx)
    text = apply_script.apply_script(ctx)
    assert "MOVE_WHEN=before-start\n" in text
    assert "MOVE_OWNER=991:991\n" in text
    main = text[text.rindex("check_root\ncheck_prerequisites") :]
    assert main.index("check_database\n") < main.index("move_to_postgresql before-start\n")
    assert main.index("move_to_postgresql before-start\n") < main.index("start_stack\n")
    assert '--entrypoint "$program" "$HOMESERVER"' in text
    assert 'exec -T "$HOMESERVER" "$program"' in text


def test_under_compose_the_moves_paths_are_those_synapses_containers_see(tmp_path: Path) -> None:
    ctx = context_for(answers_for(database="postgresql", deployment__kind="compose"))
    script = (
        HELPERS
        + migrate.move_step(ctx)
        + f"homeserver_path {migrate.sqlite_path(ctx)}\n"
        + f"homeserver_path {migrate.move_dir(ctx)}/snapshot.db\n"
    )
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["/data/homeserver.db", "/data/moved-to-postgresql/snapshot.db"]


def test_the_port_config_adds_a_key_the_bundles_config_does_not_have() -> None:
    # apply.sh appends background_updates to a copy of homeserver.yaml: twice would clash.
    ctx = context_for(answers_for(database="postgresql", deployment__kind="native"))
    assert "background_updates" not in synapse.homeserver_config(ctx)


@pytest.mark.parametrize(
    "sets",
    [
        {"database": "sqlite", "deployment__kind": "native"},
        {"homeserver": "dendrite", "database": "postgresql", "deployment__kind": "native"},
    ],
)
def test_bundles_with_nothing_to_move_carry_no_move(sets: dict[str, object]) -> None:
    ctx = context_for(answers_for(**sets))  # type: ignore[arg-type]
    assert not migrate.carries_move(ctx)
    text = apply_script.apply_script(ctx)
    assert migrate.NOTHING_TO_MOVE in text
    assert "synapse_port_db" not in text


@pytest.mark.parametrize("deployment", ["native", "compose"])
def test_synapse_on_an_external_postgresql_refuses_to_leave_sqlite_behind(
    deployment: str, tmp_path: Path
) -> None:
    ctx = context_for(
        answers_for(
            database="postgresql", deployment__kind=deployment, database__host="db.example.com"
        )
    )
    assert not migrate.carries_move(ctx)
    step = migrate.move_step(ctx).replace(migrate.sqlite_path(ctx), str(tmp_path / "homeserver.db"))
    script = HELPERS + step + "move_to_postgresql before-install\necho went on\n"
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)
    assert done.stdout.strip() == "went on"  # no SQLite file: nothing to say
    (tmp_path / "homeserver.db").write_bytes(b"\0")
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert done.stderr.startswith(f"apply.sh: {tmp_path}/homeserver.db holds Synapse's SQLite")
    assert "this bundle (with an external PostgreSQL) does not move it" in done.stderr


def write_bundle(tmp_path: Path) -> Path:
    """Write a native Synapse-on-PostgreSQL bundle staged under tmp_path/root; return its folder."""
    answers = answers_for(
        database="postgresql", deployment__kind="native", deployment__prefix=str(tmp_path / "root")
    )
    folder = tmp_path / "bundle"
    for path, file in render(answers, facts_with(), FIXED_SECRETS).items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(file.text, encoding="utf-8")
    return folder


def dry_run(folder: Path) -> str:
    done = subprocess.run(
        ["sh", str(folder / "apply.sh"), "--dry-run"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_dry_run_prints_every_step_of_the_move_when_sqlite_is_there(tmp_path: Path) -> None:
    folder = write_bundle(tmp_path)
    assert "moving" not in dry_run(folder)  # a fresh box: nothing to move
    ctx = context_for(
        answers_for(
            database="postgresql",
            deployment__kind="native",
            deployment__prefix=str(tmp_path / "root"),
        )
    )
    sqlite = Path(migrate.sqlite_path(ctx))
    sqlite.parent.mkdir(parents=True)
    sqlite.write_bytes(b"\0" * 4096)
    output = dry_run(folder)
    for number in range(1, 6):
        assert f"moving to PostgreSQL, {number} of 5" in output
    assert "+ systemctl stop matrix-synapse" in output
    assert "+ systemctl start matrix-synapse" in output
    assert output.count("synapse_port_db --sqlite-database") == 2
    assert f"+ mv {sqlite} {migrate.kept_sqlite_path(ctx)}" in output
    assert sqlite.is_file()  # a dry run changes nothing
    assert not Path(migrate.move_dir(ctx)).exists()


def check_disk(tmp_path: Path, sqlite_kb: int, free_kb: int) -> subprocess.CompletedProcess[str]:
    """Run the move's disk check with df answering free_kb for every folder."""
    tools = tmp_path / "tools"
    tools.mkdir(exist_ok=True)
    df = tools / "df"
    df.write_text(SMALL_DISK_DF, encoding="utf-8")
    df.chmod(0o755)
    ctx = context_for(answers_for(database="postgresql", deployment__kind="native"))
    script = (
        HELPERS + migrate.move_step(ctx) + f"check_move_disk {sqlite_kb} {tmp_path} {tmp_path}\n"
    )
    return subprocess.run(
        ["sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": f"{tools}:/usr/bin:/bin", "FREE_KB": str(free_kb)},
        check=False,
    )


def test_a_disk_too_small_for_the_copy_is_refused_in_one_line_with_the_numbers(
    tmp_path: Path,
) -> None:
    done = check_disk(tmp_path, sqlite_kb=300000, free_kb=100000)
    assert done.returncode == 1
    assert done.stderr == (
        "apply.sh: moving the SQLite database to PostgreSQL needs 943 MB free on /srv (x2 and "
        "64 MB for PostgreSQL's copy, x1 for a snapshot; the SQLite database is 293 MB), but only "
        "98 MB are free: free some space or grow the disk, then run apply.sh again\n"
    )


def test_a_disk_that_holds_the_copy_is_accepted(tmp_path: Path) -> None:
    done = check_disk(tmp_path, sqlite_kb=300000, free_kb=970000)
    assert done.returncode == 0, done.stderr
    assert "the SQLite database is 293 MB" in done.stdout


def test_the_cost_is_said_for_synapse_on_postgresql_only() -> None:
    cost = migrate.move_cost(Homeserver.SYNAPSE, DatabaseKind.POSTGRESQL)
    assert cost is not None
    assert "3 x the SQLite file plus 64 MB" in cost
    assert migrate.disk_needed(100) == 300 + 64 * 1024 * 1024
    assert migrate.move_cost(Homeserver.SYNAPSE, DatabaseKind.SQLITE) is None
    assert migrate.move_cost(Homeserver.DENDRITE, DatabaseKind.POSTGRESQL) is None


@pytest.mark.parametrize(("homeserver", "said"), [("synapse", True), ("dendrite", False)])
def test_plan_says_what_a_move_from_sqlite_costs_for_synapse(homeserver: str, said: bool) -> None:
    plan = ["plan", "--cpus", "2", "--ram", "4G", "--disk", "60G", "--homeserver", homeserver]
    done = run_cli(*plan)
    assert done.returncode == 0, done.stderr
    flat = " ".join(done.stdout.split())
    assert ("Moving Synapse from SQLite to PostgreSQL: apply.sh moves" in flat) is said
    if said:
        assert "3 x the SQLite file" in flat


def test_the_readme_says_how_a_move_goes_or_why_none_is_made() -> None:
    native = readme.readme_text(
        context_for(answers_for(database="postgresql", deployment__kind="native"))
    )
    assert "## Coming from SQLite" in native
    assert "moved-to-postgresql/state" in native and "apply.sh --dry-run" in native
    compose = readme.readme_text(context_for(answers_for(database="postgresql")))
    assert "moved-to-postgresql/state" in compose
    assert "do not restart it" in compose and "do not restart it" not in native
    external = readme.readme_text(
        context_for(answers_for(database="postgresql", database__host="db.example.com"))
    )
    assert "does not move an earlier SQLite database" in external
    sqlite = readme.readme_text(context_for(answers_for(database="sqlite")))
    assert "## Coming from SQLite" not in sqlite
