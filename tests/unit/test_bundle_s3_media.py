"""Synapse with S3 media: its local store mounted and created, the provider, the secret."""

from typing import Any

import pytest
import yaml

from tests.bundle_support import FIXED_SECRETS, answers_for, facts_with
from wizard.answers.secret_store import Secrets
from wizard.bundle import (
    apply_script,
    compose,
    layout,
    shell,
    synapse,
    synapse_image,
    systemd,
    versions,
)
from wizard.bundle.context import RenderContext
from wizard.bundle.render import render
from wizard.errors import WizardError

S3 = {"bucket": "matrix-media", "endpoint": "https://s3.example.net", "access_key_id": "AKIA0001"}
WITH_S3_SECRET = FIXED_SECRETS.model_copy(update={"s3_secret_access_key": "s3SECRETs3secret"})


def _context(kind: str, secrets: Secrets = WITH_S3_SECRET, **sets: Any) -> RenderContext:
    answers = answers_for(
        "synapse", deployment__kind=kind, media__backend="s3", media__s3=S3, **sets
    )
    return RenderContext(answers=answers, facts=facts_with(), secrets=secrets)


def _services(ctx: RenderContext) -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load(compose.render(ctx)[compose.COMPOSE_FILE].text)[
        "services"
    ]
    return services


@pytest.mark.parametrize("kind", ["compose", "native"])
def test_an_empty_s3_secret_is_refused_with_where_to_put_it(kind: str) -> None:
    ctx = _context(kind, secrets=FIXED_SECRETS)
    with pytest.raises(WizardError, match="secret access key") as refused:
        synapse.homeserver_yaml(ctx)
    assert "s3_secret_access_key" in str(refused.value.hint)


def test_compose_mounts_the_media_store_synapse_keeps_beside_s3() -> None:
    ctx = _context("compose")
    config = yaml.safe_load(synapse.homeserver_yaml(ctx))
    mounts = _services(ctx)["synapse"]["volumes"]
    assert f"{ctx.media_host_dir}:{config['media_store_path']}" in mounts
    assert ctx.media_host_dir in [folder.path for folder in layout.folders(ctx, turn_tls=False)]


def test_native_creates_the_media_store_and_lets_synapse_write_it() -> None:
    ctx = _context("native")
    config = yaml.safe_load(synapse.homeserver_yaml(ctx))
    assert config["media_store_path"] == ctx.media_host_dir
    folders = {folder.path: folder for folder in layout.folders(ctx, turn_tls=False)}
    assert folders[ctx.media_host_dir].owner == "matrix-synapse"
    unit = systemd.render(ctx)[systemd.unit_path("matrix-synapse")].text
    (writable,) = [line for line in unit.splitlines() if line.startswith("ReadWritePaths=")]
    assert ctx.media_host_dir in writable.removeprefix("ReadWritePaths=").split()


def test_compose_builds_synapse_with_the_pinned_provider_from_the_pinned_image() -> None:
    ctx = _context("compose", homeserver__workers=True)
    services = _services(ctx)
    bundle = render(ctx.answers, ctx.facts, ctx.secrets)
    dockerfile = bundle[synapse_image.DOCKERFILE].text
    assert f"FROM {versions.SYNAPSE_IMAGE}\n" in dockerfile
    assert (
        f"RUN pip install --no-cache-dir "
        f"synapse-s3-storage-provider=={versions.S3_STORAGE_PROVIDER_VERSION}\n"
    ) in dockerfile
    for name in ("synapse", "synapse-media1"):
        assert services[name]["image"] == versions.SYNAPSE_S3_IMAGE
        assert services[name]["build"] == {
            "context": f"{ctx.install_dir}/{synapse_image.BUILD_FOLDER}"
        }


def test_local_media_keeps_the_official_image_and_no_dockerfile() -> None:
    answers = answers_for("synapse")
    ctx = RenderContext(answers=answers, facts=facts_with(), secrets=FIXED_SECRETS)
    assert _services(ctx)["synapse"]["image"] == versions.SYNAPSE_IMAGE
    assert "build" not in _services(ctx)["synapse"]
    assert synapse_image.DOCKERFILE not in render(answers, ctx.facts, FIXED_SECRETS)


def test_native_apply_installs_the_pinned_provider_into_synapses_venv() -> None:
    script = apply_script.apply_script(_context("native"))
    pin = f"synapse-s3-storage-provider=={versions.S3_STORAGE_PROVIDER_VERSION}"
    assert f"S3_PROVIDER_REQUIREMENT={shell.quote(pin)}\n" in script
    assert 'host_run "$SYNAPSE_VENV/bin/pip" install --quiet "$S3_PROVIDER_REQUIREMENT"' in script
    answers = answers_for(deployment__kind="native")
    local = apply_script.apply_script(
        RenderContext(answers=answers, facts=None, secrets=FIXED_SECRETS)
    )
    assert "S3_PROVIDER_REQUIREMENT=''\n" in local
