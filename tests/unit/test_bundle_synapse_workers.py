from typing import Any

import pytest
import yaml

from tests.bundle_support import FIXED_SECRETS, answers_for, context_for
from wizard.answers.model import AnswersError
from wizard.bundle import compose, monitoring, synapse_workers, worker_layout
from wizard.bundle.render import render
from wizard.bundle.tuning import compute_tuning, wants_workers
from wizard.bundle.worker_layout import Role
from wizard.units import GIB

WORKERS: dict[str, Any] = {"homeserver__workers": True, "database": "postgresql"}


def test_one_worker_of_each_role_on_a_production_machine() -> None:
    found = worker_layout.layout(cores=4, ram=6 * GIB)
    assert [worker.name for worker in found] == [
        "event_persister1",
        "sync1",
        "client_reader1",
        "federation_reader1",
        "media1",
        "federation_sender1",
        "tasks1",
    ]
    assert [worker.number for worker in found] == list(range(1, 8))


def test_more_cores_add_sync_workers_readers_and_senders_up_to_a_limit() -> None:
    counts = worker_layout.role_counts(cores=16, ram=24 * GIB)
    assert counts[Role.SYNC] == 4
    assert counts[Role.CLIENT_READER] == 2
    assert counts[Role.FEDERATION_SENDER] == 2
    assert counts[Role.EVENT_PERSISTER] == counts[Role.MEDIA] == counts[Role.TASKS] == 1
    most = worker_layout.role_counts(cores=1024, ram=1024 * GIB)
    assert most[Role.SYNC] == worker_layout.ROLES[Role.SYNC].most


def test_ram_caps_the_extra_workers_but_keeps_one_of_each_role() -> None:
    counts = worker_layout.role_counts(cores=64, ram=2 * GIB)
    assert all(count == 1 for count in counts.values())


def test_each_role_gets_caches_by_its_weight() -> None:
    tuned = compute_tuning(
        answers_for().homeserver.kind, answers_for().homeserver.tier, 8 * GIB, 4, True
    )
    caches = tuned.worker_caches
    assert caches["sync1"].factor > caches["client_reader1"].factor > caches["media1"].factor
    assert caches["media1"].factor == caches["tasks1"].factor
    assert set(caches) == {worker.name for worker in tuned.workers}


def test_workers_follow_the_tier_unless_answered() -> None:
    assert wants_workers(answers_for(database="postgresql", homeserver__tier="production"))
    assert not wants_workers(answers_for(database="postgresql"))
    assert wants_workers(answers_for(**WORKERS))
    off = answers_for(
        database="postgresql", homeserver__tier="production", homeserver__workers=False
    )
    assert not wants_workers(off)


def test_a_count_from_earlier_answers_reads_as_on_or_off() -> None:
    assert answers_for(database="postgresql", homeserver__workers=3).homeserver.workers is True
    assert answers_for(database="postgresql", homeserver__workers=0).homeserver.workers is False


def test_workers_on_sqlite_are_refused_with_the_reason() -> None:
    with pytest.raises(AnswersError) as caught:
        answers_for(database="sqlite", homeserver__workers=True)
    assert caught.value.problems[0].path == "homeserver.workers"


def test_homeserver_yaml_gains_replication_redis_and_the_roles_only_with_workers() -> None:
    plain = yaml.safe_load(
        render(answers_for(), None, FIXED_SECRETS)["synapse/homeserver.yaml"].text
    )
    assert "instance_map" not in plain and "redis" not in plain
    bundle = render(answers_for(**WORKERS), None, FIXED_SECRETS)
    config = yaml.safe_load(bundle["synapse/homeserver.yaml"].text)
    assert config["instance_map"] == {
        "main": {"host": "synapse", "port": synapse_workers.REPLICATION_PORT},
        "event_persister1": {"host": "synapse-event-persister1", "port": 8101},
    }
    assert config["stream_writers"] == {"events": ["event_persister1"]}
    assert config["redis"] == {"enabled": True, "host": "redis", "port": 6379}
    assert config["worker_replication_secret"] == FIXED_SECRETS.worker_replication_secret
    assert config["federation_sender_instances"] == ["federation_sender1"]
    assert config["pusher_instances"] == ["tasks1"]
    assert config["run_background_tasks_on"] == "tasks1"
    assert config["enable_media_repo"] is False
    assert config["media_instance_running_background_jobs"] == "media1"
    replication = [item for item in config["listeners"] if item["port"] == 9093]
    assert replication[0]["resources"] == [{"names": ["replication"], "compress": False}]
    assert len([path for path in bundle if path.startswith("synapse/workers/")]) == 7


def test_each_worker_serves_its_role_and_overrides_the_caches() -> None:
    ctx = context_for(answers_for(**WORKERS, deployment__kind="native"))
    configs = {
        worker.role: synapse_workers.worker_config(ctx, worker)
        for worker in synapse_workers.workers(ctx)
    }
    names = {
        role: config["worker_listeners"][0]["resources"][0]["names"]
        for role, config in configs.items()
    }
    assert names[Role.SYNC] == names[Role.CLIENT_READER] == ["client"]
    assert names[Role.FEDERATION_READER] == ["federation"]
    assert names[Role.MEDIA] == ["media", "client", "federation"]
    assert names[Role.EVENT_PERSISTER] == ["replication"]
    assert names[Role.TASKS] == ["health"]
    assert configs[Role.MEDIA]["enable_media_repo"] is True
    assert "enable_media_repo" not in configs[Role.SYNC]
    for config in configs.values():
        assert config["worker_listeners"][0]["bind_addresses"] == ["127.0.0.1"]
        assert 0 < config["caches"]["global_factor"] <= 2.0


def test_each_worker_has_a_compose_service_reading_its_file_and_checked_on_its_port() -> None:
    ctx = context_for(answers_for(**WORKERS))
    services = compose.services(ctx)
    for worker in synapse_workers.workers(ctx):
        service = services[synapse_workers.service_name(worker)]
        assert f"--config-path=/config/workers/{worker.name}.yaml" in service["command"]
        port = synapse_workers.port(ctx, worker)
        assert service["healthcheck"]["test"] == [
            "CMD-SHELL",
            f"curl -fSs http://localhost:{port}/health",
        ]
    assert "redis" in services
    assert "ports" not in services["redis"]


def test_prometheus_scrapes_every_worker() -> None:
    ctx = context_for(answers_for(**WORKERS, monitoring__prometheus=True))
    job = monitoring.homeserver_scrape_job(ctx)
    assert job is not None
    targets = [target for group in job["static_configs"] for target in group["targets"]]
    assert targets[:3] == ["synapse:9000", "synapse-event-persister1:9001", "synapse-sync1:9002"]
    assert len(targets) == 8
    for worker in synapse_workers.workers(ctx):
        listeners = synapse_workers.worker_config(ctx, worker)["worker_listeners"]
        metrics = [listener for listener in listeners if listener["type"] == "metrics"]
        assert [listener["port"] for listener in metrics] == [
            synapse_workers.metrics_port(ctx, worker)
        ]


def test_readme_says_what_each_worker_does() -> None:
    text = render(answers_for(**WORKERS), None, FIXED_SECRETS)["README.md"].text
    assert "## Synapse workers" in text
    assert "| sync1 | answers sync requests" in text
    plain = render(answers_for(), None, FIXED_SECRETS)
    assert "Synapse workers" not in plain["README.md"].text
