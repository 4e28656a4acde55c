"""Synapse workers: federation sending, pushers and background jobs taken off the main process.

Workers here serve no client traffic, so the proxy routes nothing to them and every request
still reaches the main process; they share its config and reach it over replication and Redis
(facts 1.7). The docker compose network keeps both private.
"""

from typing import Any

import yaml

from wizard.answers.model import Homeserver
from wizard.bundle.context import RenderContext
from wizard.bundle.model import PUBLIC, Bundle, File

WORKER_APP = "synapse.app.generic_worker"
REDIS_SERVICE = "redis"
REDIS_PORT = 6379
REPLICATION_PORT = 9093
# Each worker answers /health here, inside its own container, for the compose healthcheck.
HEALTH_PORT = 8008
WORKERS_DIR = "synapse/workers"


def worker_names(ctx: RenderContext) -> list[str]:
    """Return the worker names, worker1 to workerN; none unless Synapse runs workers."""
    if ctx.homeserver is not Homeserver.SYNAPSE:
        return []
    return [f"worker{index}" for index in range(1, ctx.answers.homeserver.workers + 1)]


def roles(names: list[str]) -> dict[str, Any]:
    """Return which worker does what: the first sends federation, the second (or first) the rest."""
    if not names:
        return {}
    pushers = names[1] if len(names) > 1 else names[0]
    senders = [names[0], *names[2:]]
    return {
        "federation_sender_instances": senders,
        "pusher_instances": [pushers],
        "run_background_tasks_on": pushers,
    }


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
    names = worker_names(ctx)
    if not names:
        return {}
    return {
        "instance_map": {
            "main": {"host": ctx.internal_host(Homeserver.SYNAPSE.value), "port": REPLICATION_PORT}
        },
        "worker_replication_secret": ctx.secrets.worker_replication_secret,
        "redis": {"enabled": True, "host": ctx.internal_host(REDIS_SERVICE), "port": REDIS_PORT},
        **roles(names),
    }


def metrics_port(ctx: RenderContext, name: str) -> int:
    """Return the metrics port of one worker: the metrics port plus its number."""
    return ctx.ports.metrics + int(name.removeprefix("worker"))


def worker_config(ctx: RenderContext, name: str) -> dict[str, Any]:
    """Return one worker's own config, read together with homeserver.yaml."""
    listeners: list[dict[str, Any]] = [
        {
            "port": HEALTH_PORT,
            "type": "http",
            "bind_addresses": ["127.0.0.1"],
            "resources": [{"names": ["health"]}],
        }
    ]
    if ctx.answers.monitoring.prometheus:
        listeners.append(
            {
                "port": metrics_port(ctx, name),
                "type": "metrics",
                "bind_addresses": [ctx.listen_address],
            }
        )
    return {
        "worker_app": WORKER_APP,
        "worker_name": name,
        "worker_listeners": listeners,
        "worker_log_config": f"{ctx.hs_config_dir}/log.config",
    }


def render(ctx: RenderContext) -> Bundle:
    """Return synapse/workers/<name>.yaml for every worker."""
    header = "# A Synapse worker written by matrix-wizard; it also reads homeserver.yaml.\n"
    return {
        f"{WORKERS_DIR}/{name}.yaml": File(
            header + yaml.safe_dump(worker_config(ctx, name), sort_keys=False), PUBLIC
        )
        for name in worker_names(ctx)
    }
