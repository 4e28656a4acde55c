"""Monitoring: Prometheus scraping the homeserver, and Grafana's provisioning over it."""

from typing import Any

import yaml

from wizard.answers.model import Homeserver
from wizard.bundle import layout, synapse_workers
from wizard.bundle.context import RenderContext
from wizard.bundle.model import PRIVATE, PUBLIC, Bundle, File

PROMETHEUS_CONFIG = "prometheus/prometheus.yml"
GRAFANA_DATASOURCE = "grafana/provisioning/datasources/prometheus.yml"
GRAFANA_DASHBOARDS = "grafana/provisioning/dashboards/matrix.yml"

# Inside their containers Prometheus and Grafana keep their usual ports.
PROMETHEUS_CONTAINER_PORT = 9090
GRAFANA_CONTAINER_PORT = 3000
CONTAINER_DASHBOARDS_DIR = "/etc/grafana/dashboards"
SYNAPSE_METRICS_PATH = "/_synapse/metrics"
DENDRITE_METRICS_PATH = "/metrics"
DENDRITE_METRICS_USER = "metrics"
SCRAPE_INTERVAL = "15s"


def prometheus_url(ctx: RenderContext) -> str:
    """Return where Grafana reaches Prometheus."""
    if ctx.compose:
        return f"http://{layout.PROMETHEUS_SERVICE}:{PROMETHEUS_CONTAINER_PORT}"
    return f"http://127.0.0.1:{ctx.ports.prometheus}"


def homeserver_scrape_job(ctx: RenderContext) -> dict[str, Any] | None:
    """Return the scrape job for the homeserver, or None when it has no metrics endpoint."""
    hs = ctx.homeserver
    if hs is Homeserver.SYNAPSE:
        return {
            "job_name": "synapse",
            "metrics_path": SYNAPSE_METRICS_PATH,
            "static_configs": [
                {
                    "targets": [f"{ctx.internal_host(hs.value)}:{ctx.ports.metrics}"],
                    "labels": {"instance_role": "main"},
                },
                *(
                    {
                        "targets": [
                            f"{ctx.internal_host(synapse_workers.service_name(worker))}:"
                            f"{synapse_workers.metrics_port(ctx, worker)}"
                        ],
                        "labels": {"instance_role": worker.name},
                    }
                    for worker in synapse_workers.workers(ctx)
                ),
            ],
        }
    if hs is Homeserver.DENDRITE:
        return {
            "job_name": "dendrite",
            "metrics_path": DENDRITE_METRICS_PATH,
            "basic_auth": {
                "username": DENDRITE_METRICS_USER,
                "password": ctx.secrets.metrics_password,
            },
            "static_configs": [{"targets": [ctx.homeserver_upstream]}],
        }
    return None


def prometheus_config(ctx: RenderContext) -> dict[str, Any]:
    """Return prometheus.yml as data: Prometheus itself and the homeserver when it has metrics."""
    own_port = PROMETHEUS_CONTAINER_PORT if ctx.compose else ctx.ports.prometheus
    jobs: list[dict[str, Any]] = [
        {"job_name": "prometheus", "static_configs": [{"targets": [f"localhost:{own_port}"]}]}
    ]
    homeserver_job = homeserver_scrape_job(ctx)
    if homeserver_job:
        jobs.append(homeserver_job)
    return {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
        "scrape_configs": jobs,
    }


def grafana_datasource(ctx: RenderContext) -> dict[str, Any]:
    """Return Grafana's datasource provisioning: the bundled Prometheus, read-only."""
    return {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "Prometheus",
                "type": "prometheus",
                "access": "proxy",
                "url": prometheus_url(ctx),
                "isDefault": True,
                "editable": False,
            }
        ],
    }


def grafana_dashboards(ctx: RenderContext) -> dict[str, Any]:
    """Return Grafana's dashboard provider: every JSON file in grafana/dashboards/."""
    path = CONTAINER_DASHBOARDS_DIR if ctx.compose else layout.grafana_dashboards_dir(ctx)
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "matrix",
                "folder": "Matrix",
                "type": "file",
                "disableDeletion": False,
                "allowUiUpdates": True,
                "options": {"path": path},
            }
        ],
    }


def _yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False)


def render(ctx: RenderContext) -> Bundle:
    """Return prometheus.yml, and Grafana's provisioning when Grafana is chosen."""
    monitoring = ctx.answers.monitoring
    if not monitoring.prometheus:
        return {}
    mode = PRIVATE if ctx.homeserver is Homeserver.DENDRITE else PUBLIC
    files: Bundle = {PROMETHEUS_CONFIG: File(_yaml(prometheus_config(ctx)), mode)}
    if monitoring.grafana:
        files[GRAFANA_DATASOURCE] = File(_yaml(grafana_datasource(ctx)))
        files[GRAFANA_DASHBOARDS] = File(_yaml(grafana_dashboards(ctx)))
    return files
