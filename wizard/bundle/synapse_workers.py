"""Synapse workers: each one's config, and what homeserver.yaml gains when they run.

The layout (which roles, how many, their RAM) comes from wizard/bundle/worker_layout.py through
the tuning; this module turns it into Synapse's settings (docs/workers.md; facts 1.7). Workers
reach the main process over its replication listener and Redis, on loopback natively or on the
compose network, never on a public address.
"""

from typing import Any

import yaml

from wizard.answers.model import Homeserver
from wizard.bundle.context import RenderContext
from wizard.bundle.model import PUBLIC, Bundle, File
from wizard.bundle.tuning import tuning
from wizard.bundle.worker_layout import MAIN_DUTY, ROLES, Role, Worker, of_role, role_count
from wizard.units import GIB, format_cores

WORKER_APP = "synapse.app.generic_worker"
REDIS_SERVICE = "redis"
REDIS_PORT = 6379
REPLICATION_PORT = 9093
WORKERS_DIR = "synapse/workers"
# The systemd template unit that runs each worker natively, as <template>@<worker name>.
WORKER_UNIT_TEMPLATE = "matrix-synapse-worker"
# The HTTP resources each role serves on its port; /health is served on every HTTP listener.
# The media worker needs "client" and "federation" too: Synapse serves /_matrix/client/v1/media/
# and /_matrix/federation/v1/media/ from those resources, only where the media repository loads.
RESOURCES: dict[Role, list[str]] = {
    Role.EVENT_PERSISTER: ["replication"],
    Role.SYNC: ["client"],
    Role.CLIENT_READER: ["client"],
    Role.FEDERATION_READER: ["federation"],
    Role.MEDIA: ["media", "client", "federation"],
    Role.FEDERATION_SENDER: [],
    Role.TASKS: [],
}


def workers(ctx: RenderContext) -> tuple[Worker, ...]:
    """Return the bundle's Synapse workers; none unless Synapse runs workers."""
    if ctx.homeserver is not Homeserver.SYNAPSE:
        return ()
    return tuning(ctx).workers


def worker_names(ctx: RenderContext) -> list[str]:
    """Return the names of the bundle's Synapse workers."""
    return [worker.name for worker in workers(ctx)]


def service_name(worker: Worker) -> str:
    """Return the worker's compose service (and host) name, which has no underscores."""
    return f"{Homeserver.SYNAPSE.value}-{worker.name.replace('_', '-')}"


def port(ctx: RenderContext, worker: Worker) -> int:
    """Return the port of the worker's HTTP listener: the workers' base port plus its number."""
    return ctx.ports.synapse_workers + worker.number


def metrics_port(ctx: RenderContext, worker: Worker) -> int:
    """Return the port of the worker's metrics listener: the metrics port plus its number."""
    return ctx.ports.metrics + worker.number


def upstream(ctx: RenderContext, worker: Worker) -> str:
    """Return host:port where the proxy, or another process, reaches the worker."""
    return f"{ctx.internal_host(service_name(worker))}:{port(ctx, worker)}"


def replication_listener(ctx: RenderContext) -> dict[str, Any]:
    """Return the main process's replication listener, bound inside the private network."""
    return {
        "port": REPLICATION_PORT,
        "type": "http",
        "tls": False,
        "bind_addresses": [ctx.listen_address],
        "resources": [{"names": ["replication"], "compress": False}],
    }


def shared_config(ctx: RenderContext) -> dict[str, Any]:
    """Return what homeserver.yaml gains when workers run; empty without workers."""
    found = workers(ctx)
    if not found:
        return {}
    persisters = [worker for worker in found if worker.role is Role.EVENT_PERSISTER]
    instance_map = {
        "main": {"host": ctx.internal_host(Homeserver.SYNAPSE.value), "port": REPLICATION_PORT}
    }
    for worker in persisters:
        instance_map[worker.name] = {
            "host": ctx.internal_host(service_name(worker)),
            "port": port(ctx, worker),
        }
    tasks = of_role(found, Role.TASKS)[0]
    return {
        "instance_map": instance_map,
        "stream_writers": {"events": [worker.name for worker in persisters]},
        "worker_replication_secret": ctx.secrets.worker_replication_secret,
        "redis": {"enabled": True, "host": ctx.internal_host(REDIS_SERVICE), "port": REDIS_PORT},
        "federation_sender_instances": of_role(found, Role.FEDERATION_SENDER),
        "pusher_instances": [tasks],
        "run_background_tasks_on": tasks,
        # Only the media worker loads the media repository and runs its background jobs.
        "enable_media_repo": False,
        "media_instance_running_background_jobs": of_role(found, Role.MEDIA)[0],
    }


def _listeners(ctx: RenderContext, worker: Worker) -> list[dict[str, Any]]:
    """Return the worker's HTTP listener (with its role's resources) and its metrics listener."""
    listeners: list[dict[str, Any]] = [
        {
            "port": port(ctx, worker),
            "type": "http",
            "bind_addresses": [ctx.listen_address],
            "resources": [{"names": RESOURCES[worker.role] or ["health"], "compress": False}],
        }
    ]
    if ctx.answers.monitoring.prometheus:
        listeners.append(
            {
                "port": metrics_port(ctx, worker),
                "type": "metrics",
                "bind_addresses": [ctx.listen_address],
            }
        )
    return listeners


def worker_config(ctx: RenderContext, worker: Worker) -> dict[str, Any]:
    """Return one worker's own config, read after homeserver.yaml, whose keys it overrides."""
    caches = tuning(ctx).worker_caches[worker.name]
    config: dict[str, Any] = {
        "worker_app": WORKER_APP,
        "worker_name": worker.name,
        "worker_listeners": _listeners(ctx, worker),
        "worker_log_config": f"{ctx.hs_config_dir}/log.config",
        "caches": {"global_factor": caches.factor},
        "event_cache_size": caches.event_cache_size,
    }
    if worker.role is Role.MEDIA:
        config["enable_media_repo"] = True
    return config


def unit(worker: Worker) -> str:
    """Return the systemd unit that runs the worker natively."""
    return f"{WORKER_UNIT_TEMPLATE}@{worker.name}"


def summary(ctx: RenderContext) -> str:
    """Return the layout in one line: how many of each role, for the README and the Tier step."""
    found = workers(ctx)
    counts = {role: len(of_role(found, role)) for role in Role}
    parts = [role_count(role, count) for role, count in counts.items() if count]
    return f"{len(found)} workers: " + ", ".join(parts)


def readme_section(ctx: RenderContext) -> list[str]:
    """Return the README's section on the workers: who does what, where, and with what caches."""
    found = workers(ctx)
    if not found:
        return []
    tuned = tuning(ctx)
    run = (
        "Each worker is a compose service named synapse-<worker> (underscores become dashes): "
        "`docker compose logs synapse-sync1`."
        if ctx.compose
        else f"Each worker runs under the template unit {WORKER_UNIT_TEMPLATE}@.service: "
        f"`systemctl status {unit(found[0])}`, `journalctl -u {unit(found[0])}`. "
        "systemd restarts a worker that stops."
    )
    rows = [f"| main | {MAIN_DUTY} | {ctx.ports.homeserver} | {tuned.synapse_cache_factor} |"]
    for worker in found:
        caches = tuned.worker_caches[worker.name]
        listens = port(ctx, worker)
        rows.append(f"| {worker.name} | {ROLES[worker.role].duty} | {listens} | {caches.factor} |")
    return [
        "## Synapse workers",
        "",
        f"Synapse runs as {len(found) + 1} processes, sized to {format_cores(tuned.cores)} and "
        f"{tuned.ram / GIB:.1f} GiB of RAM: the main process and {summary(ctx)}. More cores "
        "add sync workers, client readers and federation senders; each process's caches "
        "(caches.global_factor) follow what its role reads. They share homeserver.yaml and "
        "each reads its own file in synapse/workers/; they talk over Redis and the main "
        f"process's replication listener (port {REPLICATION_PORT}), neither of them public. "
        "The proxy sends each worker the requests it serves (its configuration lists the "
        "paths); the sync requests of one access token, that is of one login, always go "
        "to the same sync worker, and every other request goes to the main process.",
        "",
        "| Process | Does | Port | Cache factor |",
        "|---|---|---|---|",
        *rows,
        "",
        run,
        "",
    ]


def render(ctx: RenderContext) -> Bundle:
    """Return synapse/workers/<name>.yaml for every worker."""
    header = "# A Synapse worker written by matrix-wizard; it also reads homeserver.yaml.\n"
    return {
        f"{WORKERS_DIR}/{worker.name}.yaml": File(
            header + yaml.safe_dump(worker_config(ctx, worker), sort_keys=False), PUBLIC
        )
        for worker in workers(ctx)
    }
