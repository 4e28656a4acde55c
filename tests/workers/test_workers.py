"""Synapse's workers carry the load: each request kind reaches the worker meant for it.

Three native Synapse + PostgreSQL bundles with workers, one behind each proxy (nginx, Caddy,
Traefik), each applied over SSH to its own fresh box (tests/journey/box.py: systemd, one CPU,
2 GiB), side by side. apply.sh installs Redis from Debian, Synapse's venv with its redis extra,
the main unit and one `matrix-synapse-worker@<name>` instance per worker, and Prometheus.

Then, through each box's published HTTPS port, matrix-nio users register with a registration
token (made with the admin API inside the box, as the bundle's README says), make a room, send,
sync, read the room's messages, and share a file; the federation API is asked its version.
Each Synapse process's own metrics listener then shows who did the work: the sync worker
served the syncs, the client reader the reads and registrations, the event persister wrote the
events, the media worker stored and served the file, the federation reader answered the
federation API, and the main process did none of it. The bundle's Prometheus scrapes every
process. Finally the sync worker is killed with SIGKILL: its unit brings it back, and the
users carry on.

One CPU gives one worker of each role; routing a user's syncs always to the same of several
sync workers is proven with the real proxies in tests/integration/test_worker_routing.py.
"""

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.compose.engine import PROJECT_PREFIX, Engine
from tests.conftest import require_program
from tests.e2e.support import Timings
from tests.journey.box import running_box
from tests.journey.support import place_traefik, wizard
from tests.journey.test_journey import install_certificate
from tests.waiting import wait_until
from tests.workers import load, metrics
from tests.workers.boxes import Side, generate, make_admin, process_metrics, registration_token
from wizard.bundle import synapse_workers, systemd
from wizard.bundle.worker_layout import Role, Worker

pytestmark = [pytest.mark.workers, pytest.mark.slow]

PROXIES = ("nginx", "caddy", "traefik")
USERS = ("alice", "bob")
ROUNDS = 3
# The machine the bundles are tuned for: the box.
BOX_MACHINE = ("machine.cores=1", "machine.ram_mb=2048")


async def _use(side: Side, token: str, rounds: int) -> tuple[bytes, dict[str, dict[str, str]]]:
    """Register the users, then share a room and a file, talk, and ask the federation API."""
    clients = [await load.register(side.base_url, name, token) for name in USERS]
    return await load.exercise(side.base_url, clients, rounds)


async def _carry_on(side: Side, token: str) -> None:
    """Register a new user who talks with a new room's owner: syncs work again."""
    clients = [await load.register(side.base_url, f"{name}2", token) for name in USERS]
    try:
        room_id = await load.share_room(clients[0], clients[1:])
        await load.converse(clients, room_id, 1)
    finally:
        for client in clients:
            await client.close()


def worker_of(side: Side, role: Role) -> Worker:
    """Return the side's first worker of a role."""
    return next(worker for worker in synapse_workers.workers(side.ctx) if worker.role is role)


def check_each_worker_did_its_work(side: Side) -> None:
    """Every role's worker served its requests, and the main process served none of them."""
    metrics.check_roles(synapse_workers.workers(side.ctx), process_metrics(side), side.proxy)


def prometheus_targets_up(side: Side) -> bool:
    """Return whether the bundle's Prometheus scrapes every Synapse process and finds it up."""
    port = side.ctx.ports.prometheus
    found = json.loads(side.box.run(f"curl -fsS http://127.0.0.1:{port}/api/v1/targets"))
    synapse = [
        target for target in found["data"]["activeTargets"] if target["labels"]["job"] == "synapse"
    ]
    expected = 1 + len(synapse_workers.workers(side.ctx))
    return len(synapse) == expected and all(target["health"] == "up" for target in synapse)


def main_pid(side: Side, unit: str) -> str:
    """Return the main PID systemd records for a unit."""
    return side.box.run(f"systemctl show --property=MainPID --value {unit}").strip()


def restarted(side: Side, worker: Worker, before: str) -> bool:
    """Return whether the worker's unit runs a new process that answers /health."""
    unit = synapse_workers.unit(worker)
    now = main_pid(side, unit)
    if now in ("0", before):
        return False
    url = f"http://127.0.0.1:{synapse_workers.port(side.ctx, worker)}/health"
    return side.box.run(f"curl -fsS --max-time 5 {url}", check=False).strip() == "OK"


def check_running(side: Side) -> None:
    """Every unit the bundle starts is active, each worker's instance included."""
    units = [
        *systemd.start_order(side.ctx),
        *(synapse_workers.unit(worker) for worker in synapse_workers.workers(side.ctx)),
    ]
    units = list(dict.fromkeys(units))
    states = side.box.run(f"systemctl is-active {' '.join(units)}", check=False).split()
    assert states == ["active"] * len(units), side.box.failed_units_log()


def use_and_kill(side: Side, timings: Timings) -> None:
    """Users work through the side's proxy, each worker did its part, a killed one comes back."""
    with timings.step(f"{side.proxy}: admin, token, users register and talk, a file"):
        admin_token = make_admin(side)
        token = registration_token(side, admin_token, uses=2 * len(USERS))
        downloaded, version = asyncio.run(_use(side, token, ROUNDS))
    assert downloaded == load.FILE_BODY
    assert version["server"]["name"] == "Synapse", version
    check_each_worker_did_its_work(side)
    wait_until(lambda: prometheus_targets_up(side), "Prometheus to scrape every Synapse process")

    sync = worker_of(side, Role.SYNC)
    unit = synapse_workers.unit(sync)
    before = main_pid(side, unit)
    with timings.step(f"{side.proxy}: the sync worker killed, back, users carry on"):
        side.box.run(f"systemctl kill --signal=SIGKILL {unit}")
        wait_until(lambda: restarted(side, sync, before), f"{unit} to be restarted by systemd")
        asyncio.run(_carry_on(side, token))


def test_each_proxy_sends_each_request_to_its_worker_and_a_killed_worker_comes_back(
    engine: Engine, tmp_path: Path, e2e_timings: list[Timings]
) -> None:
    require_program("ssh-keygen")
    timings = Timings("workers-native-synapse-postgresql-redis-nginx-caddy-traefik")
    e2e_timings.append(timings)
    home = tmp_path / "home"
    home.mkdir()
    built = {proxy: generate(proxy, tmp_path, home, *BOX_MACHINE) for proxy in PROXIES}
    run = f"{PROJECT_PREFIX}-wk-{tmp_path.name}"[:40]
    with ExitStack() as cleanup:
        with timings.step("three boxes started"):
            boxes = {
                proxy: cleanup.enter_context(
                    # Privileged, as a virtual machine is: native Traefik's well-known server
                    # runs with DynamicUser=yes, whose mounts an unprivileged container refuses.
                    running_box(tmp_path, f"{run}-{proxy}", privileged=True, federation_port=False)
                )
                for proxy in PROXIES
            }
        sides = [Side(proxy, *built[proxy], boxes[proxy]) for proxy in PROXIES]
        for side in sides:
            certificates = tmp_path / f"{side.proxy}-certificate"
            certificates.mkdir()
            install_certificate(side.box, side.ctx, certificates)
            place_traefik(side.box, side.ctx)

        def apply(side: Side) -> str:
            try:
                return wizard("apply", str(side.bundle), *side.box.ssh_args(), home=home)
            except AssertionError as failed:
                raise AssertionError(f"{failed}\n{side.box.failed_units_log()}") from None

        with (
            timings.step("the three bundles applied over SSH, side by side"),
            ThreadPoolExecutor(max_workers=len(sides)) as pool,
        ):
            applied = list(pool.map(apply, sides))
        for side, printed in zip(sides, applied, strict=True):
            assert "synapse answers" in printed, printed
            check_running(side)
            assert len(synapse_workers.workers(side.ctx)) == len(Role)

        for side in sides:
            use_and_kill(side, timings)
    timings.finish()
