"""A real container engine for the compose tests: podman serving the Docker API on a socket.

Debian's podman serves the API that docker-compose drives. The tests start it themselves, with
their own containers.conf, and stop it at the end. Podman runs healthchecks from systemd timers,
and no systemd runs here: a thread runs each running container's healthcheck once a second, as
Docker's engine would, so `depends_on: condition: service_healthy` goes on.
"""

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import require_program
from tests.waiting import wait_until

CONTAINERS_CONF = Path(__file__).resolve().parent / "containers.conf"
# The Debian packages the engine needs (.ci/run installs them).
ENGINE_PROGRAMS = ("podman", "docker-compose", "runc", "iptables", "debootstrap")
HEALTH_INTERVAL = 1.0
# Every test stack's compose project name, and every test box's name, starts so: what an
# interrupted run left is removed.
PROJECT_PREFIX = "mwtest"
PROJECT_LABEL = "com.docker.compose.project"


def engine_env() -> dict[str, str]:
    """Return the environment every podman command of the tests runs with."""
    return {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}


def podman(*args: str, timeout: float = 600, check: bool = True) -> str:
    """Run a podman command and return what it printed."""
    done = subprocess.run(
        ["podman", *args],
        capture_output=True,
        text=True,
        env=engine_env(),
        timeout=timeout,
        check=False,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def require_engine() -> None:
    """Skip outside CI without the engine's programs, fail in CI (CI=true), and need root."""
    for program in ENGINE_PROGRAMS:
        require_program(program)
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("the compose tests run as root in CI (.ci/run)")
        pytest.skip("the container engine runs as root here")


@dataclass
class Engine:
    """A running podman API service: DOCKER_HOST for docker-compose, and its healthcheck driver."""

    socket: Path
    log: Path
    process: subprocess.Popen[bytes]
    stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def docker_host(self) -> str:
        """Return the DOCKER_HOST value that points docker-compose at this engine."""
        return f"unix://{self.socket}"

    def env(self, **extra: str) -> dict[str, str]:
        """Return an environment in which docker-compose (and apply.sh) use this engine."""
        return {**engine_env(), "DOCKER_HOST": self.docker_host, **extra}

    def drive_healthchecks(self) -> None:
        """Run the healthcheck of each container not yet healthy, once a second, until the end."""
        while not self.stopping.wait(HEALTH_INTERVAL):
            listed = podman("ps", "--format", "json", check=False, timeout=60)
            for container in json.loads(listed or "[]"):
                # A healthy container stays so for the tests; Docker would go on checking it.
                if container.get("Status", "").endswith(("(starting)", "(unhealthy)")):
                    podman("healthcheck", "run", container["Id"], check=False, timeout=60)

    def answers(self) -> bool:
        """Return whether the API answers on the socket."""
        if self.process.poll() is not None:
            raise AssertionError(f"podman system service stopped:\n{self.log.read_text()}")
        probe = subprocess.run(
            ["podman", "--url", self.docker_host, "version"],
            capture_output=True,
            env=engine_env(),
            check=False,
        )
        return probe.returncode == 0


def remove_leftovers() -> None:
    """Remove the containers and networks of test stacks that an interrupted run left behind."""
    listed = json.loads(podman("ps", "--all", "--format", "json") or "[]")
    for container in listed:
        project = (container.get("Labels") or {}).get(PROJECT_LABEL, "")
        names = container.get("Names") or []
        if project.startswith(PROJECT_PREFIX) or any(n.startswith(PROJECT_PREFIX) for n in names):
            podman("rm", "--force", "--time", "5", container["Id"], check=False)
    for network in podman("network", "ls", "--format", "{{.Name}}").split():
        if network.startswith(PROJECT_PREFIX):
            podman("network", "rm", "--force", network, check=False)


@contextmanager
def running_engine(folder: Path) -> Iterator[Engine]:
    """Start `podman system service` on a socket in folder; stop it and its containers after."""
    require_engine()
    folder.mkdir(parents=True, exist_ok=True)
    socket = folder / "podman.sock"
    log = folder / "podman-service.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["podman", "system", "service", "--time=0", f"unix://{socket}"],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=engine_env(),
        )
    engine = Engine(socket, log, process)
    driver = threading.Thread(target=engine.drive_healthchecks, daemon=True)
    try:
        wait_until(engine.answers, "podman's API service to answer")
        remove_leftovers()
        driver.start()
        yield engine
    finally:
        engine.stopping.set()
        if driver.is_alive():
            driver.join(timeout=120)
        process.terminate()
        process.wait(timeout=60)
        shutil.rmtree(folder, ignore_errors=True)
