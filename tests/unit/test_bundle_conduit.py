import itertools
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.bundle_support import FIXED_SECRETS, answers_for, context_for, facts_with
from wizard.answers.model import Answers
from wizard.bundle import calls, conduit
from wizard.bundle.context import RenderContext
from wizard.bundle.model import PRIVATE, PUBLIC, Bundle
from wizard.bundle.tuning import tuning
from wizard.errors import WizardError
from wizard.units import MIB
from wizard.verify.known_keys import check_conduit_file

COMBINATIONS = list(
    itertools.product(
        ["rocksdb", "sqlite"], ["closed", "token", "open"], [False, True], [False, True]
    )
)
S3 = {"bucket": "media-bucket", "access_key_id": "AKIAEXAMPLE"}


def settings_of(ctx: RenderContext) -> dict[str, Any]:
    data = tomllib.loads(conduit.render(ctx)[conduit.CONFIG_FILE].text)
    assert list(data) == ["global"]
    settings = data["global"]
    assert isinstance(settings, dict)
    return settings


def write(bundle: Bundle, root: Path) -> Path:
    target = root / conduit.CONFIG_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(bundle[conduit.CONFIG_FILE].text, encoding="utf-8")
    return target


@pytest.mark.parametrize(("database", "registration", "turn", "prometheus"), COMBINATIONS)
def test_every_combination_parses_back_and_passes_the_check(
    database: str, registration: str, turn: bool, prometheus: bool, tmp_path: Path
) -> None:
    answers = answers_for(
        "conduit",
        database,
        registration__mode=registration,
        calls__turn=turn,
        monitoring__prometheus=prometheus,
    )
    ctx = context_for(answers)
    bundle = conduit.render(ctx)
    settings = settings_of(ctx)

    assert settings["server_name"] == "example.com"
    assert settings["database_backend"] == database
    assert settings["database_path"] == "/data"
    assert settings["address"] == "0.0.0.0"
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
    assert settings["media"] == {"backend": "filesystem", "path": "/media"}
    holds_secret = registration == "token" or turn
    assert bundle[conduit.CONFIG_FILE].mode == (PRIVATE if holds_secret else PUBLIC)

    assert check_conduit_file(write(bundle, tmp_path)) == []


def test_native_deployment_listens_on_loopback_with_host_paths() -> None:
    settings = settings_of(context_for(answers_for("conduit", deployment__kind="native")))
    assert settings["address"] == "127.0.0.1"
    assert settings["database_path"] == "/var/lib/matrix-wizard/conduit"
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


def test_request_size_never_drops_below_conduits_default() -> None:
    small = context_for(answers_for("conduit", media__max_upload_mb=5))
    large = context_for(answers_for("conduit", media__max_upload_mb=300))
    assert conduit.max_request_size(small) == conduit.DEFAULT_MAX_REQUEST_SIZE
    assert conduit.max_request_size(large) == 300 * MIB


def test_upload_limit_beyond_what_conduit_can_hold_is_refused() -> None:
    with pytest.raises(WizardError) as caught:
        conduit.render(context_for(answers_for("conduit", media__max_upload_mb=4096)))
    assert "4095" in caught.value.hint


def test_cache_follows_ram_and_is_the_tuned_value() -> None:
    answers = answers_for("conduit")
    sizes = [
        conduit.cache_capacity_mb(context_for(answers, facts_with(ram_gib=ram)))
        for ram in (0.25, 4, 64)
    ]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    large = context_for(answers, facts_with(ram_gib=64))
    assert settings_of(large)["db_cache_capacity_mb"] == tuning(large).conduit_db_cache_mb


def s3_answers() -> Answers:
    return answers_for("conduit", media__backend="s3", media__s3=S3)


def test_s3_media_is_written_with_its_secret(tmp_path: Path) -> None:
    secrets = FIXED_SECRETS.model_copy(update={"s3_secret_access_key": "s3SECRETs3secret"})
    ctx = RenderContext(answers=s3_answers(), facts=facts_with(), secrets=secrets)
    bundle = conduit.render(ctx)
    media = tomllib.loads(bundle[conduit.CONFIG_FILE].text)["global"]["media"]
    assert media["backend"] == "s3"
    assert (media["bucket"], media["key"], media["secret"]) == (
        "media-bucket",
        "AKIAEXAMPLE",
        "s3SECRETs3secret",
    )
    assert media["endpoint"] == "https://s3.amazonaws.com"
    assert media["bucket_use_path"] is False
    assert bundle[conduit.CONFIG_FILE].mode == PRIVATE
    assert check_conduit_file(write(bundle, tmp_path)) == []


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


def test_environment_names_the_config_file() -> None:
    ctx = context_for(answers_for("conduit"))
    assert conduit.environment(ctx) == {"CONDUIT_CONFIG": "/config/conduit.toml"}


def test_other_homeservers_get_nothing() -> None:
    assert conduit.render(context_for(answers_for("synapse"))) == {}
    assert conduit.render(context_for(answers_for("dendrite"))) == {}


def test_rendering_is_deterministic() -> None:
    def once() -> Bundle:
        answers = answers_for("conduit", "sqlite", registration__mode="token", calls__turn=True)
        return conduit.render(context_for(answers))

    assert once() == once()
