"""Check a written bundle with the real programs that read it, on a copy with paths redirected."""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import yaml

Status = Literal["passed", "failed", "not-checked"]
TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class CheckResult:
    """What one checker said of one file."""

    file: str
    checker: str
    status: Status
    detail: str = ""

    def as_json(self) -> dict[str, str]:
        """Return the result as a JSON object."""
        return asdict(self)


@dataclass(frozen=True)
class Workspace:
    """A temporary copy of the bundle, where checkers may write and redirect paths."""

    bundle: Path
    scratch: Path

    def path(self, relative: str) -> Path:
        """Return the path of one bundle file in the copy."""
        return self.bundle / relative


def run_program(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[bool, str]:
    """Run a checker program and return whether it succeeded and what it said."""
    try:
        done = subprocess.run(
            argv,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False, f"{Path(argv[0]).name} did not finish within {TIMEOUT_SECONDS} s"
    output = (done.stdout + done.stderr).strip()
    return done.returncode == 0, output


def last_lines(text: str, count: int = 6) -> str:
    """Return the end of a program's output, where the reason usually is."""
    return "\n".join(text.strip().splitlines()[-count:])


def synapse_python() -> str | None:
    """Return a Python that can import Synapse, or None."""
    if importlib.util.find_spec("synapse") is not None:
        return sys.executable
    return None


def check_synapse(work: Workspace) -> CheckResult:
    """Validate homeserver.yaml with `python -m synapse.config`, paths moved into the copy."""
    relative = "synapse/homeserver.yaml"
    python = synapse_python()
    if python is None:
        return CheckResult(relative, "synapse.config", "not-checked", "Synapse is not installed")
    config_path = work.path(relative)
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config_dir = work.path("synapse")
    config["log_config"] = str(config_dir / "log.config")
    config["signing_key_path"] = str(config_dir / "signing.key")
    config["media_store_path"] = str(work.scratch / "media_store")
    config["pid_file"] = str(work.scratch / "homeserver.pid")
    database = config.get("database", {})
    if database.get("name") == "sqlite3":
        database.setdefault("args", {})["database"] = str(work.scratch / "homeserver.db")
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    ok, output = run_program([python, "-m", "synapse.config", "-c", str(config_path)], work.scratch)
    return CheckResult(relative, "synapse.config", "passed" if ok else "failed", last_lines(output))


def check_prometheus(work: Workspace) -> CheckResult:
    """Validate prometheus.yml with `promtool check config`."""
    relative = "prometheus/prometheus.yml"
    promtool = shutil.which("promtool")
    if promtool is None:
        return CheckResult(relative, "promtool", "not-checked", "promtool is not installed")
    ok, output = run_program([promtool, "check", "config", str(work.path(relative))], work.scratch)
    return CheckResult(relative, "promtool", "passed" if ok else "failed", last_lines(output))


def check_compose(work: Workspace) -> CheckResult:
    """Validate docker-compose.yml with `docker-compose config -q` (no daemon needed)."""
    relative = "docker-compose.yml"
    compose = shutil.which("docker-compose")
    if compose is None:
        return CheckResult(
            relative, "docker-compose", "not-checked", "docker-compose is not installed"
        )
    ok, output = run_program([compose, "-f", str(work.path(relative)), "config", "-q"], work.bundle)
    return CheckResult(relative, "docker-compose", "passed" if ok else "failed", last_lines(output))


Checker = Callable[[Workspace], CheckResult]

CHECKERS: dict[str, Checker] = {
    "synapse/homeserver.yaml": check_synapse,
    "prometheus/prometheus.yml": check_prometheus,
    "docker-compose.yml": check_compose,
}


def check_bundle(bundle_dir: Path, only: set[str] | None = None) -> list[CheckResult]:
    """Run every checker that applies to the files of a bundle, on a temporary copy."""
    results: list[CheckResult] = []
    with tempfile.TemporaryDirectory(prefix="matrix-wizard-check-") as temporary:
        for relative, checker in CHECKERS.items():
            if not (bundle_dir / relative).is_file() or (only and relative not in only):
                continue
            scratch = Path(temporary) / re.sub(r"[^A-Za-z0-9]+", "-", relative)
            copy = scratch / "bundle"
            shutil.copytree(bundle_dir, copy, symlinks=True)
            (scratch / "work").mkdir()
            results.append(checker(Workspace(bundle=copy, scratch=scratch / "work")))
    return results
