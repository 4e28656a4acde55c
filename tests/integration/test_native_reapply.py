"""Native apply.sh, applied again after a change, restarts the units whose files changed.

apply.sh runs for real under a staging prefix, where it touches no service of this host: each
systemctl action is printed as "(staging: not done)", and a unit counts as running once an
earlier staging run started it. This checks which units apply.sh would start, restart or leave
running, and when; that a restarted unit then serves the new files is not proven here.
"""

import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.bundle_support import reapply_answers, with_larger_uploads
from tests.e2e.support import generate, install_programs_apply_sh_fetches, require_root
from wizard.bundle import backup_timer, layout, shell, systemd
from wizard.bundle.context import RenderContext

pytestmark = pytest.mark.integration

ANSWERS = reapply_answers("native")
LARGER_UPLOADS = with_larger_uploads(ANSWERS)
STAGED = "   (staging: not done)"


class Host:
    """A staging prefix with a native bundle generated for it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.bundle, self.ctx = self.generate(ANSWERS)
        install_programs_apply_sh_fetches(self.ctx)

    def generate(self, answers: dict[str, Any]) -> tuple[Path, RenderContext]:
        """Write the bundle for these answers, as `generate` writes it again after a change."""
        bundle, _, ctx = generate(self.folder, answers)
        return bundle, ctx

    def apply(self, *args: str) -> str:
        """Run apply.sh with sh and return what it printed."""
        done = subprocess.run(
            ["sh", str(self.bundle / "apply.sh"), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def record(self) -> Path:
        """Return the file where apply.sh keeps the checksums of the files each unit reads."""
        return Path(layout.checksum_record(self.ctx))


def systemctl(action: str, out: str) -> list[str]:
    """Return the units of each `systemctl ACTION UNIT` apply.sh printed, in order."""
    pattern = rf"^\+ systemctl {action} (\S+){re.escape(STAGED)}$"
    return re.findall(pattern, out, flags=re.MULTILINE)


@pytest.fixture
def host(tmp_path: Path) -> Host:
    """Return a staging host with its native bundle; apply.sh runs only as root."""
    require_root()
    return Host(tmp_path)


def test_the_first_apply_starts_every_unit_and_a_dry_run_records_nothing(host: Host) -> None:
    # The backups' timer is enabled last, once the stack runs.
    started = [*systemd.start_order(host.ctx), backup_timer.TIMER_FILE]
    out = host.apply("--dry-run")
    assert not host.record().exists()
    assert systemctl("enable --now", out) == started

    out = host.apply()
    assert systemctl("enable --now", out) == started
    assert systemctl("restart", out) == []
    assert host.record().stat().st_mode & 0o777 == 0o600
    recorded = host.record().read_text(encoding="utf-8")
    assert {line.split()[0] for line in recorded.splitlines()} == {
        "matrix-synapse",
        "nginx",
        "coturn",
    }


def test_a_changed_answer_restarts_exactly_the_units_whose_files_changed(host: Host) -> None:
    host.apply()
    recorded = host.record().read_bytes()
    host.generate(LARGER_UPLOADS)

    out = host.apply("--dry-run")
    assert host.record().read_bytes() == recorded
    assert "    matrix-synapse: synapse/homeserver.yaml changed" in out
    assert systemctl("restart", out) == ["matrix-synapse", "nginx"]

    out = host.apply()
    assert systemctl("restart", out) == ["matrix-synapse", "nginx"]
    assert systemctl("enable --now", out) == []
    assert "    nginx: nginx/matrix.conf changed" in out
    assert "    coturn: no file changed, left running" in out
    assert host.record().read_bytes() != recorded

    out = host.apply()
    assert systemctl("restart", out) == []
    assert systemctl("enable --now", out) == []
    for unit in systemd.start_order(host.ctx):
        assert f"    {unit}: no file changed, left running" in out


def test_a_changed_unit_file_reloads_systemd_and_restarts_that_unit(host: Host) -> None:
    host.apply()
    drop_in = host.bundle / systemd.drop_in_path("coturn")
    drop_in.write_text(drop_in.read_text(encoding="utf-8") + "LimitNOFILE=4096\n")

    out = host.apply()
    assert f"+ systemctl daemon-reload{STAGED}" in out
    assert f"    coturn: {systemd.drop_in_path('coturn')} changed" in out
    assert systemctl("restart", out) == ["coturn"]


def test_a_certificate_replaced_by_hand_restarts_the_proxy_and_turn(host: Host) -> None:
    chain = Path(host.ctx.host_path(ANSWERS["proxy"]["cert_path"]))
    key = Path(host.ctx.host_path(ANSWERS["proxy"]["key_path"]))
    chain.parent.mkdir(parents=True)
    chain.write_text("the first chain\n", encoding="ascii")
    key.write_text("the first key\n", encoding="ascii")
    host.apply()
    assert systemctl("restart", host.apply()) == []

    chain.write_text("the renewed chain\n", encoding="ascii")
    out = host.apply()
    assert f"    nginx: {chain} changed" in out
    assert "    coturn: " in out and "fullchain.pem changed" in out  # its copy of the chain
    assert systemctl("restart", out) == ["nginx", "coturn"]


def test_a_unit_the_answers_add_is_started_and_the_others_left_running(host: Host) -> None:
    host.apply()
    host.generate({**ANSWERS, "monitoring": {"prometheus": True}})

    out = host.apply()
    assert systemctl("enable --now", out) == ["prometheus"]
    # Synapse's homeserver.yaml gains the metrics listener Prometheus scrapes.
    assert systemctl("restart", out) == ["matrix-synapse"]
    assert "    nginx: no file changed, left running" in out


class Units:
    """The start step of apply.sh, run without a prefix against a stand-in systemctl.

    The stand-in, first on PATH, records each call and answers is-active from a file the test
    writes; the units and their files are a small bundle in a temporary folder. This checks
    what apply.sh asks of systemd on a host, not that systemd then does it.
    """

    UNITS = ("first", "second")

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.calls = folder / "systemctl-calls.txt"
        self.active = folder / "active-units.txt"
        self.record = folder / "checksums.txt"
        self.bundle = folder / "bundle"
        for unit in self.UNITS:
            self.write(f"{unit}/{unit}.conf", "setting = 1\n")
            self.write(systemd.unit_path(unit), "[Service]\n")
        (folder / "units").mkdir()
        self.script = folder / "start.sh"
        self.script.write_text(self._script(), encoding="utf-8")

    def write(self, path: str, text: str) -> None:
        """Write one file of the bundle."""
        target = self.bundle / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def _script(self) -> str:
        """Return apply.sh's own start step, with the settings it reads, and the stand-in."""
        stand_in = self.folder / "bin" / "systemctl"
        stand_in.parent.mkdir()
        stand_in.write_text(
            f"#!/bin/sh\nprintf '%s\\n' \"$*\" >>{shlex.quote(str(self.calls))}\n"
            f'[ "$1" = is-active ] || exit 0\n'
            f'grep -qx "$3" {shlex.quote(str(self.active))}\n',
            encoding="utf-8",
        )
        stand_in.chmod(0o755)
        files = [(unit, unit, systemd.unit_path(unit)) for unit in self.UNITS]
        settings = {
            "PATH": f"{stand_in.parent}:$PATH",
            "INSTALL_DIR": str(self.bundle),
            "SOURCE_DIR": str(self.bundle),
            "PREFIX": "",
            "DRY_RUN": "0",
            "UNITS": " ".join(self.UNITS),
            "UNIT_FOLDER": systemd.UNIT_FOLDER,
            "UNIT_DIR": str(self.folder / "units"),
            "BACKUP_SERVICE": backup_timer.SERVICE_FILE,
            "BACKUP_TIMER": backup_timer.TIMER_FILE,
            "NGINX_SITE": "",
            "HOMESERVER_BINARY": "",
            "HOMESERVER_UNIT": self.UNITS[0],
            "REDIS_UNIT": "",
            "WORKER_TEMPLATE": "",
            "WORKERS": "",
            "CALL_PROGRAMS": "",
            "CALL_PROGRAMS_HELP": "",
            "SERVICE_FILES": "\n".join(" ".join(row) for row in files),
            "CHECKSUM_RECORD": str(self.record),
        }
        assignments = "".join(
            f"{name}={value if name == 'PATH' else shlex.quote(value)}\n"
            for name, value in settings.items()
        )
        return (
            "set -eu\n"
            "say() { printf '\\n==> %s\\n' \"$*\"; }\n"
            "note() { printf '    %s\\n' \"$*\"; }\n"
            "fail() { printf '%s\\n' \"$*\" >&2; exit 1; }\n"
            'run() { printf \'+ %s\\n\' "$*"; "$@"; }\n'
            + shell.fragment("apply/checksums.sh")
            + shell.fragment("apply/start-native.sh", {"ready": "true"})
            + assignments
            + "start_stack\n"
        )

    def start(self, *running: str) -> tuple[str, list[str]]:
        """Run the start step with these units active; return its output and systemctl calls."""
        self.active.write_text("".join(f"{unit}\n" for unit in running), encoding="utf-8")
        self.calls.write_text("", encoding="utf-8")
        done = subprocess.run(
            ["sh", str(self.script)], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr
        calls = self.calls.read_text(encoding="utf-8").splitlines()
        return done.stdout, [call for call in calls if not call.startswith(("is-", "cat "))]


@pytest.fixture
def units(tmp_path: Path) -> Units:
    """Return two units and their files, with a stand-in systemctl none of them is active in."""
    return Units(tmp_path)


def test_on_a_host_units_running_before_checksums_were_kept_restart_once(units: Units) -> None:
    out, calls = units.start("first")
    assert calls == ["daemon-reload", "restart first", "enable --now second"]
    assert "    first: ran before checksums were recorded" in out

    out, calls = units.start("first", "second")
    assert calls == []
    assert "    second: no file changed, left running" in out


def test_on_a_host_an_active_unit_restarts_when_its_files_change(units: Units) -> None:
    units.start()
    units.write("second/second.conf", "setting = 2\n")

    out, calls = units.start("first", "second")
    assert calls == ["restart second"]
    assert "    second: second/second.conf changed" in out

    units.write("second/extra.conf", "more = 1\n")
    out, calls = units.start("first")
    assert calls == ["enable --now second"]
