"""Conduit's conduit.toml: every setting under [global], with federation switched on explicitly.

Conduit knows one static registration token. In token mode it is derived from the bundle's
registration_shared_secret with HMAC-SHA256, so it stays the same on every re-run without a new
secret, and handing it out reveals nothing of the secret it comes from. TOML written with
tomli_w carries no comments, so this is the place that says so; `registration_token(ctx)`
returns it for the bundle's README.
"""

import hashlib
import hmac
from typing import Any
from urllib.parse import urlsplit

import tomli_w

from wizard.answers.model import DatabaseKind, Homeserver, RegistrationMode
from wizard.bundle import calls
from wizard.bundle.context import RenderContext
from wizard.bundle.media import s3_bucket
from wizard.bundle.model import PRIVATE, PUBLIC, Bundle, File
from wizard.bundle.tuning import tuning
from wizard.errors import WizardError
from wizard.units import MIB

CONFIG_FILE = "conduit/conduit.toml"
CONFIG_FILE_NAME = "conduit.toml"

# max_request_size is a u32 in Conduit's config, and its built-in value is 20 MiB.
MAX_REQUEST_SIZE_LIMIT = 2**32 - 1
DEFAULT_MAX_REQUEST_SIZE = 20 * MIB

TURN_TTL_SECONDS = 3600
_TOKEN_CONTEXT = b"matrix-wizard conduit registration token"


def config_path(ctx: RenderContext) -> str:
    """Return where Conduit reads its config file, as the homeserver process sees it."""
    return f"{ctx.hs_config_dir}/{CONFIG_FILE_NAME}"


def environment(ctx: RenderContext) -> dict[str, str]:
    """Return the environment Conduit needs: CONDUIT_CONFIG names its config file."""
    return {"CONDUIT_CONFIG": config_path(ctx)}


def registration_token(ctx: RenderContext) -> str:
    """Return the static registration token for token mode, derived from the shared secret."""
    key = ctx.secrets.registration_shared_secret.encode("utf-8")
    return hmac.new(key, _TOKEN_CONTEXT, hashlib.sha256).hexdigest()[:32]


def cache_capacity_mb(ctx: RenderContext) -> float:
    """Return db_cache_capacity_mb from the tuning."""
    return float(tuning(ctx).conduit_db_cache_mb)


def max_request_size(ctx: RenderContext) -> int:
    """Return max_request_size: at least the upload limit, never below Conduit's own 20 MiB."""
    size = max(ctx.upload_limit_bytes, DEFAULT_MAX_REQUEST_SIZE)
    if size > MAX_REQUEST_SIZE_LIMIT:
        raise WizardError(
            f"Conduit accepts requests of at most {MAX_REQUEST_SIZE_LIMIT} bytes, "
            f"less than the {ctx.answers.media.max_upload_mb} MB upload limit",
            "set media.max_upload_mb to 4095 or less",
        )
    return size


def render(ctx: RenderContext) -> Bundle:
    """Return conduit.toml when the bundle runs Conduit, else nothing."""
    if ctx.homeserver is not Homeserver.CONDUIT:
        return {}
    settings, holds_secret = _global(ctx)
    text = tomli_w.dumps({"global": settings})
    return {CONFIG_FILE: File(text, PRIVATE if holds_secret else PUBLIC)}


def _global(ctx: RenderContext) -> tuple[dict[str, Any], bool]:
    """Return the [global] table and whether it holds a secret."""
    answers = ctx.answers
    backend = "sqlite" if answers.database.kind is DatabaseKind.SQLITE else "rocksdb"
    mode = answers.registration.mode
    settings: dict[str, Any] = {
        "server_name": ctx.server_name,
        "database_backend": backend,
        "database_path": ctx.hs_data_dir,
        "address": ctx.listen_address,
        "port": ctx.ports.homeserver,
        "max_request_size": max_request_size(ctx),
        "allow_registration": mode is not RegistrationMode.CLOSED,
    }
    holds_secret = False
    if mode is RegistrationMode.TOKEN:
        settings["registration_token"] = registration_token(ctx)
        holds_secret = True
    settings.update(
        {
            "allow_federation": True,
            "allow_encryption": True,
            "trusted_servers": ["matrix.org"],
            "db_cache_capacity_mb": cache_capacity_mb(ctx),
        }
    )
    if calls.turn_uris(ctx):
        settings["turn_uris"] = calls.turn_uris(ctx)
        settings["turn_secret"] = ctx.secrets.turn_shared_secret
        settings["turn_ttl"] = TURN_TTL_SECONDS
        holds_secret = True
    settings["well_known"] = {
        "client": ctx.public_baseurl.rstrip("/"),
        "server": ctx.federation_endpoint,
    }
    media, media_secret = _media(ctx)
    settings["media"] = media
    return settings, holds_secret or media_secret


def _media(ctx: RenderContext) -> tuple[dict[str, Any], bool]:
    """Return the [global.media] table and whether it holds a secret."""
    media = ctx.answers.media
    if media.backend != "s3":
        return {"backend": "filesystem", "path": ctx.hs_media_dir}, False
    s3, secret = s3_bucket(ctx)
    host = urlsplit(s3.endpoint).hostname or ""
    return {
        "backend": "s3",
        "endpoint": s3.endpoint,
        "bucket": s3.bucket,
        "region": s3.region,
        "key": s3.access_key_id,
        "secret": secret,
        # Amazon serves buckets as subdomains; other S3 stores commonly need path-style URLs.
        "bucket_use_path": not host.endswith("amazonaws.com"),
    }, True
