"""apply.sh for a deployment without containers: every action printed, and safe to run again."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.bundle_support import FIXED_SECRETS, answers_for
from wizard.bundle import backup, backup_timer, dendrite_build, native, systemd, versions
from wizard.bundle.context import RenderContext
from wizard.bundle.model import Bundle
from wizard.bundle.render import render

pytestmark = pytest.mark.integration


def _written(files: Bundle, folder: Path) -> Path:
    for relative, file in files.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(file.text, encoding="utf-8")
        target.chmod(file.mode)
    return folder


def _stage(tmp_path: Path, **sets: Any) -> tuple[RenderContext, Path]:
    answers = answers_for(
        deployment__kind="native", deployment__prefix=str(tmp_path / "host"), **sets
    )
    ctx = RenderContext(answers=answers, facts=None, secrets=FIXED_SECRETS)
    return ctx, _written(render(answers, None, FIXED_SECRETS), tmp_path / "bundle")


def _path_without(tmp_path: Path, *programs: str) -> dict[str, str]:
    """Return an environment whose PATH reports the given programs as failing (not installed)."""
    stubs = tmp_path / "stubs"
    stubs.mkdir(exist_ok=True)
    for program in programs:
        stub = stubs / program
        stub.write_text("#!/bin/sh\nexit 1\n")
        stub.chmod(0o755)
    return {**os.environ, "PATH": f"{stubs}:{os.environ['PATH']}"}


def _snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    return {
        str(path.relative_to(root)): (
            path.lstat().st_mode,
            path.read_bytes() if path.is_file() else b"",
        )
        for path in sorted(root.rglob("*"))
    }


def _run(script: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        ["sh", str(script), *args], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for secret in FIXED_SECRETS.values():
        assert secret not in done.stdout + done.stderr
    return done.stdout


def test_a_dry_run_prints_every_install_step_and_changes_nothing(tmp_path: Path) -> None:
    ctx, bundle = _stage(
        tmp_path, database="postgresql", calls__turn=True, monitoring__prometheus=True
    )
    no_packages = _path_without(tmp_path, "dpkg-query")
    before = _snapshot(tmp_path)
    out = _run(bundle / "apply.sh", "--dry-run", env=no_packages)
    assert _snapshot(tmp_path) == before
    staged = "   (staging: not done)"
    packages = " ".join(native.apt_packages(ctx))
    keep_configs = "-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"
    assert f"apt-get install -y -q --no-install-recommends {keep_configs} {packages}{staged}" in out
    assert "+ useradd --system --user-group --home-dir" in out
    venv = native.synapse_venv(ctx)
    assert f"+ python3 -m venv {venv}{staged}" in out
    assert f"+ {venv}/bin/pip install --quiet {native.synapse_requirement(ctx)}{staged}" in out
    unit_dir = systemd.unit_dir(ctx)
    for unit in systemd.unit_files(ctx):
        relative = unit.path.removeprefix(f"{systemd.UNIT_FOLDER}/")
        assert f"{bundle}/{unit.path} {unit_dir}/{relative}" in out
    assert f"+ systemctl daemon-reload{staged}" in out
    assert f"/postgres/init.sql{staged}" in out
    assert "(expecting UTF8|C|C)" in out
    assert "+ ln -sfn " in out
    started = [line for line in out.splitlines() if line.startswith("+ systemctl enable --now")]
    units = [*systemd.start_order(ctx), backup_timer.TIMER_FILE]  # the backups' timer last
    assert started == [f"+ systemctl enable --now {unit}{staged}" for unit in units]


def test_a_dry_run_for_traefik_fetches_a_checked_release(tmp_path: Path) -> None:
    ctx, bundle = _stage(tmp_path, proxy="traefik")
    out = _run(bundle / "apply.sh", "--dry-run")
    version = versions.TRAEFIK_VERSION
    assert f"{native.TRAEFIK_RELEASES}/v{version}/traefik_v{version}_checksums.txt" in out
    assert "+ verify_checksum " in out
    assert f"+ install -D -m 0755 $DOWNLOAD_FOLDER/traefik {native.traefik_binary(ctx)}" in out


def test_a_dry_run_for_dendrite_prints_each_step_of_building_the_pinned_release(
    tmp_path: Path,
) -> None:
    ctx, bundle = _stage(tmp_path, homeserver="dendrite")
    before = _snapshot(tmp_path)
    out = _run(bundle / "apply.sh", "--dry-run")
    assert _snapshot(tmp_path) == before
    module, version = versions.DENDRITE_MODULE, dendrite_build.module_version()
    script = f"{bundle}/{dendrite_build.BUILD_SCRIPT}"
    assert f"+ sh {script} {module} {version}   (staging: not done)" in out
    assert "golang.org/toolchain/@v/v0.0.1-go" in out
    assert f"building Dendrite {version} with Go {versions.GO_VERSION}" in out
    packages = f"{module}/cmd/dendrite@{version} {module}/cmd/create-account@{version}"
    assert f" install -trimpath {packages}\n" in out
    release = dendrite_build.program_dir(ctx)
    assert f" {release}\n" in out
    assert f"+ ln -sfn {release}/dendrite {native.local_program(ctx, 'dendrite')}\n" in out


def test_a_dry_run_for_dendrite_builds_nothing_when_its_release_folder_holds_the_programs(
    tmp_path: Path,
) -> None:
    ctx, bundle = _stage(tmp_path, homeserver="dendrite")
    release = Path(dendrite_build.program_dir(ctx))
    release.mkdir(parents=True)
    for program in dendrite_build.PROGRAMS:
        (release / program).write_text("#!/bin/sh\n")
        (release / program).chmod(0o755)
    out = _run(bundle / "apply.sh", "--dry-run")
    assert f"Dendrite {dendrite_build.module_version()} is built in {release}: nothing" in out
    assert "install -trimpath" not in out
    assert "golang.org/toolchain" not in out


def test_a_staging_run_installs_the_units_and_a_second_run_changes_nothing(
    tmp_path: Path,
) -> None:
    if os.geteuid() != 0:
        pytest.skip("apply.sh runs as root")
    ctx, bundle = _stage(tmp_path, proxy="caddy", calls__turn=True)
    first = _run(bundle / "apply.sh")
    host = _snapshot(tmp_path / "host")
    unit_dir = Path(systemd.unit_dir(ctx))
    for unit in systemd.unit_files(ctx):
        relative = unit.path.removeprefix(f"{systemd.UNIT_FOLDER}/")
        assert (unit_dir / relative).read_text() == unit.text()
    assert "systemctl daemon-reload" in first
    second = _run(bundle / "apply.sh")
    assert _snapshot(tmp_path / "host") == host
    assert "install -m 0644" not in second
    assert "systemctl daemon-reload" not in second
    assert "installing the systemd units" in second


def _venv_with(ctx: RenderContext, folder: Path, modules: list[str]) -> None:
    """Put a virtualenv in place whose python finds the pinned Synapse and only these modules."""
    site = folder / "site"
    (site / "synapse").mkdir(parents=True)
    (site / "synapse" / "__init__.py").write_text(f'__version__ = "{versions.SYNAPSE_VERSION}"\n')
    for module in modules:
        (site / f"{module}.py").write_text("")
    python = Path(native.synapse_venv(ctx)) / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\nPYTHONPATH={site} exec {sys.executable} -S "$@"\n')
    python.chmod(0o755)


@pytest.mark.parametrize("workers", [False, True])
def test_synapse_is_installed_again_when_the_venv_lacks_a_module_of_an_extra(
    tmp_path: Path, workers: bool
) -> None:
    ctx, bundle = _stage(tmp_path, database="postgresql", homeserver__workers=workers)
    _venv_with(ctx, tmp_path, ["psycopg2"])
    out = _run(bundle / "apply.sh", "--dry-run")
    pip = f"+ {native.synapse_venv(ctx)}/bin/pip install --quiet {native.synapse_requirement(ctx)}"
    assert (pip in out) is workers
    installed = f"Synapse {versions.SYNAPSE_VERSION} is installed in {native.synapse_venv(ctx)}"
    assert (installed in out) is not workers


def test_a_staging_run_schedules_backups_by_timer_in_place_of_cron_and_stops_it_when_off(
    tmp_path: Path,
) -> None:
    if os.geteuid() != 0:
        pytest.skip("apply.sh runs as root")
    ctx, bundle = _stage(tmp_path, database="sqlite")
    cron = Path(backup.cron_file(ctx))
    cron.parent.mkdir(parents=True)
    cron.write_text("15 3 * * * root /opt/matrix-wizard/backup.sh\n")
    first = _run(bundle / "apply.sh")
    assert not cron.exists()
    unit_dir = Path(systemd.unit_dir(ctx))
    for path, file in backup_timer.render(ctx).items():
        assert (unit_dir / path.removeprefix(f"{systemd.UNIT_FOLDER}/")).read_text() == file.text
    enable = "+ systemctl enable --now matrix-wizard-backup.timer   (staging: not done)"
    assert enable in first
    second = _run(bundle / "apply.sh")
    assert enable not in second
    assert "matrix-wizard-backup.timer is enabled and unchanged" in second
    assert "gives way to the systemd timer" not in second
    answers = answers_for(
        deployment__kind="native",
        deployment__prefix=str(tmp_path / "host"),
        database="sqlite",
        backups__enabled=False,
    )
    off = _run(_written(render(answers, None, FIXED_SECRETS), tmp_path / "off") / "apply.sh")
    assert "+ systemctl disable --now matrix-wizard-backup.timer   (staging: not done)" in off
    assert not (unit_dir / backup_timer.TIMER_FILE).exists()


def test_a_dry_run_with_matrix_rtc_says_which_call_programs_to_put_in_place(
    tmp_path: Path,
) -> None:
    calls = {"calls__matrix_rtc": True, "calls__external_ip": "203.0.113.10"}
    ctx, bundle = _stage(tmp_path, **calls)
    missing = _run(bundle / "apply.sh", "--dry-run")
    livekit, jwt = native.call_programs(ctx)
    assert f"not in place yet: {livekit} {jwt}; {native.call_programs_help(ctx)}" in missing
    for program in (livekit, jwt):
        Path(program).parent.mkdir(parents=True, exist_ok=True)
        Path(program).write_text("#!/bin/sh\n")
        Path(program).chmod(0o755)
    present = _run(bundle / "apply.sh", "--dry-run")
    assert "LiveKit and lk-jwt-service are in place for calls" in present
    assert f"+ systemctl enable --now {systemd.start_order(ctx)[-1]}" in present
