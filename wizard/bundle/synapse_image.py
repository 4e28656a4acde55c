"""The image Synapse runs under compose: the official one, or one built on it with S3 media.

The official matrixdotorg/synapse image holds no S3 storage provider, so with S3 media the
bundle carries a two-line Dockerfile built on the pinned official image that pip-installs the
pinned provider into the image's Python (/usr/local, where the official image installs
Synapse). docker compose builds it on the host at the first `up`; the build needs PyPI.
"""

from typing import Any

from wizard.bundle import media, versions
from wizard.bundle.context import RenderContext
from wizard.bundle.model import PUBLIC, Bundle, File

BUILD_FOLDER = "synapse-image"
DOCKERFILE = f"{BUILD_FOLDER}/Dockerfile"


def builds_image(ctx: RenderContext) -> bool:
    """Return whether the bundle builds its own Synapse image (compose with S3 media)."""
    return ctx.compose and media.synapse_s3_provider(ctx)


def image_fields(ctx: RenderContext) -> dict[str, Any]:
    """Return the compose fields naming Synapse's image, and how to build it when it is ours."""
    if not builds_image(ctx):
        return {"image": versions.SYNAPSE_IMAGE}
    return {
        "image": versions.SYNAPSE_S3_IMAGE,
        "build": {"context": f"{ctx.install_dir}/{BUILD_FOLDER}"},
    }


def dockerfile() -> str:
    """Return the Dockerfile of the Synapse image with the S3 storage provider."""
    return (
        "# Synapse's official image with the S3 storage provider for media, written by\n"
        "# matrix-wizard; docker compose builds it (build: in docker-compose.yml).\n"
        f"FROM {versions.SYNAPSE_IMAGE}\n"
        f"RUN pip install --no-cache-dir {media.s3_provider_requirement()}\n"
    )


def render(ctx: RenderContext) -> Bundle:
    """Return the Dockerfile when compose runs Synapse with S3 media, else nothing."""
    if not builds_image(ctx):
        return {}
    return {DOCKERFILE: File(dockerfile(), PUBLIC)}
