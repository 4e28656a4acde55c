"""apply.sh's compose database step, with stand-ins for docker and docker-compose on PATH.

No container engine runs here. The stand-ins record every command line apply.sh gives them,
with what it pipes in, and answer as the postgres container would: pg_isready ready, the
database's encoding and collation, and the roles query's answer each test sets. Proven: which
steps apply.sh takes in which order, the query and script it sends and as which role, what it
prints, and that a dry run runs nothing. Not proven here: docker compose and the postgres image
themselves; the script runs against a real PostgreSQL in test_compose_postgres_upgrade.py.
"""

import json
import os
import sys
from pathlib import Path
from subprocess import CompletedProcess, run
from typing import Any

import pytest

from tests.bundle_support import FIXED_SECRETS, answers_for
from tests.e2e.support import require_root
from wizard.bundle import apply_script, compose, postgres
from wizard.bundle.context import RenderContext
from wizard.bundle.render import render

pytestmark = pytest.mark.integration

STAND_IN = """#!{python}
import json, os, sys
args = sys.argv[1:]
call = {{"program": os.path.basename(sys.argv[0]), "args": args}}
if args[-2:] == ["-f", "-"]:
    call["stdin"] = sys.stdin.read()
with open(os.environ["STAND_IN_LOG"], "a") as log:
    log.write(json.dumps(call) + "\\n")
if args[:2] == ["compose", "version"]:
    sys.exit(1)
if args[:1] == ["inspect"]:
    print("healthy")
elif "ps" in args:
    print("c0ffee")
elif "-c" in args and "hand_over" in args[-1]:
    print(os.environ["STAND_IN_ROLES"])
elif "-c" in args:
    print("UTF8|C|C")
elif "stdin" in call and os.environ.get("STAND_IN_REFUSE"):
    print("ERROR:  refused by the stand-in", file=sys.stderr)
    sys.exit(3)
"""


def _stage(tmp_path: Path, **sets: Any) -> tuple[RenderContext, Path]:
    """Write a compose bundle with PostgreSQL that apply.sh stages under tmp_path/host."""
    answers = answers_for(
        "synapse", database="postgresql", deployment__prefix=str(tmp_path / "host"), **sets
    )
    bundle = tmp_path / "bundle"
    for relative, file in render(answers, None, FIXED_SECRETS).items():
        target = bundle / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(file.text, encoding="utf-8")
        target.chmod(file.mode)
    return RenderContext(answers=answers, facts=None, secrets=FIXED_SECRETS), bundle


def _apply(
    tmp_path: Path, bundle: Path, *args: str, roles: str = "", refuse: bool = False
) -> CompletedProcess[str]:
    """Run apply.sh with docker and docker-compose stand-ins first on PATH."""
    stand_ins = tmp_path / "stand-ins"
    stand_ins.mkdir(exist_ok=True)
    for program in ("docker", "docker-compose"):
        path = stand_ins / program
        path.write_text(STAND_IN.format(python=sys.executable))
        path.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{stand_ins}:{os.environ['PATH']}",
        "STAND_IN_LOG": str(tmp_path / "calls.jsonl"),
        "STAND_IN_ROLES": roles,
        "STAND_IN_REFUSE": "1" if refuse else "",
    }
    script = bundle / apply_script.APPLY_SCRIPT
    return run(["sh", str(script), *args], capture_output=True, text=True, env=env, timeout=120)


def _compose_calls(tmp_path: Path, ctx: RenderContext) -> list[dict[str, Any]]:
    """Return each docker-compose call apply.sh made, its arguments after `-f FILE`."""
    log = tmp_path / "calls.jsonl"
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    compose_file = f"{ctx.install_dir}/{compose.COMPOSE_FILE}"
    found = []
    for call in calls:
        if call["program"] == "docker-compose":
            assert call["args"][:2] == ["-f", compose_file]
            found.append({**call, "args": call["args"][2:]})
    return found


def _psql(ctx: RenderContext, role: str, *args: str) -> list[str]:
    database = ctx.answers.database
    return [
        *("exec", "-T", "postgres", "psql", "-X", "-U", role, "-d", database.name),
        *("-p", str(ctx.database_port), *args),
    ]


def test_an_older_cluster_is_handed_over_with_the_homeserver_stopped(tmp_path: Path) -> None:
    require_root()
    ctx, bundle = _stage(tmp_path, homeserver__workers=True)
    clients = compose.database_clients(ctx)
    assert len(clients) == 8  # Synapse and its seven workers
    user = ctx.answers.database.user
    done = _apply(tmp_path, bundle, roles=f"{user} t")
    assert done.returncode == 0, done.stdout + done.stderr
    # Without `ps`, which only reads which services run.
    calls = [call for call in _compose_calls(tmp_path, ctx) if call["args"][:1] != ["ps"]]
    script = (bundle / postgres.UPGRADE_ROLES_SQL).read_text()
    assert [call["args"] for call in calls[:7]] == [
        ["up", "-d", "postgres"],
        ["exec", "-T", "postgres", "pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432", "-U", user],
        _psql(ctx, user, "-tA", "-c", apply_script.DATABASE_QUERY),
        _psql(ctx, user, "-tA", "-F", " ", "-c", postgres.roles_query(ctx)),
        ["stop", *clients],
        _psql(ctx, user, "-q", "-f", "-"),
        ["up", "-d", "--remove-orphans"],
    ]
    assert calls[5]["stdin"] == script
    stops = f"{user}, the first superuser, becomes postgres: {' '.join(clients)} stops meanwhile"
    assert stops in done.stdout
    for value in FIXED_SECRETS.values():
        assert value not in done.stdout + done.stderr + script


def test_a_fresh_cluster_is_only_asked(tmp_path: Path) -> None:
    require_root()
    ctx, bundle = _stage(tmp_path)
    done = _apply(tmp_path, bundle, roles="")
    assert done.returncode == 0, done.stdout + done.stderr
    steps = [call["args"][:2] for call in _compose_calls(tmp_path, ctx)]
    assert ["stop", "synapse"] not in steps
    assert not any("stdin" in call for call in _compose_calls(tmp_path, ctx))
    assert ["up", "-d"] in steps
    assert "they are as on a fresh cluster: nothing to change" in done.stdout


def test_another_first_superuser_runs_the_script_and_nothing_stops(tmp_path: Path) -> None:
    require_root()
    ctx, bundle = _stage(tmp_path)
    done = _apply(tmp_path, bundle, roles="admin f")
    assert done.returncode == 0, done.stdout + done.stderr
    calls = _compose_calls(tmp_path, ctx)
    assert ["stop", "synapse"] not in [call["args"] for call in calls]
    assert [call["args"] for call in calls if "stdin" in call] == [
        _psql(ctx, "admin", "-q", "-f", "-")
    ]


def test_a_refused_script_stops_apply_before_the_stack_starts(tmp_path: Path) -> None:
    require_root()
    ctx, bundle = _stage(tmp_path)
    user = ctx.answers.database.user
    done = _apply(tmp_path, bundle, roles=f"{user} t", refuse=True)
    assert done.returncode == 1
    assert "the roles are unchanged (the change is one transaction)" in done.stderr
    assert ["up", "-d", "--remove-orphans"] not in [
        call["args"] for call in _compose_calls(tmp_path, ctx)
    ]


def test_a_dry_run_prints_the_upgrade_and_runs_nothing(tmp_path: Path) -> None:
    ctx, bundle = _stage(tmp_path)
    user, name = ctx.answers.database.user, ctx.answers.database.name
    done = _apply(tmp_path, bundle, "--dry-run", roles=f"{user} t")
    assert done.returncode == 0, done.stdout + done.stderr
    # Only `ps` runs, which reads which services run and changes nothing.
    assert [call["args"][0] for call in _compose_calls(tmp_path, ctx)] in ([], ["ps"])
    assert not (tmp_path / "host").exists()
    out = done.stdout
    compose_file = f"{ctx.install_dir}/{compose.COMPOSE_FILE}"
    assert f"if an older bundle made the cluster, {user} is its first superuser" in out
    assert "renames that superuser postgres (password of postgres/postgres.env)" in out
    assert f"owner of database {name} and of all in it" in out
    assert f"+ docker-compose -f {compose_file} stop synapse\n" in out
    script = f"{ctx.install_dir}/{postgres.UPGRADE_ROLES_SQL}"
    assert (
        f"+ docker-compose -f {compose_file} exec -T postgres psql -X -U {user} -d {name} "
        f"-p {ctx.database_port} -q -f - < {script}\n"
    ) in out
