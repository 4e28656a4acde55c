"""Where media lives: the homeserver's local folder, and the S3 bucket with its checked secret."""

from wizard.answers.model import MEDIA_IN_DATA_FOLDER, Homeserver, S3Section
from wizard.bundle.context import RenderContext
from wizard.bundle.versions import S3_STORAGE_PROVIDER_VERSION
from wizard.errors import WizardError

S3_PROVIDER_PACKAGE = "synapse-s3-storage-provider"


def uses_s3(ctx: RenderContext) -> bool:
    """Return whether media goes to an S3 bucket."""
    return ctx.answers.media.backend == "s3"


def keeps_local_media(ctx: RenderContext) -> bool:
    """Return whether the homeserver writes media to the media folder: Synapse always does."""
    if ctx.homeserver in MEDIA_IN_DATA_FOLDER:
        return False  # continuwuity and tuwunel keep it in their data folder, with the database
    # With S3 the storage provider copies each file to the bucket, and media_store_path stays
    # Synapse's local store and cache (synapse-s3-storage-provider's README).
    return not uses_s3(ctx) or ctx.homeserver is Homeserver.SYNAPSE


def synapse_s3_provider(ctx: RenderContext) -> bool:
    """Return whether Synapse needs the S3 storage provider module installed beside it."""
    return uses_s3(ctx) and ctx.homeserver is Homeserver.SYNAPSE


def s3_provider_requirement() -> str:
    """Return what pip installs for Synapse's S3 media: the provider, pinned."""
    return f"{S3_PROVIDER_PACKAGE}=={S3_STORAGE_PROVIDER_VERSION}"


def s3_bucket(ctx: RenderContext) -> tuple[S3Section, str]:
    """Return the S3 bucket and its secret key, refusing a bucket without its secret."""
    s3 = ctx.answers.media.s3
    if s3 is None:
        raise WizardError("media backend s3 needs media.s3", "give bucket and access_key_id")
    if not ctx.secrets.s3_secret_access_key:
        raise WizardError(
            "media backend s3 needs the bucket's secret access key",
            "set s3_secret_access_key in the bundle's secrets.yaml",
        )
    return s3, ctx.secrets.s3_secret_access_key
