"""apply.sh under compose, applied again after a changed answer, restarts what reads changed files.

No container engine runs here: stand-ins for docker and docker-compose, first on PATH, record
each compose command apply.sh gives and answer its health checks. This checks which services
apply.sh tells compose to restart, and when; that a restarted container then serves the new
configuration is left to the test with a real engine, which comes separately.
"""

import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.bundle_support import reapply_answers, with_larger_uploads
from tests.conftest import run_cli
from tests.e2e.support import require_root
from wizard.answers.model import load_answers_file
from wizard.answers.secret_store import load_secrets
from wizard.bundle import layout
from wizard.bundle.context import RenderContext

pytestmark = pytest.mark.integration

ANSWERS = reapply_answers("compose")
LARGER_UPLOADS = with_larger_uploads(ANSWERS)


class Host:
    """A staging prefix with a bundle generated for it and stand-ins for the container engine."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.bundle = folder / "bundle"
        self.prefix = folder / "root"
        self.calls = folder / "compose-calls.txt"
        self.calls.touch()
        # What `docker-compose ps --services --filter status=running` answers, one a line.
        self.running = folder / "running-services.txt"
        self.running.touch()
        self.path = f"{self._stand_ins()}:{os.environ['PATH']}"

    def _stand_ins(self) -> Path:
        """Write docker (no compose plugin, all healthy) and a docker-compose that records."""
        folder = self.folder / "bin"
        folder.mkdir()
        programs = {
            # Health, or each running service's container, which no run here recreates.
            "docker": (
                '[ "$1" = inspect ] || exit 1\n'
                'case "$*" in *com.docker.compose.service*) '
                f"sed 's/$/ 0123456789ab/' {shlex.quote(str(self.running))} ;; "
                "*) echo healthy ;; esac\n"
            ),
            "docker-compose": (
                f"printf '%s\\n' \"$*\" >>{shlex.quote(str(self.calls))}\n"
                'case " $* " in *" ps -q "*) echo 0123456789ab ;; esac\n'
                'case " $* " in *" ps --services "*) '
                f"cat {shlex.quote(str(self.running))} ;; esac\n"
            ),
        }
        for name, body in programs.items():
            program = folder / name
            program.write_text(f"#!/bin/sh\n{body}", encoding="utf-8")
            program.chmod(0o755)
        return folder

    def generate(self, answers: dict[str, Any]) -> None:
        """Write the bundle for these answers, as `generate` writes it again after a change."""
        answers_file = self.folder / "answers.yaml"
        answers_file.write_text(yaml.safe_dump(answers), encoding="utf-8")
        out, prefix = str(self.bundle), str(self.prefix)
        done = run_cli("generate", "--answers", str(answers_file), "--out", out, "--prefix", prefix)
        assert done.returncode == 0, done.stdout + done.stderr

    def apply(self, *args: str) -> tuple[str, list[list[str]]]:
        """Run apply.sh with sh; return its output and the compose commands it gave, in order."""
        before = len(self.calls.read_text(encoding="utf-8").splitlines())
        done = subprocess.run(
            ["sh", str(self.bundle / "apply.sh"), *args],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PATH": self.path},
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        lines = self.calls.read_text(encoding="utf-8").splitlines()[before:]
        return done.stdout, [line.split()[2:] for line in lines]  # without -f docker-compose.yml

    def record(self) -> Path:
        """Return the file where apply.sh keeps the checksums of the files each service reads."""
        answers, _ = load_answers_file(self.bundle / "answers.yaml")
        ctx = RenderContext(answers=answers, facts=None, secrets=load_secrets(self.bundle))
        return Path(layout.checksum_record(ctx))


def changes(commands: list[list[str]]) -> list[list[str]]:
    """Return the compose commands that change something (all but ps, which only reads)."""
    return [command for command in commands if command[:1] != ["ps"]]


def restarts(commands: list[list[str]]) -> list[list[str]]:
    """Return the services of each `restart` among compose commands."""
    return [command[1:] for command in commands if command[:1] == ["restart"]]


@pytest.fixture
def host(tmp_path: Path) -> Host:
    """Return a staging host with its compose bundle; apply.sh runs only as root."""
    require_root()
    staged = Host(tmp_path)
    staged.generate(ANSWERS)
    return staged


def test_the_first_apply_restarts_nothing_and_a_dry_run_records_nothing(host: Host) -> None:
    out, commands = host.apply("--dry-run")
    assert changes(commands) == []
    assert not host.record().exists()
    assert "none recorded yet: this is the first start" in out

    out, commands = host.apply()
    assert ["up", "-d", "--remove-orphans"] in commands
    assert restarts(commands) == []
    assert host.record().stat().st_mode & 0o777 == 0o600
    recorded = host.record().read_text(encoding="utf-8")
    assert {line.split()[0] for line in recorded.splitlines()} == {"synapse", "nginx", "coturn"}


def test_a_changed_answer_restarts_exactly_the_services_whose_files_changed(host: Host) -> None:
    host.apply()
    host.running.write_text("synapse\nnginx\ncoturn\n", encoding="utf-8")
    recorded = host.record().read_bytes()
    host.generate(LARGER_UPLOADS)

    out, commands = host.apply("--dry-run")
    assert changes(commands) == []
    assert host.record().read_bytes() == recorded
    assert "    nginx: nginx/matrix.conf changed" in out
    assert "    synapse: synapse/homeserver.yaml changed" in out
    assert " restart nginx synapse\n" in out

    out, commands = host.apply()
    assert commands.index(["up", "-d", "--remove-orphans"]) < commands.index(
        ["restart", "nginx", "synapse"]
    )
    assert restarts(commands) == [["nginx", "synapse"]]
    assert "    synapse: synapse/homeserver.yaml changed" in out
    assert host.record().read_bytes() != recorded

    out, commands = host.apply()
    assert restarts(commands) == []
    assert "nothing to restart" in out


def test_a_stack_started_before_checksums_were_kept_restarts_once(host: Host) -> None:
    host.running.write_text("synapse\nnginx\n", encoding="utf-8")

    out, commands = host.apply("--dry-run")
    assert changes(commands) == []
    assert "these already ran: synapse nginx; restarted once" in out

    out, commands = host.apply()
    assert restarts(commands) == [["synapse", "nginx"]]
    assert host.record().exists()

    out, commands = host.apply()
    assert restarts(commands) == []
    assert "nothing to restart" in out
