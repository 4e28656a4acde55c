"""A compose bundle applied for real: generated, applied with its own apply.sh, then taken down.

apply.sh runs as a person runs it, against the test's engine (DOCKER_HOST), under a staging
prefix so that the bundle's folders, data and certificate stay in the test's folder. Two things
stand in for a Docker host: `docker` is a two-line script that runs podman (apply.sh asks
`docker inspect` for the homeserver's health), and the README's `docker compose` commands run
with the older docker-compose program, as the README says they may.
"""

import shlex
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.compose import images
from tests.compose.engine import PROJECT_PREFIX, Engine, podman
from tests.e2e.support import CERTIFICATE, PRIVATE_KEY, SERVER_NAME, free_ports, generate
from tests.integration.proxy_runtime import self_signed
from tests.recovery.client import History, leave_history
from wizard.bundle import apply_script, calls, element_web, layout
from wizard.bundle.context import RenderContext

DOCKER_SHIM = (
    "#!/bin/sh\n# Docker's CLI, as apply.sh uses it, is podman's here.\nexec podman \"$@\"\n"
)
LOG_TAIL = 80
PUBLISHED = ("http", "https", "federation", "turn", "turns", "prometheus", "grafana")


@dataclass
class ComposeRun:
    """A compose bundle under the engine: its files, context, and the environment of apply.sh."""

    folder: Path
    bundle: Path
    ctx: RenderContext
    env: dict[str, str]

    @property
    def install_dir(self) -> Path:
        """Return where apply.sh placed the bundle."""
        return Path(self.ctx.install_dir)

    @property
    def compose_file(self) -> str:
        """Return the installed docker-compose.yml."""
        return layout.compose_file(self.ctx)

    def compose(self, *args: str, check: bool = True, timeout: float = 300) -> str:
        """Run docker-compose on the installed bundle and return what it printed."""
        done = subprocess.run(
            ["docker-compose", "-f", self.compose_file, *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"docker-compose {' '.join(args)}:\n{done.stdout}{done.stderr}")
        return done.stdout + done.stderr

    def _apply(self, *options: str) -> tuple[int, str]:
        """Run the bundle's apply.sh as root would; return its exit status and output."""
        done = subprocess.run(
            ["sh", str(self.bundle / "apply.sh"), *options],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=900,
            check=False,
        )
        return done.returncode, done.stdout + done.stderr

    def apply(self, *options: str) -> str:
        """Run the bundle's apply.sh as root would and return its output; fail with it otherwise."""
        status, output = self._apply(*options)
        assert status == 0, f"apply.sh failed:\n{output}\n{self.logs()}"
        return output

    def apply_expecting_failure(self, *options: str) -> str:
        """Run apply.sh, which must stop with an error; return its output."""
        status, output = self._apply(*options)
        assert status != 0, f"apply.sh did not stop:\n{output}"
        return output

    def regenerate(self, answers: dict[str, Any]) -> None:
        """Write changed answers and generate the bundle again into the same folder."""
        _, _, self.ctx = generate(self.folder, answers)

    def readme_command(self, command: str) -> list[str]:
        """Return a README `docker compose` command as docker-compose runs it without a terminal."""
        assert command in (self.install_dir / "README.md").read_text(encoding="utf-8")
        words = shlex.split(command)
        assert words[:3] == ["docker", "compose", "exec"], command
        return ["docker-compose", "-f", self.compose_file, "exec", "-T", *words[3:]]

    def register(self, user: str, password: str) -> None:
        """Create a user with the README's register_new_matrix_user command."""
        command = apply_script.admin_command(self.ctx)
        assert command is not None
        argv = [*self.readme_command(command), "-u", user, "-p", password]
        done = subprocess.run(
            argv, capture_output=True, text=True, env=self.env, timeout=300, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Success" in done.stdout

    def leave_history(self, users: tuple[str, str], password: str, data: bytes) -> History:
        """Make two users with the README's command; they talk through the proxy, share a file."""
        for user in users:
            self.register(user, password)
        first, second = (f"@{user}:{self.ctx.server_name}" for user in users)
        return leave_history(self.ctx.public_baseurl.rstrip("/"), (first, second), password, data)

    def inspect(self, service: str, template: str) -> str:
        """Return a field of the engine's view of a service's container, by a Go template."""
        container = self.compose("ps", "-q", service).strip()
        assert container, f"{service} has no container"
        return podman("inspect", "--format", template, container).strip()

    def health(self, service: str) -> str:
        """Return the health the engine reports for a service's container."""
        return self.inspect(service, "{{.State.Health.Status}}")

    def main_pid(self, service: str) -> int:
        """Return the host's process ID of the service's main process (0 when not running)."""
        return int(self.inspect(service, "{{.State.Pid}}"))

    def logs(self) -> str:
        """Return the end of every service's log, for a failure message."""
        return self.compose("logs", "--no-color", f"--tail={LOG_TAIL}", check=False)

    def down(self) -> None:
        """Stop and remove the stack's containers and network."""
        self.compose("down", "--remove-orphans", "--timeout", "30", check=False)


def docker_shim(folder: Path) -> Path:
    """Write the `docker` stand-in into a folder and return the folder."""
    folder.mkdir(exist_ok=True)
    shim = folder / "docker"
    shim.write_text(DOCKER_SHIM, encoding="utf-8")
    shim.chmod(0o755)
    return folder


def synapse_nginx_answers(database: str) -> dict[str, Any]:
    """Return the answers of Synapse on a database behind nginx under compose, free ports."""
    return {
        "homeserver": {"kind": "synapse", "tier": "minimum"},
        "domain": {"server_name": SERVER_NAME},
        "database": {"kind": database},
        "proxy": {
            "kind": "nginx",
            "tls": "files",
            "cert_path": CERTIFICATE,
            "key_path": PRIVATE_KEY,
        },
        "deployment": {"kind": "compose", "ports": ports_for_run()},
    }


def ports_for_run() -> dict[str, int]:
    """Return free host ports for what the stack publishes, and defaults for the rest."""
    return dict(zip(PUBLISHED, free_ports(len(PUBLISHED)), strict=True))


def certificate(ctx: RenderContext) -> None:
    """Make the self-signed certificate the bundle's proxy and coturn read, under the prefix."""
    chain = Path(ctx.host_path(CERTIFICATE))
    chain.parent.mkdir(parents=True, exist_ok=True)
    hosts = [ctx.homeserver_host, ctx.server_name_host, calls.turn_host(ctx)]
    if element_web.enabled(ctx):
        hosts.append(element_web.host(ctx))
    made, key = self_signed(chain.parent, hosts)
    made.rename(chain)
    key.rename(ctx.host_path(PRIVATE_KEY))


def compose_services(bundle: Path) -> dict[str, Any]:
    """Return the services of the bundle's docker-compose.yml."""
    text = (bundle / "docker-compose.yml").read_text(encoding="utf-8")
    services: dict[str, Any] = yaml.safe_load(text)["services"]
    return services


def pulled_images(bundle: Path, ctx: RenderContext) -> dict[str, str]:
    """Return the image each service pulls, or builds on (the FROM of a bundle's Dockerfile)."""
    pulled = {}
    for name, service in compose_services(bundle).items():
        if "build" not in service:
            pulled[name] = service["image"]
            continue
        context = Path(service["build"]["context"]).relative_to(ctx.install_dir)
        dockerfile = bundle / context / "Dockerfile"
        lines = dockerfile.read_text(encoding="utf-8").splitlines()
        pulled[name] = next(line.split()[1] for line in lines if line.startswith("FROM "))
    return pulled


def build_images(bundle: Path, ctx: RenderContext) -> None:
    """Build a stand-in for each image the stack pulls; remove images the bundle builds itself.

    An image the bundle builds is removed first, so that apply.sh's `up` builds it again from
    the bundle's Dockerfile (on the stand-in it names) rather than reusing an earlier build.
    """
    by_image = {stand_in.image: name for name, stand_in in images.STAND_INS.items()}
    services = compose_services(bundle)
    for name, image in pulled_images(bundle, ctx).items():
        assert image in by_image, f"no stand-in for {name}'s image {image}"
        images.build(by_image[image])
        if "build" in services[name]:
            podman("image", "rm", "--force", services[name]["image"], check=False)


def prepare(folder: Path, engine: Engine, answers: dict[str, Any]) -> ComposeRun:
    """Generate the bundle, make its certificate and images, and the environment to apply it."""
    bundle, _, ctx = generate(folder, answers)
    certificate(ctx)
    build_images(bundle, ctx)
    shims = docker_shim(folder / "bin")
    env = engine.env(
        COMPOSE_PROJECT_NAME=f"{PROJECT_PREFIX}{folder.name.replace('_', '').lower()}"[:48],
        PATH=f"{shims}:{engine.env()['PATH']}",
    )
    return ComposeRun(folder, bundle, ctx, env)


def own_address() -> str:
    """Return this machine's address on its default route, which TURN relays to in the test."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the route
        address: str = probe.getsockname()[0]
    assert not address.startswith("127."), "the TURN check needs an address besides loopback"
    return address
