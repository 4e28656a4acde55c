"""Native apply.sh with Synapse workers: Redis, then Synapse, then its workers, and stale ones go.

Most tests run apply.sh for real under a staging prefix, where each systemctl action is printed
as "(staging: not done)" and a unit counts as running once an earlier staging run started it.
The last ones run apply.sh's own functions with systemctl, curl and sleep replaced by stubs,
for what only a host with systemd does: listing the worker instances, waiting for /health.
That the units really start, and that the workers serve, is not proven here.
"""

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.bundle_support import FIXED_SECRETS, answers_for
from tests.e2e.support import require_root
from wizard.bundle import apply_script, synapse_workers, systemd
from wizard.bundle.context import RenderContext
from wizard.bundle.render import render

pytestmark = pytest.mark.integration

STAGED = "   (staging: not done)"
WORKERS: dict[str, Any] = {"database": "postgresql", "homeserver__workers": True}


class Host:
    """A staging prefix and the folder its native bundle is written to, again after a change."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ctx = self.write(**WORKERS)

    def write(self, **sets: Any) -> RenderContext:
        """Write the bundle for these answers in place of the last one, as `generate` does."""
        answers = answers_for(
            deployment__kind="native", deployment__prefix=str(self.folder / "host"), **sets
        )
        bundle = self.folder / "bundle"
        shutil.rmtree(bundle, ignore_errors=True)
        for relative, file in render(answers, None, FIXED_SECRETS).items():
            target = bundle / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(file.text, encoding="utf-8")
            target.chmod(file.mode)
        return RenderContext(answers=answers, facts=None, secrets=FIXED_SECRETS)

    def apply(self, *args: str) -> str:
        """Run apply.sh with sh and return what it printed."""
        done = subprocess.run(
            ["sh", str(self.folder / "bundle" / "apply.sh"), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout


def systemctl(out: str) -> list[str]:
    """Return each systemctl action apply.sh printed, without the systemctl and the staging."""
    return re.findall(rf"^\+ systemctl (.+){re.escape(STAGED)}$", out, flags=re.MULTILINE)


def synapse_actions(out: str) -> list[str]:
    """Return the systemctl actions on Synapse, its workers and Redis, leaving out the proxy's."""
    return [action for action in systemctl(out) if "synapse" in action or "redis" in action]


@pytest.fixture
def host(tmp_path: Path) -> Host:
    """Return a staging host with a native bundle whose Synapse runs workers."""
    require_root()
    return Host(tmp_path)


def test_redis_then_synapse_then_each_worker_side_by_side_then_the_proxy(host: Host) -> None:
    workers = systemd.worker_units(host.ctx)
    expected = [
        "enable --now redis-server",
        "enable --now matrix-synapse",
        *(f"--no-block enable --now {unit}" for unit in workers),
        "enable --now nginx",
        "daemon-reload",  # for the backups' timer, installed and enabled last
        "enable --now matrix-wizard-backup.timer",
    ]
    out = host.apply("--dry-run")
    assert systemctl(out)[1:] == expected  # after daemon-reload
    polls = re.findall(r"^\+ poll until (\S+) answers \((\S+)\)", out, flags=re.MULTILINE)
    assert polls == [
        (f"http://127.0.0.1:{synapse_workers.port(host.ctx, worker)}/health", unit)
        for worker, unit in zip(synapse_workers.workers(host.ctx), workers, strict=True)
    ]
    assert systemctl(host.apply())[1:] == expected


def test_applied_again_the_workers_are_left_running(host: Host) -> None:
    host.apply()
    out = host.apply()
    assert systemctl(out) == ["enable --now redis-server"]
    for unit in ["matrix-synapse", *systemd.worker_units(host.ctx)]:
        assert f"    {unit}: no file changed, left running" in out


def test_a_changed_homeserver_yaml_restarts_synapse_and_with_it_the_workers(host: Host) -> None:
    host.apply()
    host.write(**WORKERS, media__max_upload_mb=80)
    out = host.apply()
    assert synapse_actions(out) == ["enable --now redis-server", "restart matrix-synapse"]
    for unit in systemd.worker_units(host.ctx):
        assert f"    {unit}: synapse/homeserver.yaml changed" in out
        assert f"    {unit}: restarted along with matrix-synapse, which it requires" in out


def test_a_changed_template_unit_restarts_the_workers_and_not_synapse(host: Host) -> None:
    host.apply()
    template = host.folder / "bundle" / systemd.unit_path(systemd.worker_template())
    template.write_text(template.read_text(encoding="utf-8") + "LimitNOFILE=4096\n")
    out = host.apply()
    assert systemctl(out) == [
        "daemon-reload",
        "enable --now redis-server",
        *(f"--no-block restart {unit}" for unit in systemd.worker_units(host.ctx)),
    ]
    assert "    matrix-synapse: no file changed, left running" in out


def test_workers_the_bundle_drops_are_stopped_before_synapse_restarts(host: Host) -> None:
    host.apply()
    workers = systemd.worker_units(host.ctx)
    host.write(database="postgresql", homeserver__workers=False)
    out = host.apply()
    stopped = [f"disable --now {unit}" for unit in sorted(workers)]
    assert synapse_actions(out) == [*stopped, "restart matrix-synapse"]
    for unit in workers:
        assert f"    {unit}: this bundle has no such worker any more" in out
    assert "waiting for the Synapse workers" not in out

    again = host.apply()
    assert systemctl(again) == []
    assert "no such worker" not in again


# --- apply.sh's own functions, on a host whose systemd and workers are stubs -------------------

SYSTEMCTL = """#!/bin/sh
# Logs each call; answers for the units listed in $STUBS/units as: name active-state enabled.
echo "systemctl $*" >>"$STUBS/calls"
units=$STUBS/units
case "$1" in
    list-units)
        # As systemd lists them, a failed one with a bullet, the description last.
        exec awk '{ print "● " $1 ".service loaded " $2 " running Synapse worker " $1 }' "$units"
        ;;
    is-active)
        exec awk -v u="$2" '$1 == u { s = $2 } END { print s ? s : "inactive" }' "$units"
        ;;
    is-enabled)
        exec awk -v u="$3" '$1 == u && $3 == "enabled" { found = 1 } END { exit !found }' "$units"
        ;;
esac
"""
CURL = """#!/bin/sh
# Answers on every port but $STUBS/silent's.
for arg in "$@"; do
    case "$arg" in *":$(cat "$STUBS/silent")/"*) exit 7 ;; esac
done
exit 0
"""


def _run_functions(tmp_path: Path, ctx: RenderContext, calls: str, units: str, silent: int) -> str:
    """Run the given calls after apply.sh's functions and settings, with stubbed programs."""
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    for name, text in (("systemctl", SYSTEMCTL), ("curl", CURL), ("sleep", "#!/bin/sh\n")):
        (stubs / name).write_text(text, encoding="utf-8")
        (stubs / name).chmod(0o755)
    (stubs / "units").write_text(units, encoding="utf-8")
    (stubs / "silent").write_text(str(silent), encoding="utf-8")
    script = apply_script.apply_script(ctx)
    functions = script[: script.index('\nif [ "$CERTIFICATE_RENEWED" = 1 ]')]
    record = tmp_path / "no-record"
    driver = f"{functions}\nCHECKSUM_RECORD={record}\nRESTARTED=\n{calls}\n"
    done = subprocess.run(
        ["sh", "-c", driver, str(tmp_path / "apply.sh")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": f"{stubs}:/usr/bin:/bin", "STUBS": str(stubs)},
    )
    calls_made = (stubs / "calls").read_text() if (stubs / "calls").exists() else ""
    return f"{done.returncode}\n{done.stdout}{done.stderr}\n{calls_made}"


def _host_workers() -> RenderContext:
    answers = answers_for(deployment__kind="native", **WORKERS)
    return RenderContext(answers=answers, facts=None, secrets=FIXED_SECRETS)


def test_on_a_host_the_workers_systemd_runs_that_the_bundle_lacks_are_stopped(
    tmp_path: Path,
) -> None:
    ctx = _host_workers()
    units = (
        "matrix-synapse-worker@sync1 active enabled\n"
        "matrix-synapse-worker@sync9 active enabled\n"
        "matrix-synapse-worker@reader7 failed enabled\n"
        "matrix-synapse-worker@gone3 inactive disabled\n"
    )
    out = _run_functions(tmp_path, ctx, "stop_stale_workers", units, silent=0)
    assert out.startswith("0\n"), out
    stopped = re.findall(r"^systemctl disable --now (\S+)$", out, flags=re.MULTILINE)
    assert stopped == ["matrix-synapse-worker@reader7", "matrix-synapse-worker@sync9"]
    assert "matrix-synapse-worker@sync9: this bundle has no such worker any more" in out


def test_on_a_host_a_worker_that_does_not_answer_is_named_with_its_log(tmp_path: Path) -> None:
    ctx = _host_workers()
    silent = synapse_workers.workers(ctx)[2]
    out = _run_functions(tmp_path, ctx, "wait_for_workers", "", synapse_workers.port(ctx, silent))
    assert out.startswith("1\n"), out
    unit = synapse_workers.unit(silent)
    url = f"http://127.0.0.1:{synapse_workers.port(ctx, silent)}/health"
    assert (
        f"apply.sh: the Synapse worker {unit} did not answer on {url} in 3 minutes; "
        f"read its log: journalctl -u {unit}"
    ) in out
    for worker in synapse_workers.workers(ctx)[:2]:
        assert f"    {synapse_workers.unit(worker)} answers" in out


def test_on_a_host_the_wait_ends_once_every_worker_answers(tmp_path: Path) -> None:
    ctx = _host_workers()
    out = _run_functions(tmp_path, ctx, "wait_for_workers", "", silent=1)
    assert out.startswith("0\n"), out
    for unit in systemd.worker_units(ctx):
        assert f"    {unit} answers" in out
