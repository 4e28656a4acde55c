import pytest
import yaml

from tests.bundle_support import FIXED_SECRETS, answers_for, context_for
from wizard.answers.model import AnswersError
from wizard.bundle import compose, monitoring, synapse_workers
from wizard.bundle.render import render


@pytest.mark.parametrize(
    ("count", "senders", "pusher"),
    [
        (1, ["worker1"], "worker1"),
        (2, ["worker1"], "worker2"),
        (3, ["worker1", "worker3"], "worker2"),
    ],
)
def test_roles_cover_every_worker(count: int, senders: list[str], pusher: str) -> None:
    roles = synapse_workers.roles([f"worker{i}" for i in range(1, count + 1)])
    assert roles["federation_sender_instances"] == senders
    assert roles["pusher_instances"] == [pusher]
    assert roles["run_background_tasks_on"] == pusher
    named = set(roles["federation_sender_instances"]) | set(roles["pusher_instances"])
    assert named == {f"worker{i}" for i in range(1, count + 1)}


def test_homeserver_yaml_gains_replication_and_redis_only_with_workers() -> None:
    plain = yaml.safe_load(
        render(answers_for(), None, FIXED_SECRETS)["synapse/homeserver.yaml"].text
    )
    assert "instance_map" not in plain and "redis" not in plain
    bundle = render(answers_for(homeserver__workers=2), None, FIXED_SECRETS)
    config = yaml.safe_load(bundle["synapse/homeserver.yaml"].text)
    assert config["instance_map"] == {
        "main": {"host": "synapse", "port": synapse_workers.REPLICATION_PORT}
    }
    assert config["redis"] == {"enabled": True, "host": "redis", "port": 6379}
    assert config["worker_replication_secret"] == FIXED_SECRETS.worker_replication_secret
    replication = [item for item in config["listeners"] if item["port"] == 9093]
    assert replication[0]["resources"] == [{"names": ["replication"], "compress": False}]
    assert sorted(path for path in bundle if path.startswith("synapse/workers/")) == [
        "synapse/workers/worker1.yaml",
        "synapse/workers/worker2.yaml",
    ]


def test_each_worker_has_a_compose_service_reading_its_file() -> None:
    ctx = context_for(answers_for(homeserver__workers=2))
    services = compose.services(ctx)
    for name in synapse_workers.worker_names(ctx):
        command = services[f"synapse-{name}"]["command"]
        assert f"--config-path=/config/workers/{name}.yaml" in command
        config = synapse_workers.worker_config(ctx, name)
        assert config["worker_name"] == name
    assert "redis" in services
    assert "ports" not in services["redis"]


def test_prometheus_scrapes_every_worker() -> None:
    ctx = context_for(answers_for(homeserver__workers=2, monitoring__prometheus=True))
    job = monitoring.homeserver_scrape_job(ctx)
    assert job is not None
    targets = [target for group in job["static_configs"] for target in group["targets"]]
    assert targets == ["synapse:9000", "synapse-worker1:9001", "synapse-worker2:9002"]
    for name in synapse_workers.worker_names(ctx):
        listeners = synapse_workers.worker_config(ctx, name)["worker_listeners"]
        metrics = [listener for listener in listeners if listener["type"] == "metrics"]
        assert [listener["port"] for listener in metrics] == [
            synapse_workers.metrics_port(ctx, name)
        ]


def test_each_worker_answers_its_compose_healthcheck_on_a_health_listener() -> None:
    ctx = context_for(answers_for(homeserver__workers=2))
    services = compose.services(ctx)
    for name in synapse_workers.worker_names(ctx):
        listeners = synapse_workers.worker_config(ctx, name)["worker_listeners"]
        health = [listener for listener in listeners if listener["type"] == "http"]
        assert health == [
            {
                "port": synapse_workers.HEALTH_PORT,
                "type": "http",
                "bind_addresses": ["127.0.0.1"],
                "resources": [{"names": ["health"]}],
            }
        ]
        check = services[f"synapse-{name}"]["healthcheck"]
        assert check["test"] == [
            "CMD-SHELL",
            f"curl -fSs http://localhost:{synapse_workers.HEALTH_PORT}/health",
        ]


def test_native_workers_are_refused_with_the_reason() -> None:
    with pytest.raises(AnswersError) as caught:
        answers_for(homeserver__workers=1, deployment__kind="native")
    assert caught.value.problems[0].path == "homeserver.workers"


def test_readme_says_what_the_workers_do() -> None:
    bundle = render(answers_for(homeserver__workers=2), None, FIXED_SECRETS)
    assert "| Synapse workers | 2: federation sending" in bundle["README.md"].text
    plain = render(answers_for(), None, FIXED_SECRETS)
    assert "Synapse workers" not in plain["README.md"].text
