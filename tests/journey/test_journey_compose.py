"""The journey with a compose bundle: a box with a container engine inside it, applied over SSH.

The box is privileged, as a virtual machine is to what runs in it, so that a container engine
runs inside it. Docker Engine is not in Debian's archive and no other registry is reachable:
the person's "install Docker" is played by Debian's podman with podman-docker (the `docker`
command and the Docker API socket, served by podman.socket under the box's systemd) and
docker-compose, and the box's engine finds the images the bundle pins in a read-only store of
this machine's stand-ins (tests/compose/images, tests/journey/image_store.py), where on a VPS
`up` pulls them. So what differs from a VPS, and is not proven here: Docker Engine itself, and
pulling from a registry.

Then, as in the native journey: `matrix-wizard apply --ssh` uploads and runs apply.sh with no
staging prefix (compose up in the box, the database check, the wait for a healthy Synapse,
the firewall loaded); the admin from the README's command, typed in the install folder as in
an SSH session there; matrix-nio through the box's published HTTPS port; apply again leaves
every container as it was (same container, same start time).
"""

import json
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.compose.engine import PROJECT_PREFIX, Engine
from tests.compose.stack import build_images, pulled_images
from tests.conftest import require_program
from tests.e2e.client import converse
from tests.e2e.support import SERVER_NAME, Timings
from tests.journey.box import Box, running_box
from tests.journey.image_store import BOX_STORAGE_CONF, image_store
from tests.journey.support import bundle_answers, generate_bundle, wizard
from tests.journey.test_journey import (
    MESSAGE,
    PASSWORD,
    USER,
    install_certificate,
    print_footprint,
)
from wizard.bundle import apply_script

pytestmark = [pytest.mark.journey, pytest.mark.slow]

# What the person installs before applying a compose bundle: an engine with the Docker command,
# API and compose (in place of Docker Engine), and what apply.sh's prerequisites name. Podman's
# own network stack (netavark, and aardvark-dns for service names) is chosen explicitly: with
# Debian's default CNI plugins, containers cannot resolve each other's names; netavark drives
# iptables.
ENGINE_PACKAGES = "podman podman-docker docker-compose netavark aardvark-dns iptables curl nftables"
NETWORK_CONF = "/etc/containers/containers.conf.d/network.conf"
STORAGE_CONF = "/etc/containers/storage.conf"
LOG_TAIL = 40


def install_engine(box: Box) -> None:
    """Install the container engine in the box as its admin would, and start its API socket.

    Its storage settings add the read-only store the box mounts, where it finds the images.
    """
    box.run(
        f"mkdir -p {Path(NETWORK_CONF).parent} && "
        f"printf '[network]\\nnetwork_backend = \"netavark\"\\n' > {NETWORK_CONF} && "
        f"printf '%s' '{BOX_STORAGE_CONF}' > {STORAGE_CONF} && "
        "apt-get update -q && DEBIAN_FRONTEND=noninteractive "
        f"apt-get install -y -q {ENGINE_PACKAGES} && systemctl enable --now podman.socket && "
        "touch /etc/containers/nodocker"  # podman-docker's notice on every docker command
    )


def stack_logs(box: Box) -> str:
    """Return the state of the box's containers and the end of each one's log."""
    listed = box.run("podman ps --all --format '{{.Names}} {{.Status}}'", check=False)
    logs = [
        f"--- {name}:\n" + box.run(f"podman logs --tail {LOG_TAIL} {name} 2>&1", check=False)
        for name in (line.split()[0] for line in listed.splitlines() if line.strip())
    ]
    return "\n".join([listed, *logs])


def started_containers(box: Box) -> set[str]:
    """Return each container in the box with the time it started: a restart changes it."""
    listed = box.run("podman ps --all --format '{{.ID}} {{.StartedAt}}'")
    return set(listed.splitlines())


def running_services(box: Box, install_dir: str) -> dict[str, str]:
    """Return each container of the bundle's project in the box, with its state."""
    project = Path(install_dir).name
    listed = box.run(
        f"podman ps --all --format json --filter label=com.docker.compose.project={project}"
    )
    return {
        container["Labels"]["com.docker.compose.service"]: container["State"]
        for container in json.loads(listed or "[]")
    }


def test_a_compose_bundle_runs_on_a_fresh_box_with_an_engine_inside(
    engine: Engine, tmp_path: Path, e2e_timings: list[Timings]
) -> None:
    require_program("ssh-keygen")
    timings = Timings("journey-compose-synapse-postgresql-nginx")
    e2e_timings.append(timings)
    home = tmp_path / "home"
    home.mkdir()
    bundle = tmp_path / "bundle"
    ctx = generate_bundle(home, bundle_answers(home, SERVER_NAME, "nginx", "compose"), bundle)
    with timings.step("stand-in images built (reused when built before)"):
        build_images(bundle, ctx)
    with timings.step("the images' store written (reused when written before)"):
        store = image_store(pulled_images(bundle, ctx).values())
    with ExitStack() as cleanup:
        with timings.step("box started (systemd running)"):
            name = f"{PROJECT_PREFIX}-nest-{tmp_path.name}"
            box = cleanup.enter_context(
                running_box(tmp_path, name, privileged=True, image_store=store)
            )
        with timings.step("engine installed in the box"):
            install_engine(box)
        install_certificate(box, ctx, tmp_path)

        with timings.step("apply over SSH: compose up in the box"):
            try:
                applied = wizard("apply", str(bundle), *box.ssh_args(), home=home, with_errors=True)
            except AssertionError as failed:
                raise AssertionError(f"{failed}\n{stack_logs(box)}") from None
        assert "(staging: not done)" not in applied
        assert "synapse answers" in applied, applied
        services = running_services(box, ctx.install_dir)
        assert set(services) == set(pulled_images(bundle, ctx)), services
        assert set(services.values()) == {"running"}, services
        assert "table inet matrix_wizard" in box.run("nft list ruleset")

        with timings.step("admin from the README, then matrix-nio through HTTPS"):
            command = apply_script.admin_command(ctx)
            assert command is not None
            assert command in (bundle / "README.md").read_text(encoding="utf-8")
            # Debian's docker-compose is the older program: `docker-compose exec`, no terminal.
            typed = command.replace("docker compose exec", "docker-compose exec -T")
            made = box.run(f"cd {ctx.install_dir} && {typed} -u {USER} -p '{PASSWORD}'")
            assert "Success" in made
            base_url = f"https://{ctx.homeserver_host}:{box.ports['https']}"
            seen = converse(base_url, f"@{USER}:{ctx.server_name}", PASSWORD, MESSAGE)
        assert MESSAGE in seen.bodies
        print_footprint(box)

        started = started_containers(box)
        with timings.step("apply again: nothing restarted"):
            again = wizard("apply", str(bundle), *box.ssh_args(), home=home)
        assert "nothing to restart" in again, again
        assert started_containers(box) == started, again
    timings.finish()
