"""Check a written bundle with the real programs that read it, on a copy with paths redirected."""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import yaml

from wizard.answers.model import Homeserver, load_answers_file
from wizard.answers.secret_store import load_secrets
from wizard.bundle import conduit, dendrite, dendrite_build
from wizard.bundle.conduit_family import MEMBERS
from wizard.bundle.context import RenderContext
from wizard.errors import WizardError
from wizard.verify import proxy_checks
from wizard.verify.conduit_rules import check_conduit_file
from wizard.verify.known_keys import check_dendrite_file

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


def _redirected_synapse_config(work: Workspace, relative: str) -> str | None:
    """Move a Synapse config's paths into the copy; return why it cannot be read, if so."""
    path = work.path(relative)
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        return f"not valid YAML: {error}"
    if not isinstance(config, dict):
        return "not a mapping of settings"
    config_dir = work.path("synapse")
    moved = {
        "log_config": config_dir / "log.config",
        "worker_log_config": config_dir / "log.config",
        "signing_key_path": config_dir / "signing.key",
        "media_store_path": work.scratch / "media_store",
        "pid_file": work.scratch / "homeserver.pid",
    }
    for key, value in moved.items():
        if key in config:
            config[key] = str(value)
    authorities = config.get("federation_custom_ca_list")
    if isinstance(authorities, list) and not all(Path(str(ca)).is_file() for ca in authorities):
        # A private federation's CA is a file of the server, not of the bundle: Synapse reads
        # it there when it starts.
        del config["federation_custom_ca_list"]
    database = config.get("database", {})
    if isinstance(database, dict) and database.get("name") == "sqlite3":
        database.setdefault("args", {})["database"] = str(work.scratch / "homeserver.db")
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return None


def synapse_checker(relative: str) -> "Checker":
    """Return a checker running `python -m synapse.config` on homeserver.yaml (and a worker's)."""
    main = "synapse/homeserver.yaml"

    def check(work: Workspace) -> CheckResult:
        python = synapse_python()
        if python is None:
            return CheckResult(
                relative, "synapse.config", "not-checked", "Synapse is not installed"
            )
        files = [main] if relative == main else [main, relative]
        for name in files:
            problem = _redirected_synapse_config(work, name)
            if problem:
                return CheckResult(relative, "synapse.config", "failed", f"{name}: {problem}")
        argv = [python, "-m", "synapse.config"]
        for name in files:
            argv += ["-c", str(work.path(name))]
        ok, output = run_program(argv, work.scratch)
        if not ok and "DependencyException" in output:
            missing = output.strip().splitlines()[-1]
            return CheckResult(
                relative,
                "synapse.config",
                "not-checked",
                f"this Synapse lacks an optional dependency the config needs ({missing}); "
                "the Synapse image has it",
            )
        return CheckResult(
            relative, "synapse.config", "passed" if ok else "failed", last_lines(output)
        )

    return check


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
    context = _bundle_context(work.bundle)
    if context is not None:
        # The file names the bundle's files where apply.sh installs them: point those at the copy.
        path = work.path(relative)
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace(f"{context.install_dir}/", f"{work.bundle}/"), "utf-8")
    ok, output = run_program([compose, "-f", str(work.path(relative)), "config", "-q"], work.bundle)
    return CheckResult(relative, "docker-compose", "passed" if ok else "failed", last_lines(output))


def _result(relative: str, checker: str, problems: list[str]) -> CheckResult:
    """Return a result from a list of problems: none means passed."""
    return CheckResult(relative, checker, "failed" if problems else "passed", "\n".join(problems))


def check_nginx(work: Workspace) -> CheckResult:
    """Validate the nginx site with `nginx -t` inside a minimal nginx.conf."""
    relative = "nginx/matrix.conf"
    nginx = shutil.which("nginx") or _sbin("nginx")
    if nginx is None:
        return CheckResult(relative, "nginx -t", "not-checked", "nginx is not installed")
    ok, output = proxy_checks.nginx_test(work.path(relative), nginx)
    return CheckResult(relative, "nginx -t", "passed" if ok else "failed", last_lines(output))


def check_caddy(work: Workspace) -> CheckResult:
    """Validate the Caddyfile with `caddy validate`."""
    relative = "caddy/Caddyfile"
    caddy = shutil.which("caddy")
    if caddy is None:
        return CheckResult(relative, "caddy validate", "not-checked", "caddy is not installed")
    ok, output = proxy_checks.caddy_validate(work.path(relative), caddy)
    return CheckResult(relative, "caddy validate", "passed" if ok else "failed", last_lines(output))


def check_traefik(work: Workspace) -> CheckResult:
    """Start Traefik on loopback with the bundle's config and read its routers back."""
    relative = "traefik/traefik.yml"
    traefik = proxy_checks.find_traefik()
    if traefik is None:
        return CheckResult(relative, "traefik", "not-checked", "traefik is not installed")
    problems = proxy_checks.check_traefik(
        work.path(relative), work.path("traefik/dynamic.yml"), traefik
    )
    return _result(relative, "traefik", problems)


def check_dendrite(work: Workspace) -> CheckResult:
    """Check dendrite.yaml against Dendrite's known keys and start-up rules."""
    relative = "dendrite/dendrite.yaml"
    context = _bundle_context(work.bundle)
    config_dir = context.hs_config_dir if context else None
    flags = dendrite.start_flags(context) if context else ()
    problems = check_dendrite_file(work.path(relative), config_dir=config_dir, flags=flags)
    return _result(relative, "dendrite known keys", problems)


def conduit_family_checker(homeserver: Homeserver) -> "Checker":
    """Return a checker of a Conduit-family TOML config: known keys and start-up rules."""
    relative = f"{homeserver.value}/{conduit.config_name(homeserver)}"

    def check(work: Workspace) -> CheckResult:
        problems = check_conduit_file(work.path(relative), homeserver)
        return _result(relative, f"{homeserver.value} known keys", problems)

    return check


def check_turnserver(work: Workspace) -> CheckResult:
    """Report coturn's config as not checked: coturn has no check mode and only logs bad keys."""
    return CheckResult(
        "coturn/turnserver.conf",
        "turnserver",
        "not-checked",
        "coturn has no check mode: it logs unknown keys and keeps running",
    )


def check_mas(work: Workspace) -> CheckResult:
    """Check MAS's config with `mas-cli config check` where MAS is installed, else say why not."""
    relative = "mas/config.yaml"
    program = shutil.which("mas-cli")
    if program is None:
        return CheckResult(
            relative,
            "mas-cli config check",
            "not-checked",
            "mas-cli is not installed (no package registry serves it); check it on the server "
            "with mas-cli config check (README)",
        )
    ok, output = run_program(
        [program, "config", "check", "--config", str(work.path(relative))], work.scratch
    )
    return CheckResult(
        relative, "mas-cli config check", "passed" if ok else "failed", last_lines(output)
    )


def shell_checker(relative: str) -> "Checker":
    """Return a checker that parses a shell script with `sh -n` without running it."""

    def check(work: Workspace) -> CheckResult:
        ok, output = run_program(["sh", "-n", str(work.path(relative))], work.scratch)
        return CheckResult(relative, "sh -n", "passed" if ok else "failed", last_lines(output))

    return check


def _sbin(program: str) -> str | None:
    """Return a program from /usr/sbin, which a non-root PATH often lacks."""
    path = Path("/usr/sbin") / program
    return str(path) if path.is_file() else None


def _bundle_context(bundle: Path) -> RenderContext | None:
    """Return the render context of a bundle from its own answers and secrets, if readable."""
    try:
        answers, _ = load_answers_file(bundle / "answers.yaml")
        secrets = load_secrets(bundle)
    except WizardError:
        return None
    return RenderContext(answers=answers, facts=None, secrets=secrets)


Checker = Callable[[Workspace], CheckResult]

CHECKERS: dict[str, Checker] = {
    "synapse/homeserver.yaml": synapse_checker("synapse/homeserver.yaml"),
    "dendrite/dendrite.yaml": check_dendrite,
    **{
        f"{homeserver.value}/{conduit.config_name(homeserver)}": conduit_family_checker(homeserver)
        for homeserver in MEMBERS
    },
    "nginx/matrix.conf": check_nginx,
    "caddy/Caddyfile": check_caddy,
    "traefik/traefik.yml": check_traefik,
    "prometheus/prometheus.yml": check_prometheus,
    "docker-compose.yml": check_compose,
    "coturn/turnserver.conf": check_turnserver,
    "mas/config.yaml": check_mas,
    **{
        script: shell_checker(script)
        for script in (
            "apply.sh",
            "backup.sh",
            "restore.sh",
            "firewall.sh",
            dendrite_build.BUILD_SCRIPT,
        )
    },
}


def checkers_for(bundle_dir: Path) -> dict[str, Checker]:
    """Return the checker of every file the bundle holds, Synapse's worker configs included."""
    found = dict(CHECKERS)
    for worker in sorted((bundle_dir / "synapse" / "workers").glob("*.yaml")):
        relative = f"synapse/workers/{worker.name}"
        found[relative] = synapse_checker(relative)
    return {
        relative: checker
        for relative, checker in found.items()
        if (bundle_dir / relative).is_file()
    }


def _checked(relative: str, checker: Checker, work: Workspace) -> CheckResult:
    """Run one checker; a file edited into another encoding fails it with the reason."""
    try:
        return checker(work)
    except UnicodeDecodeError as error:
        byte = error.object[error.start]
        return CheckResult(
            relative,
            "utf-8",
            "failed",
            f"{relative} or a file it needs is not UTF-8 text (byte 0x{byte:02x} at offset "
            f"{error.start}): save it as UTF-8",
        )


def check_bundle(
    bundle_dir: Path, on_result: Callable[[CheckResult], None] | None = None
) -> list[CheckResult]:
    """Run every checker that applies to the files of a bundle, each on its own copy, side by side.

    The checkers are other programs, so they run in threads, as many at once as the machine
    has cores (at least two). on_result hears of each result in the calling thread as it
    comes; the list returned keeps the checkers' fixed order.
    """
    checkers = checkers_for(bundle_dir)
    results: dict[str, CheckResult] = {}
    with (
        tempfile.TemporaryDirectory(prefix="matrix-wizard-check-") as temporary,
        ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1)) as pool,
    ):
        pending = {
            pool.submit(_check_a_copy, relative, checker, bundle_dir, Path(temporary)): relative
            for relative, checker in checkers.items()
        }
        for finished in as_completed(pending):
            result = finished.result()
            results[pending[finished]] = result
            if on_result is not None:
                on_result(result)
    return [results[relative] for relative in checkers]


def _check_a_copy(
    relative: str, checker: Checker, bundle_dir: Path, temporary: Path
) -> CheckResult:
    """Copy the bundle into a scratch folder of its own and run one checker there."""
    scratch = temporary / re.sub(r"[^A-Za-z0-9]+", "-", relative)
    copy = scratch / "bundle"
    shutil.copytree(bundle_dir, copy, symlinks=True)
    (scratch / "work").mkdir()
    return _checked(relative, checker, Workspace(bundle=copy, scratch=scratch / "work"))
