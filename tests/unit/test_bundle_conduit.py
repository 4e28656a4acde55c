"""The Conduit family's TOML configs: each member's own keys, checked against its known keys."""

import itertools
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.bundle_support import FIXED_SECRETS, answers_for, context_for, facts_with
from wizard.answers.model import CONDUIT_FAMILY, MEDIA_IN_DATA_FOLDER, Answers, Homeserver
from wizard.bundle import calls, conduit
from wizard.bundle.conduit_family import MEMBERS
from wizard.bundle.context import RenderContext
from wizard.bundle.model import PRIVATE, PUBLIC, Bundle
from wizard.bundle.tuning import tuning
from wizard.errors import WizardError
from wizard.units import MIB
from wizard.verify.conduit_rules import check_conduit_file

# Every database and sign-up each member takes (the successors refuse open sign-up).
TAKES = (
    ("conduit", ["rocksdb", "sqlite"], ["closed", "token", "open"]),
    ("continuwuity", ["rocksdb"], ["closed", "token"]),
    ("tuwunel", ["rocksdb"], ["closed", "token"]),
)


def _combinations() -> list[Any]:
    """Return each member with each database and sign-up, with and without TURN and Prometheus."""
    found = []
    for homeserver, databases, registrations in TAKES:
        for database, registration, turn, prometheus in itertools.product(
            databases, registrations, [False, True], [False, True]
        ):
            words = [homeserver, database, registration]
            words += ["turn"] if turn else []
            words += ["prometheus"] if prometheus else []
            found.append(
                pytest.param(
                    homeserver, database, registration, turn, prometheus, id="-".join(words)
                )
            )
    return found


COMBINATIONS = _combinations()
SUCCESSORS = ["continuwuity", "tuwunel"]
S3 = {"bucket": "media-bucket", "access_key_id": "AKIAEXAMPLE"}


def settings_of(ctx: RenderContext) -> dict[str, Any]:
    data = tomllib.loads(conduit.render(ctx)[conduit.config_file(ctx)].text)
    assert list(data) == ["global"]
    settings = data["global"]
    assert isinstance(settings, dict)
    return settings


def write(ctx: RenderContext, bundle: Bundle, root: Path) -> Path:
    target = root / conduit.config_file(ctx)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(bundle[conduit.config_file(ctx)].text, encoding="utf-8")
    return target


@pytest.mark.parametrize(
    ("homeserver", "database", "registration", "turn", "prometheus"), COMBINATIONS
)
def test_every_combination_parses_back_and_passes_the_check(
    homeserver: str,
    database: str,
    registration: str,
    turn: bool,
    prometheus: bool,
    tmp_path: Path,
) -> None:
    answers = answers_for(
        homeserver,
        database,
        registration__mode=registration,
        calls__turn=turn,
        monitoring__prometheus=prometheus,
    )
    ctx = context_for(answers)
    bundle = conduit.render(ctx)
    settings = settings_of(ctx)
    member = MEMBERS[Homeserver(homeserver)]

    assert conduit.config_file(ctx) == f"{homeserver}/{homeserver}.toml"
    assert settings["server_name"] == "example.com"
    assert settings.get("database_backend") == (database if member.backend_key else None)
    assert settings["database_path"] == "/data"
    assert settings["address"] == (["0.0.0.0"] if member.address_list else "0.0.0.0")
    assert settings["port"] == ctx.ports.homeserver
    assert settings["max_request_size"] >= ctx.upload_limit_bytes
    assert settings["allow_federation"] is True
    assert settings["allow_encryption"] is True
    assert settings["trusted_servers"] == ["matrix.org"]
    assert settings["allow_registration"] is (registration != "closed")
    if registration == "token":
        assert settings["registration_token"] == conduit.registration_token(ctx)
    else:
        assert "registration_token" not in settings
    if turn:
        assert settings["turn_uris"] == calls.turn_uris(ctx)
        assert settings["turn_secret"] == FIXED_SECRETS.turn_shared_secret
    else:
        assert "turn_uris" not in settings
        assert "turn_secret" not in settings
    assert settings["well_known"] == {
        "client": "https://matrix.example.com",
        "server": ctx.federation_endpoint,
    }
    if member.media_table:
        assert settings["media"] == {"backend": "filesystem", "path": "/media"}
    else:
        assert "media" not in settings  # kept under database_path, where nothing can move it
    holds_secret = registration == "token" or turn
    assert bundle[conduit.config_file(ctx)].mode == (PRIVATE if holds_secret else PUBLIC)

    assert check_conduit_file(write(ctx, bundle, tmp_path), Homeserver(homeserver)) == []


@pytest.mark.parametrize(
    ("homeserver", "key", "source"),
    [
        ("continuwuity", "request_ip_source", "x_forwarded_for"),
        ("tuwunel", "ip_source", "rightmost_x_forwarded_for"),
    ],
)
def test_the_successors_take_the_client_address_from_the_proxy(
    homeserver: str, key: str, source: str
) -> None:
    # The proxy is the only way in, and sets X-Forwarded-For: its rightmost entry is the peer.
    assert settings_of(context_for(answers_for(homeserver)))[key] == source
    assert not {"request_ip_source", "ip_source"} & set(
        settings_of(context_for(answers_for("conduit")))
    )


@pytest.mark.parametrize("homeserver", ["conduit", *SUCCESSORS])
def test_native_deployment_listens_on_loopback_with_host_paths(homeserver: str) -> None:
    settings = settings_of(context_for(answers_for(homeserver, deployment__kind="native")))
    member = MEMBERS[Homeserver(homeserver)]
    assert settings["address"] == (["127.0.0.1"] if member.address_list else "127.0.0.1")
    assert settings["database_path"] == f"/var/lib/matrix-wizard/{homeserver}"
    if member.media_table:
        assert settings["media"]["path"] == "/var/lib/matrix-wizard/media"


def test_registration_token_is_derived_and_does_not_reveal_the_secret() -> None:
    ctx = context_for(answers_for("conduit", registration__mode="token"))
    token = conduit.registration_token(ctx)
    assert len(token) == 32
    assert token not in FIXED_SECRETS.registration_shared_secret
    assert token[:8] not in FIXED_SECRETS.registration_shared_secret
    other = RenderContext(
        answers=ctx.answers,
        facts=ctx.facts,
        secrets=FIXED_SECRETS.model_copy(update={"registration_shared_secret": "another" * 6}),
    )
    assert conduit.registration_token(other) != token
    assert conduit.registration_token(ctx) == token


@pytest.mark.parametrize(
    ("homeserver", "built_in"),
    [("conduit", 20 * MIB), ("continuwuity", 20 * MIB), ("tuwunel", 24 * MIB)],
)
def test_request_size_never_drops_below_the_members_own(homeserver: str, built_in: int) -> None:
    small = context_for(answers_for(homeserver, media__max_upload_mb=5))
    large = context_for(answers_for(homeserver, media__max_upload_mb=300))
    assert conduit.max_request_size(small) == built_in
    assert conduit.max_request_size(small) >= MEMBERS[Homeserver(homeserver)].min_request_size
    assert conduit.max_request_size(large) == 300 * MIB


def test_upload_limit_beyond_what_conduit_can_hold_is_refused() -> None:
    with pytest.raises(WizardError) as caught:
        conduit.render(context_for(answers_for("conduit", media__max_upload_mb=4096)))
    assert "4095" in caught.value.hint
    for homeserver in SUCCESSORS:  # their max_request_size is not a u32
        ctx = context_for(answers_for(homeserver, media__max_upload_mb=4096))
        assert settings_of(ctx)["max_request_size"] == 4096 * MIB


def test_cache_follows_ram_and_is_the_tuned_value() -> None:
    answers = answers_for("conduit")
    sizes = [
        conduit.cache_capacity_mb(context_for(answers, facts_with(ram_gib=ram)))
        for ram in (0.25, 4, 64)
    ]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    large = context_for(answers, facts_with(ram_gib=64))
    assert settings_of(large)["db_cache_capacity_mb"] == tuning(large).conduit_db_cache_mb
    tuwunel = context_for(answers_for("tuwunel"), facts_with(ram_gib=64))
    assert settings_of(tuwunel)["db_cache_capacity_mb"] == tuning(large).conduit_db_cache_mb


def s3_answers() -> Answers:
    return answers_for("conduit", media__backend="s3", media__s3=S3)


def test_s3_media_is_written_with_its_secret(tmp_path: Path) -> None:
    secrets = FIXED_SECRETS.model_copy(update={"s3_secret_access_key": "s3SECRETs3secret"})
    ctx = RenderContext(answers=s3_answers(), facts=facts_with(), secrets=secrets)
    bundle = conduit.render(ctx)
    media = tomllib.loads(bundle[conduit.config_file(ctx)].text)["global"]["media"]
    assert media["backend"] == "s3"
    assert (media["bucket"], media["key"], media["secret"]) == (
        "media-bucket",
        "AKIAEXAMPLE",
        "s3SECRETs3secret",
    )
    assert media["endpoint"] == "https://s3.amazonaws.com"
    assert media["bucket_use_path"] is False
    assert bundle[conduit.config_file(ctx)].mode == PRIVATE
    assert check_conduit_file(write(ctx, bundle, tmp_path)) == []


def test_s3_elsewhere_than_amazon_uses_path_style() -> None:
    answers = answers_for(
        "conduit", media__backend="s3", media__s3={**S3, "endpoint": "https://minio.example.net"}
    )
    secrets = FIXED_SECRETS.model_copy(update={"s3_secret_access_key": "s3SECRETs3secret"})
    ctx = RenderContext(answers=answers, facts=facts_with(), secrets=secrets)
    assert settings_of(ctx)["media"]["bucket_use_path"] is True


def test_s3_without_its_secret_is_refused() -> None:
    with pytest.raises(WizardError) as caught:
        conduit.render(context_for(s3_answers()))
    assert "s3_secret_access_key" in caught.value.hint


@pytest.mark.parametrize(
    ("homeserver", "variable"),
    [
        ("conduit", "CONDUIT_CONFIG"),
        ("continuwuity", "CONTINUWUITY_CONFIG"),
        ("tuwunel", "TUWUNEL_CONFIG"),
    ],
)
def test_environment_names_the_config_file(homeserver: str, variable: str) -> None:
    ctx = context_for(answers_for(homeserver))
    assert conduit.environment(ctx) == {variable: f"/config/{homeserver}.toml"}


def test_other_homeservers_get_nothing() -> None:
    assert conduit.render(context_for(answers_for("synapse"))) == {}
    assert conduit.render(context_for(answers_for("dendrite"))) == {}
    with pytest.raises(WizardError):
        conduit.member(context_for(answers_for("synapse")))


def test_the_family_table_and_the_answers_agree_on_who_is_in_it() -> None:
    assert set(MEMBERS) == CONDUIT_FAMILY
    assert {name for name, member in MEMBERS.items() if not member.media_table} == (
        MEDIA_IN_DATA_FOLDER
    )


@pytest.mark.parametrize("homeserver", ["conduit", *SUCCESSORS])
def test_rendering_is_deterministic(homeserver: str) -> None:
    def once() -> Bundle:
        answers = answers_for(homeserver, registration__mode="token", calls__turn=True)
        return conduit.render(context_for(answers))

    assert once() == once()
