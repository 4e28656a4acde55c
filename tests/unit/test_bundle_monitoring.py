"""Prometheus scrapes what each homeserver offers, and Grafana is provisioned over Prometheus."""

from typing import Any

import pytest
import yaml

from tests.bundle_support import FIXED_SECRETS, answers_for, context_for
from wizard.bundle import monitoring
from wizard.bundle.model import PRIVATE, PUBLIC


def jobs(**sets: Any) -> dict[str, dict[str, Any]]:
    ctx = context_for(answers_for(monitoring__prometheus=True, **sets))
    data = yaml.safe_load(monitoring.render(ctx)[monitoring.PROMETHEUS_CONFIG].text)
    return {job["job_name"]: job for job in data["scrape_configs"]}


def test_nothing_without_prometheus() -> None:
    assert monitoring.render(context_for(answers_for())) == {}


def test_grafana_files_come_only_with_grafana() -> None:
    plain = monitoring.render(context_for(answers_for(monitoring__prometheus=True)))
    assert set(plain) == {monitoring.PROMETHEUS_CONFIG}
    both = monitoring.render(
        context_for(answers_for(monitoring__prometheus=True, monitoring__grafana=True))
    )
    assert set(both) == {
        monitoring.PROMETHEUS_CONFIG,
        monitoring.GRAFANA_DATASOURCE,
        monitoring.GRAFANA_DASHBOARDS,
    }


@pytest.mark.parametrize(
    ("kind", "target"), [("compose", "synapse:9100"), ("native", "127.0.0.1:9100")]
)
def test_synapse_is_scraped_on_its_metrics_listener(kind: str, target: str) -> None:
    found = jobs(homeserver__kind="synapse", deployment__kind=kind, deployment__ports__metrics=9100)
    synapse = found["synapse"]
    assert synapse["metrics_path"] == "/_synapse/metrics"
    assert synapse["static_configs"][0]["targets"] == [target]
    assert "basic_auth" not in synapse


def test_dendrite_is_scraped_with_basic_auth_and_the_file_is_private() -> None:
    ctx = context_for(answers_for("dendrite", monitoring__prometheus=True))
    file = monitoring.render(ctx)[monitoring.PROMETHEUS_CONFIG]
    assert file.mode == PRIVATE
    dendrite = {j["job_name"]: j for j in yaml.safe_load(file.text)["scrape_configs"]}["dendrite"]
    assert dendrite["metrics_path"] == "/metrics"
    assert dendrite["basic_auth"] == {
        "username": "metrics",
        "password": FIXED_SECRETS.metrics_password,
    }
    assert dendrite["static_configs"][0]["targets"] == ["dendrite:8008"]


@pytest.mark.parametrize("homeserver", ["conduit", "continuwuity", "tuwunel"])
def test_the_conduit_family_has_no_metrics_so_only_prometheus_itself_is_scraped(
    homeserver: str,
) -> None:
    assert set(jobs(homeserver__kind=homeserver, database__kind="rocksdb")) == {"prometheus"}


def test_synapse_config_holds_no_secret_and_stays_public() -> None:
    ctx = context_for(answers_for(monitoring__prometheus=True, monitoring__grafana=True))
    for file in monitoring.render(ctx).values():
        assert file.mode == PUBLIC
        for value in FIXED_SECRETS.values():
            assert value not in file.text


@pytest.mark.parametrize(
    ("kind", "url", "path"),
    [
        ("compose", "http://prometheus:9090", "/etc/grafana/dashboards"),
        ("native", "http://127.0.0.1:9191", "/opt/matrix-wizard/grafana/dashboards"),
    ],
)
def test_grafana_points_at_the_bundled_prometheus(kind: str, url: str, path: str) -> None:
    ctx = context_for(
        answers_for(
            monitoring__prometheus=True,
            monitoring__grafana=True,
            deployment__kind=kind,
            deployment__ports__prometheus=9191,
        )
    )
    files = monitoring.render(ctx)
    source = yaml.safe_load(files[monitoring.GRAFANA_DATASOURCE].text)["datasources"][0]
    assert source["type"] == "prometheus"
    assert source["url"] == url
    provider = yaml.safe_load(files[monitoring.GRAFANA_DASHBOARDS].text)["providers"][0]
    assert provider["options"]["path"] == path
