import base64
import itertools
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from tests.bundle_support import FIXED_SECRETS, answers_for, context_for, facts_with
from wizard.bundle import calls, dendrite
from wizard.bundle.context import RenderContext
from wizard.bundle.model import PRIVATE, Bundle
from wizard.bundle.tuning import tuning
from wizard.errors import WizardError
from wizard.probe.facts import HostFacts
from wizard.units import GIB, MIB
from wizard.verify.known_keys import check_dendrite_file

COMBINATIONS = list(
    itertools.product(["postgresql", "sqlite"], ["closed", "open"], [False, True], [False, True])
)


def write(bundle: Bundle, root: Path) -> None:
    for relative, file in bundle.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(file.text, encoding="utf-8")


def parsed(ctx: RenderContext) -> dict[str, Any]:
    data = yaml.safe_load(dendrite.render(ctx)[dendrite.CONFIG_FILE].text)
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize(("database", "registration", "turn", "prometheus"), COMBINATIONS)
def test_every_combination_parses_back_and_passes_the_check(
    database: str, registration: str, turn: bool, prometheus: bool, tmp_path: Path
) -> None:
    answers = answers_for(
        "dendrite",
        database,
        registration__mode=registration,
        calls__turn=turn,
        monitoring__prometheus=prometheus,
    )
    ctx = context_for(answers)
    bundle = dendrite.render(ctx)
    data = yaml.safe_load(bundle[dendrite.CONFIG_FILE].text)

    assert data["version"] == 2
    assert data["global"]["server_name"] == "example.com"
    assert data["global"]["private_key"] == "/config/matrix_key.pem"
    components = {
        (section, key): data.get(section, {}).get(key)
        for section, key, _ in dendrite.COMPONENT_DATABASES
    }
    if database == "postgresql":
        uri = urlsplit(data["global"]["database"]["connection_string"])
        assert (uri.scheme, uri.hostname, uri.port, uri.path) == (
            "postgres",
            "postgres",
            5432,
            "/dendrite",
        )
        assert unquote(uri.password or "") == FIXED_SECRETS.database_password
        assert data["global"]["database"]["max_open_conns"] < 100
        assert all(block is None for block in components.values())
    else:
        assert "database" not in data["global"]
        strings = [block["connection_string"] for block in components.values()]
        assert all(s.startswith("file:/data/dendrite_") for s in strings)
        assert len(set(strings)) == 8

    client = data["client_api"]
    assert client["registration_disabled"] is (registration == "closed")
    assert "registration_requires_token" not in client  # Dendrite would not check it
    assert client["registration_shared_secret"] == FIXED_SECRETS.registration_shared_secret
    if turn:
        assert client["turn"]["turn_uris"] == calls.turn_uris(ctx)
        assert client["turn"]["turn_shared_secret"] == FIXED_SECRETS.turn_shared_secret
        assert client["turn"]["turn_user_lifetime"] == "1h"
    else:
        assert "turn" not in client
    metrics = data["global"]["metrics"]
    assert metrics["enabled"] is prometheus
    if prometheus:
        assert metrics["basic_auth"] == {
            "username": dendrite.METRICS_USERNAME,
            "password": FIXED_SECRETS.metrics_password,
        }
    else:
        assert "basic_auth" not in metrics
    assert data["media_api"]["max_file_size_bytes"] == ctx.upload_limit_bytes
    assert data["media_api"]["base_path"] == "/media"
    assert data["sync_api"]["real_ip_header"] == dendrite.REAL_IP_HEADER
    assert data["global"]["jetstream"]["storage_path"].startswith("/data/")
    assert bundle[dendrite.CONFIG_FILE].mode == PRIVATE

    write(bundle, tmp_path)
    problems = check_dendrite_file(
        tmp_path / dendrite.CONFIG_FILE,
        config_dir=ctx.hs_config_dir,
        flags=dendrite.start_flags(ctx),
    )
    assert problems == []


def test_native_deployment_uses_host_paths(tmp_path: Path) -> None:
    ctx = context_for(answers_for("dendrite", "sqlite", deployment__kind="native"))
    data = parsed(ctx)
    assert data["global"]["private_key"] == "/opt/matrix-wizard/dendrite/matrix_key.pem"
    assert data["room_server"]["database"]["connection_string"] == (
        "file:/var/lib/matrix-wizard/dendrite/dendrite_roomserver.db"
    )
    assert data["media_api"]["base_path"] == "/var/lib/matrix-wizard/media"
    write(dendrite.render(ctx), tmp_path)
    assert check_dendrite_file(tmp_path / dendrite.CONFIG_FILE, config_dir=ctx.hs_config_dir) == []


def test_password_with_reserved_characters_survives_the_uri() -> None:
    password = "p@ss:w/rd?#%&= ü"
    secrets = FIXED_SECRETS.model_copy(update={"database_password": password})
    ctx = RenderContext(answers=answers_for("dendrite"), facts=facts_with(), secrets=secrets)
    uri = urlsplit(parsed(ctx)["global"]["database"]["connection_string"])
    assert uri.hostname == "postgres"
    assert uri.path == "/dendrite"
    assert unquote(uri.password or "") == password


def test_external_database_host_is_used_with_tls_required() -> None:
    answers = answers_for("dendrite", database__host="db.example.net", database__port=6543)
    uri = urlsplit(parsed(context_for(answers))["global"]["database"]["connection_string"])
    assert (uri.hostname, uri.port, uri.query) == ("db.example.net", 6543, "sslmode=require")


def test_bundled_database_is_reached_without_tls() -> None:
    uri = urlsplit(
        parsed(context_for(answers_for("dendrite")))["global"]["database"]["connection_string"]
    )
    assert uri.query == "sslmode=disable"


def test_pool_and_cache_grow_with_ram_and_stay_under_postgres_limit() -> None:
    answers = answers_for("dendrite")
    small = parsed(context_for(answers, facts_with(ram_gib=0.5)))["global"]
    large = parsed(context_for(answers, facts_with(ram_gib=64)))["global"]
    assert small["database"]["max_open_conns"] < large["database"]["max_open_conns"] < 100
    assert small["database"]["max_idle_conns"] <= small["database"]["max_open_conns"]
    small_mb = int(small["cache"]["max_size_estimated"].removesuffix("mb"))
    large_mb = int(large["cache"]["max_size_estimated"].removesuffix("mb"))
    assert 64 <= small_mb < large_mb


def test_unknown_ram_falls_back_to_the_tier() -> None:
    unknown = HostFacts(source="manual")
    minimum = context_for(answers_for("dendrite", homeserver__tier="minimum"), unknown)
    production = context_for(answers_for("dendrite", homeserver__tier="production"), unknown)
    assert dendrite.connection_pool(minimum) < dendrite.connection_pool(production)
    assert dendrite.cache_size(minimum) == f"{tuning(minimum).dendrite_cache_mb}mb"
    assert tuning(minimum).ram == 512 * MIB
    assert tuning(production).ram == 4 * GIB
    assert dendrite.search_enabled(minimum) is False
    assert dendrite.search_enabled(production) is True


def test_rate_limit_presets_differ() -> None:
    limits = {
        preset: parsed(context_for(answers_for("dendrite", rate_limits__preset=preset)))[
            "client_api"
        ]["rate_limiting"]
        for preset in ("strict", "normal", "relaxed")
    }
    per_second = {
        preset: limit["threshold"] * 1000 / limit["cooloff_ms"] for preset, limit in limits.items()
    }
    assert per_second["strict"] < per_second["normal"] < per_second["relaxed"]
    assert all(limit["enabled"] is True for limit in limits.values())


@pytest.mark.parametrize(
    ("mode", "flags"),
    [
        ("closed", []),
        ("open", [dendrite.OPEN_REGISTRATION_FLAG]),
    ],
)
def test_start_flags_follow_registration(mode: str, flags: list[str]) -> None:
    assert (
        dendrite.start_flags(context_for(answers_for("dendrite", registration__mode=mode))) == flags
    )


def test_signing_key_is_a_private_pem_with_the_secret_seed() -> None:
    file = dendrite.render(context_for(answers_for("dendrite")))[dendrite.KEY_FILE]
    lines = file.text.splitlines()
    assert lines[0] == "-----BEGIN MATRIX PRIVATE KEY-----"
    assert lines[1] == f"Key-ID: ed25519:{FIXED_SECRETS.signing_key_id}"
    assert lines[2] == ""
    assert lines[-1] == "-----END MATRIX PRIVATE KEY-----"
    body = "".join(lines[3:-1])
    assert all(len(line) <= 64 for line in lines[3:-1])
    assert base64.b64decode(body) == base64.b64decode(FIXED_SECRETS.signing_key_seed)
    assert file.mode == PRIVATE


def test_unpadded_seed_is_written_padded() -> None:
    padded = base64.b64encode(bytes(range(32))).decode()
    text = dendrite.signing_key_pem("a_TeSt", padded.rstrip("="))
    assert text.splitlines()[3] == padded


@pytest.mark.parametrize("seed", ["not base64!", base64.b64encode(b"short").decode()])
def test_bad_seed_is_refused(seed: str) -> None:
    with pytest.raises(WizardError, match="32 bytes"):
        dendrite.signing_key_pem("a_TeSt", seed)


def test_other_homeservers_get_nothing() -> None:
    assert dendrite.render(context_for(answers_for("synapse"))) == {}
    assert dendrite.render(context_for(answers_for("conduit"))) == {}


def test_s3_media_is_refused_with_a_way_out() -> None:
    answers = answers_for(
        "dendrite",
        media__backend="s3",
        media__s3={"bucket": "media-bucket", "access_key_id": "AKIAEXAMPLE"},
    )
    with pytest.raises(WizardError) as caught:
        dendrite.render(context_for(answers))
    assert "media.backend: local" in caught.value.hint


def test_rendering_is_deterministic() -> None:
    def once() -> Bundle:
        answers = answers_for("dendrite", "sqlite", calls__turn=True, monitoring__prometheus=True)
        return dendrite.render(context_for(answers))

    first, second = once(), once()
    assert first == second
    assert list(first) == [dendrite.CONFIG_FILE, dendrite.KEY_FILE]
