"""Synapse's files, parsed back: every choice lands in homeserver.yaml, secure by default."""

import base64
import re
from typing import Any

import pytest
import yaml

from tests.bundle_support import FIXED_SECRETS, answers_for, context_for, facts_with
from wizard.bundle import calls, synapse
from wizard.bundle.context import RenderContext
from wizard.bundle.model import PRIVATE, PUBLIC
from wizard.bundle.tuning import tuning
from wizard.errors import WizardError


def _config(**sets: Any) -> dict[str, Any]:
    ctx = context_for(answers_for(**sets))
    data = yaml.safe_load(synapse.render(ctx)[synapse.HOMESERVER_YAML].text)
    assert isinstance(data, dict)
    return data


def _public_listener(config: dict[str, Any]) -> dict[str, Any]:
    (listener,) = [item for item in config["listeners"] if item["type"] == "http"]
    assert isinstance(listener, dict)
    return listener


@pytest.mark.parametrize(
    ("homeserver", "database"), [("dendrite", "postgresql"), ("conduit", "rocksdb")]
)
def test_other_homeservers_get_no_synapse_files(homeserver: str, database: str) -> None:
    ctx = context_for(answers_for(homeserver, database=database))

    assert synapse.render(ctx) == {}


def test_files_and_modes() -> None:
    files = synapse.render(context_for())

    assert {path: file.mode for path, file in files.items()} == {
        "synapse/homeserver.yaml": PRIVATE,
        "synapse/log.config": PUBLIC,
        "synapse/signing.key": PRIVATE,
    }


def test_checklist_keys_are_all_there() -> None:
    config = _config()

    ctx = context_for()
    assert config["server_name"] == "example.com"
    assert config["report_stats"] is False
    assert config["public_baseurl"] == ctx.public_baseurl
    assert config["pid_file"] == "/data/homeserver.pid"
    assert config["log_config"] == "/config/log.config"
    assert config["media_store_path"] == "/media"
    assert config["signing_key_path"] == "/config/signing.key"
    assert config["registration_shared_secret"] == FIXED_SECRETS.registration_shared_secret
    assert config["macaroon_secret_key"] == FIXED_SECRETS.macaroon_secret_key
    assert config["form_secret"] == FIXED_SECRETS.form_secret
    assert config["trusted_key_servers"] == [{"server_name": "matrix.org"}]
    assert config["suppress_key_server_warning"] is True
    assert config["url_preview_enabled"] is False
    assert config["allow_guest_access"] is False
    assert "serve_server_wellknown" not in config


def test_report_stats_follows_the_answer() -> None:
    assert _config(homeserver__report_stats=True)["report_stats"] is True


@pytest.mark.parametrize(("kind", "bind"), [("compose", "0.0.0.0"), ("native", "127.0.0.1")])
def test_the_public_listener_serves_client_and_federation_behind_the_proxy(
    kind: str, bind: str
) -> None:
    listener = _public_listener(_config(deployment__kind=kind, deployment__ports__homeserver=8118))

    assert listener["port"] == 8118
    assert listener["bind_addresses"] == [bind]
    assert listener["x_forwarded"] is True
    assert listener["tls"] is False
    assert listener["resources"] == [{"names": ["client", "federation"], "compress": False}]


@pytest.mark.parametrize("prometheus", [True, False])
@pytest.mark.parametrize("kind", ["compose", "native"])
def test_metrics_only_on_their_own_listener_bound_inside(prometheus: bool, kind: str) -> None:
    config = _config(
        monitoring__prometheus=prometheus, deployment__kind=kind, deployment__ports__metrics=9123
    )

    public = _public_listener(config)
    names = [name for resource in public["resources"] for name in resource["names"]]
    assert "metrics" not in names
    metrics = [item for item in config["listeners"] if item["type"] == "metrics"]
    assert config["enable_metrics"] is prometheus
    if prometheus:
        assert metrics == [
            {
                "port": 9123,
                "type": "metrics",
                "bind_addresses": ["0.0.0.0" if kind == "compose" else "127.0.0.1"],
            }
        ]
    else:
        assert metrics == []


def test_postgres_database_in_compose() -> None:
    config = _config(database="postgresql", deployment__ports__postgres=5544)
    tuned = tuning(context_for())

    assert config["database"] == {
        "name": "psycopg2",
        "args": {
            "user": "synapse",
            "password": FIXED_SECRETS.database_password,
            "dbname": "synapse",
            "host": "postgres",
            "port": 5544,
            "cp_min": tuned.cp_min,
            "cp_max": tuned.cp_max,
        },
    }


def test_postgres_database_natively_and_external() -> None:
    native = _config(database="postgresql", deployment__kind="native")["database"]["args"]
    external = _config(
        database="postgresql",
        database__host="db.example.net",
        database__port=6432,
        database__name="matrix",
        database__user="hs",
    )["database"]["args"]

    assert (native["host"], native["port"]) == ("127.0.0.1", 5432)
    assert (external["host"], external["port"]) == ("db.example.net", 6432)
    assert (external["dbname"], external["user"]) == ("matrix", "hs")


def test_pool_grows_with_the_machine() -> None:
    small = context_for(answers_for(database="postgresql"), facts_with(ram_gib=1, cores=1))
    large = context_for(answers_for(database="postgresql"), facts_with(ram_gib=32, cores=8))
    small_args = yaml.safe_load(synapse.homeserver_yaml(small))["database"]["args"]
    large_args = yaml.safe_load(synapse.homeserver_yaml(large))["database"]["args"]

    assert small_args["cp_max"] < large_args["cp_max"]
    assert small_args["cp_min"] <= small_args["cp_max"]


@pytest.mark.parametrize("kind", ["compose", "native"])
def test_sqlite_database_lives_in_the_data_dir(kind: str) -> None:
    ctx = context_for(answers_for(database="sqlite", deployment__kind=kind))
    config = yaml.safe_load(synapse.homeserver_yaml(ctx))

    assert config["database"] == {
        "name": "sqlite3",
        "args": {"database": f"{ctx.hs_data_dir}/homeserver.db"},
    }


def test_native_paths_follow_the_install_and_data_dirs() -> None:
    config = _config(deployment__kind="native", deployment__prefix="/stage")

    assert config["log_config"] == "/stage/opt/matrix-wizard/synapse/log.config"
    assert config["signing_key_path"] == "/stage/opt/matrix-wizard/synapse/signing.key"
    assert config["pid_file"] == "/stage/var/lib/matrix-wizard/synapse/homeserver.pid"
    assert config["media_store_path"] == "/stage/var/lib/matrix-wizard/media"


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("closed", {"enable_registration": False}),
        ("token", {"enable_registration": True, "registration_requires_token": True}),
        (
            "open",
            {"enable_registration": True, "enable_registration_without_verification": True},
        ),
    ],
)
def test_registration_modes(mode: str, expected: dict[str, bool]) -> None:
    config = _config(registration__mode=mode)
    keys = (
        "enable_registration",
        "registration_requires_token",
        "enable_registration_without_verification",
    )

    assert {key: config[key] for key in keys if key in config} == expected


@pytest.mark.parametrize("choice", ["all", "invite", "off"])
def test_encryption_default(choice: str) -> None:
    config = _config(encryption__by_default=choice)

    assert config["encryption_enabled_by_default_for_room_type"] == choice


def test_encryption_is_on_for_all_rooms_by_default() -> None:
    assert _config()["encryption_enabled_by_default_for_room_type"] == "all"


def test_turn_when_calls_are_wanted() -> None:
    config = _config(
        calls__turn=True,
        calls__turn_host="turn.example.org",
        deployment__ports__turn=3479,
        deployment__ports__turns=5350,
    )

    assert config["turn_uris"] == [
        "turn:turn.example.org:3479?transport=udp",
        "turn:turn.example.org:3479?transport=tcp",
        "turns:turn.example.org:5350?transport=tcp",
    ]
    assert config["turn_shared_secret"] == FIXED_SECRETS.turn_shared_secret
    assert config["turn_user_lifetime"] == "1h"


def test_no_turn_keys_without_calls() -> None:
    config = _config()

    assert not [key for key in config if key.startswith("turn_")]
    assert calls.turn_uris(context_for()) == []


@pytest.mark.parametrize(("megabytes", "text"), [(50, "50M"), (100, "100M"), (2048, "2G")])
def test_upload_limit(megabytes: int, text: str) -> None:
    assert _config(media__max_upload_mb=megabytes)["max_upload_size"] == text


def test_synapse_size_spells_sizes_the_way_synapse_parses_them() -> None:
    assert synapse.synapse_size(3 * 1024**3) == "3G"
    assert synapse.synapse_size(1536 * 1024) == "1536K"
    assert synapse.synapse_size(1000) == "1000"


def test_caches_and_presence_follow_the_tuning() -> None:
    small = context_for(answers_for(), facts_with(ram_gib=1, cores=1))
    large = context_for(answers_for(), facts_with(ram_gib=16, cores=4))
    small_config = yaml.safe_load(synapse.homeserver_yaml(small))
    large_config = yaml.safe_load(synapse.homeserver_yaml(large))

    assert small_config["caches"]["global_factor"] == tuning(small).synapse_cache_factor
    assert small_config["caches"]["global_factor"] < large_config["caches"]["global_factor"]
    assert small_config["presence"] == {"enabled": False}
    assert large_config["presence"] == {"enabled": True}
    assert re.fullmatch(r"\d+K", large_config["event_cache_size"])


def _limits(config: dict[str, Any]) -> list[tuple[str, float]]:
    """Return every rate and burst of the rc_* sections as (dotted name, value)."""
    found: list[tuple[str, float]] = []

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(f"{prefix}.{key}", value)
        else:
            found.append((prefix, node))

    for key, value in config.items():
        if key.startswith("rc_"):
            walk(key, value)
    return found


def test_rate_limit_presets_order_strict_normal_relaxed() -> None:
    strict = dict(_limits(_config(rate_limits__preset="strict")))
    normal = dict(_limits(_config(rate_limits__preset="normal")))
    relaxed = dict(_limits(_config(rate_limits__preset="relaxed")))

    assert strict.keys() == normal.keys() == relaxed.keys()
    assert {"rc_login.failed_attempts.per_second", "rc_registration.burst_count"} <= set(normal)
    for name in normal:
        assert strict[name] <= normal[name] <= relaxed[name], name
        assert strict[name] > 0, name
    assert strict["rc_message.per_second"] < normal["rc_message.per_second"]
    assert relaxed["rc_federation.concurrent"] > normal["rc_federation.concurrent"]
    assert strict["rc_federation.window_size"] == normal["rc_federation.window_size"]


def test_s3_media_storage_provider() -> None:
    answers = answers_for(
        media__backend="s3",
        media__s3={
            "bucket": "matrix-media",
            "endpoint": "https://s3.example.net",
            "region": "eu-west-1",
            "access_key_id": "AKIAEXAMPLE",
        },
    )
    secrets = FIXED_SECRETS.model_copy(update={"s3_secret_access_key": "s3SECRETs3secret"})
    ctx = RenderContext(answers=answers, facts=facts_with(), secrets=secrets)
    text = synapse.homeserver_yaml(ctx)
    (provider,) = yaml.safe_load(text)["media_storage_providers"]

    assert provider == {
        "module": "s3_storage_provider.S3StorageProviderBackend",
        "store_local": True,
        "store_remote": True,
        "store_synchronous": True,
        "config": {
            "bucket": "matrix-media",
            "region_name": "eu-west-1",
            "endpoint_url": "https://s3.example.net",
            "access_key_id": "AKIAEXAMPLE",
            "secret_access_key": "s3SECRETs3secret",
        },
    }
    assert "synapse-s3-storage-provider" in text.split("\nserver_name:")[0]


def test_local_media_has_no_storage_provider() -> None:
    assert "media_storage_providers" not in _config()


def test_signing_key_line_holds_the_unpadded_seed() -> None:
    text = synapse.render(context_for())[synapse.SIGNING_KEY].text
    match = re.fullmatch(r"ed25519 (a_[A-Za-z0-9]{4}) ([A-Za-z0-9+/]+)\n", text)

    assert match is not None
    assert match.group(1) == FIXED_SECRETS.signing_key_id
    seed = base64.b64decode(match.group(2) + "=" * (-len(match.group(2)) % 4))
    assert seed == base64.b64decode(FIXED_SECRETS.signing_key_seed)
    assert len(seed) == 32


@pytest.mark.parametrize("seed", ["not base64!", base64.b64encode(b"short").decode()])
def test_a_bad_signing_seed_is_a_clear_error(seed: str) -> None:
    secrets = FIXED_SECRETS.model_copy(update={"signing_key_seed": seed})

    with pytest.raises(WizardError, match="signing key seed"):
        synapse.signing_key_text(secrets)


def test_log_config_never_logs_sql_at_debug() -> None:
    text = synapse.render(context_for())[synapse.LOG_CONFIG].text
    config = yaml.safe_load(text)

    assert config["version"] == 1
    assert config["loggers"]["synapse.storage.SQL"]["level"] == "INFO"
    assert config["root"] == {"level": "INFO", "handlers": ["console"]}
    assert config["handlers"]["console"]["class"] == "logging.StreamHandler"
    assert "DEBUG" not in text


@pytest.mark.parametrize(
    "sets",
    [
        {},
        {"database": "sqlite", "calls__turn": True, "monitoring__prometheus": True},
        {"registration__mode": "token", "deployment__kind": "native"},
    ],
)
def test_secrets_only_in_private_files(sets: dict[str, Any]) -> None:
    files = synapse.render(context_for(answers_for(**sets)))

    for path, file in files.items():
        if file.mode != PRIVATE:
            for secret in FIXED_SECRETS.values():
                assert secret not in file.text, path


def test_rendering_is_deterministic() -> None:
    answers = answers_for(database="postgresql", calls__turn=True, monitoring__prometheus=True)
    first = synapse.render(context_for(answers))
    again = synapse.render(
        RenderContext(
            answers=answers_for(
                database="postgresql", calls__turn=True, monitoring__prometheus=True
            ),
            facts=facts_with(),
            secrets=FIXED_SECRETS.model_copy(),
        )
    )

    assert first == again
