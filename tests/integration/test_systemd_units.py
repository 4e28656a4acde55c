"""The rendered units and drop-ins, loaded and checked by systemd-analyze verify."""

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.bundle_support import FIXED_SECRETS, answers_for
from tests.conftest import require_program
from wizard.bundle import backup, backup_timer, native, systemd
from wizard.bundle.context import RenderContext

pytestmark = pytest.mark.integration

STACKS: list[dict[str, Any]] = [
    {
        "homeserver": "synapse",
        "proxy": "caddy",
        "calls__turn": True,
        "calls__matrix_rtc": True,
        "calls__external_ip": "203.0.113.10",
        "monitoring__prometheus": True,
    },
    {"homeserver": "synapse", "database": "sqlite", "proxy": "traefik"},
    {"homeserver": "synapse", "database": "postgresql", "homeserver__workers": True},
    {"homeserver": "dendrite", "proxy": "nginx", "registration__mode": "open"},
    {"homeserver": "conduit", "proxy": "traefik", "monitoring__prometheus": True},
    {"homeserver": "continuwuity", "proxy": "caddy", "calls__turn": True},
    {"homeserver": "tuwunel", "proxy": "nginx", "registration__mode": "token"},
]
STACK_IDS = [
    "synapse-caddy",
    "synapse-traefik",
    "synapse-workers",
    "dendrite",
    "conduit",
    "continuwuity",
    "tuwunel",
]
# Units the distribution's packages install; the bundle only adds drop-ins to them.
PACKAGED = {"caddy", "coturn", "prometheus"}
# What the workers' template unit needs of Redis's packaged unit, where redis-server is absent.
REDIS_STAND_IN = (
    "[Unit]\nDescription=Stands in for the packaged Redis\n\n[Service]\nExecStart=/bin/true\n"
)


def _stub(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)


def _verify(unit_dir: Path, units: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_program("systemd-analyze"), "verify", "--man=no", *units],
        capture_output=True,
        text=True,
        timeout=120,
        # A trailing colon keeps the system's own unit folders after ours.
        env={**os.environ, "SYSTEMD_UNIT_PATH": f"{unit_dir}:"},
    )


def _installed(tmp_path: Path, sets: dict[str, Any]) -> tuple[RenderContext, Path, list[str]]:
    """Render a native bundle's units into a unit folder, with the programs they run in place."""
    answers = answers_for(
        deployment__kind="native", deployment__prefix=str(tmp_path / "host"), **sets
    )
    ctx = RenderContext(answers=answers, facts=None, secrets=FIXED_SECRETS)
    unit_dir = tmp_path / "units"
    for relative, file in systemd.render(ctx).items():
        if relative.startswith(f"{systemd.UNIT_FOLDER}/"):
            target = unit_dir / relative.removeprefix(f"{systemd.UNIT_FOLDER}/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(file.text, encoding="utf-8")
    _stub(Path(native.synapse_venv(ctx)) / "bin" / "python")
    for program in ("traefik", *native.HOMESERVER_PROGRAMS.values(), *native.CALL_RELEASES):
        _stub(Path(native.local_program(ctx, program)))
    units = []
    for name in systemd.start_order(ctx):
        base = Path("/lib/systemd/system") / f"{name}.service"
        if name in PACKAGED and not base.is_file():
            continue  # the package is not installed here: nothing to add the drop-in to
        if (unit_dir / f"{name}.service").is_file() or name in PACKAGED:
            units.append(f"{name}.service")
    workers = systemd.worker_units(ctx)
    if workers and not (Path("/lib/systemd/system") / systemd.redis_service()).is_file():
        (unit_dir / systemd.redis_service()).write_text(REDIS_STAND_IN, encoding="utf-8")
    units += [f"{name}.service" for name in workers]
    return ctx, unit_dir, units


@pytest.mark.parametrize("sets", STACKS, ids=STACK_IDS)
def test_systemd_accepts_every_unit_and_drop_in(tmp_path: Path, sets: dict[str, Any]) -> None:
    _, unit_dir, units = _installed(tmp_path, sets)
    assert units
    done = _verify(unit_dir, units)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr


def test_systemd_analyze_reports_a_broken_unit(tmp_path: Path) -> None:
    ctx, unit_dir, _ = _installed(tmp_path, STACKS[0])
    unit = unit_dir / "matrix-synapse.service"
    unit.write_text(unit.read_text().replace("Restart=on-failure", "Restart=sometimes"))
    shutil.rmtree(Path(native.synapse_venv(ctx)))
    done = _verify(unit_dir, ["matrix-synapse.service"])
    assert "sometimes" in done.stderr
    assert done.returncode != 0, done.stderr  # the venv's python is missing


# systemd-analyze rates a unit's exposure from 0 (locked down) to 10 (nothing restricted); the
# bundle's own units must stay under this. A unit with no sandbox at all rates about 9.6, and
# these units rated 7.0 (Traefik 5.2) before the sandbox of Synapse's hardened override.
MAX_EXPOSURE = 2.0


def _exposure(unit_dir: Path, unit: str) -> float:
    done = subprocess.run(
        [require_program("systemd-analyze"), "security", "--offline=yes", "--no-pager", unit],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=unit_dir,
    )
    if "Unknown option" in done.stderr or "unrecognized option" in done.stderr:
        pytest.skip("this systemd-analyze cannot rate a unit offline (systemd 252 or later can)")
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    return float(last.split(":")[-1].split()[0])


@pytest.mark.parametrize("sets", STACKS, ids=STACK_IDS)
def test_every_unit_the_bundle_writes_is_sandboxed(tmp_path: Path, sets: dict[str, Any]) -> None:
    _, unit_dir, _ = _installed(tmp_path, sets)
    full_units = sorted(
        path.name
        for path in unit_dir.glob("*.service")
        if path.is_file() and path.name != systemd.redis_service()
    )
    assert full_units
    for unit in full_units:
        assert _exposure(unit_dir, f"./{unit}") < MAX_EXPOSURE, unit


@pytest.mark.parametrize("kind", ["native", "compose"])
def test_systemd_accepts_the_backups_timer_and_its_service(tmp_path: Path, kind: str) -> None:
    answers = answers_for(deployment__kind=kind, deployment__prefix=str(tmp_path / "host"))
    ctx = RenderContext(answers=answers, facts=None, secrets=FIXED_SECRETS)
    unit_dir = tmp_path / "units"
    unit_dir.mkdir()
    for relative, file in backup_timer.render(ctx).items():
        (unit_dir / Path(relative).name).write_text(file.text, encoding="utf-8")
    _stub(Path(ctx.install_dir) / backup.BACKUP_SCRIPT)
    done = _verify(unit_dir, [backup_timer.TIMER_FILE, backup_timer.SERVICE_FILE])
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr
