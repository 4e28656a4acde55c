"""Synapse as one process against its worker layout: the same load, on the same machine, in one run.

Two native Synapse + PostgreSQL + nginx bundles, alike but for `homeserver.workers`, each on its
own box (tests/journey/box.py) of the same size, started side by side; the load then runs
against one box at a time, so neither shares the CPU with the other's load. N matrix-nio
users, registered with a token, each send, sync and read the room's messages for a fixed
number of rounds in one shared room (tests/workers/load.py); their message rate limits are
lifted with the admin API, as all the load comes from one machine. Reported: requests per second,
p50 and p95 latency by request kind, and the peak resident memory of all Synapse processes
together, sampled in the box while the load runs.

Run by hand (it needs podman and takes minutes): python -m bench.bench_workers [users] [rounds]
"""

import asyncio
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from tests.compose.engine import PROJECT_PREFIX, running_engine
from tests.journey.box import Box, running_box
from tests.journey.support import wizard
from tests.journey.test_journey import install_certificate
from tests.workers import load
from tests.workers.boxes import Side, generate, make_admin, registration_token

CPUS = "2"
MEMORY = "4g"
MACHINE = ("machine.cores=2", "machine.ram_mb=4096")
USERS = 8
ROUNDS = 10
# Sum of the resident memory of every process whose command line names Synapse, in KiB.
SYNAPSE_RSS = "ps -eo rss=,args= | awk '/synapse[.]app/ { k += $1 } END { print k + 0 }'"


class PeakMemory:
    """Sample the Synapse processes' memory in a box once a second until stopped."""

    def __init__(self, box: Box) -> None:
        """Start sampling."""
        self._box = box
        self._stop = threading.Event()
        self.peak_kib = 0
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_kib = max(self.peak_kib, int(self._box.run(SYNAPSE_RSS)))
            self._stop.wait(1.0)

    def stop(self) -> int:
        """Stop sampling and return the peak, in MiB."""
        self._stop.set()
        self._thread.join()
        return self.peak_kib // 1024


def _exempt_from_rate_limits(side: Side, admin_token: str, user_id: str) -> None:
    """Lift a user's message rate limit with the admin API, so the load measures the server."""
    url = (
        f"http://127.0.0.1:{side.ctx.ports.homeserver}"
        f"/_synapse/admin/v1/users/{user_id}/override_ratelimit"
    )
    side.box.run(
        f"curl -fsS -X POST -H 'Authorization: Bearer {admin_token}' "
        f"-d '{{\"messages_per_second\": 0, \"burst_count\": 0}}' '{url}'"
    )


async def _measure(
    side: Side, token: str, admin_token: str, users: int, rounds: int
) -> tuple[load.Latencies, float]:
    """Register the users, lift their rate limits, share a room, warm up, then time the rounds."""
    clients = [await load.register(side.base_url, f"user{n}", token) for n in range(users)]
    for client in clients:
        _exempt_from_rate_limits(side, admin_token, client.user_id)
    try:
        room_id = await load.share_room(clients[0], clients[1:])
        await load.converse(clients, room_id, 1)
        started = time.monotonic()
        latencies = await load.converse(clients, room_id, rounds)
        return latencies, time.monotonic() - started
    finally:
        for client in clients:
            await client.close()


def _percentile(values: list[float], share: float) -> float:
    return (
        statistics.quantiles(values, n=100)[int(share * 100) - 1] if len(values) > 1 else values[0]
    )


def _report(name: str, latencies: load.Latencies, seconds: float, peak_mib: int) -> None:
    requests = sum(len(values) for values in latencies.seconds.values())
    print(f"{name}: {requests / seconds:.1f} requests/s, peak Synapse RSS {peak_mib} MiB")
    for what, values in sorted(latencies.seconds.items()):
        p50 = _percentile(values, 0.50) * 1000
        p95 = _percentile(values, 0.95) * 1000
        print(f"    {what:<9} {len(values):5d} requests   p50 {p50:7.1f} ms   p95 {p95:7.1f} ms")


def main() -> None:
    """Apply both bundles to their boxes, load each in turn and print the figures side by side."""
    users = int(sys.argv[1]) if len(sys.argv) > 1 else USERS
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else ROUNDS
    with tempfile.TemporaryDirectory() as folder, ExitStack() as cleanup:
        tmp = Path(folder)
        home = tmp / "home"
        home.mkdir()
        cleanup.enter_context(running_engine(tmp / "engine"))
        sides = []
        for workers in (False, True):
            bundle, ctx = generate("nginx", tmp, home, *MACHINE, workers=workers)
            name = f"{PROJECT_PREFIX}-bench-{'workers' if workers else 'single'}"
            box = cleanup.enter_context(
                running_box(tmp, name, federation_port=False, cpus=CPUS, memory=MEMORY)
            )
            (tmp / name).mkdir(exist_ok=True)
            install_certificate(box, ctx, tmp / name)
            sides.append(Side("nginx", bundle, ctx, box))
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(
                pool.map(
                    lambda side: wizard("apply", str(side.bundle), *side.box.ssh_args(), home=home),
                    sides,
                )
            )
        print(f"{users} users, {rounds} rounds each (send, sync, messages), {CPUS} CPUs, {MEMORY}")
        for side, name in zip(sides, ("one process", "workers"), strict=True):
            admin_token = make_admin(side)
            token = registration_token(side, admin_token, uses=users)
            memory = PeakMemory(side.box)
            latencies, seconds = asyncio.run(_measure(side, token, admin_token, users, rounds))
            _report(name, latencies, seconds, memory.stop())


if __name__ == "__main__":
    main()
