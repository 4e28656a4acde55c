"""The Conduit family's TOML config (conduit.toml, continuwuity.toml, tuwunel.toml), from data.

Every setting sits under [global]; federation is switched on explicitly, since Conduit's
built-in default is off. The keys each member reads its own way come from conduit_family.

The three know one static registration token. In token mode it is derived from the bundle's
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
from wizard.bundle import calls, matrix_rtc
from wizard.bundle.conduit_family import MEMBERS, Member
from wizard.bundle.context import RenderContext
from wizard.bundle.media import s3_bucket
from wizard.bundle.model import PRIVATE, PUBLIC, Bundle, File
from wizard.bundle.tuning import tuning
from wizard.errors import WizardError
from wizard.units import MIB

TURN_TTL_SECONDS = 3600
_TOKEN_CONTEXT = b"matrix-wizard conduit registration token"


def member(ctx: RenderContext) -> Member:
    """Return the family member the bundle runs, or raise WizardError for another homeserver."""
    found = MEMBERS.get(ctx.homeserver)
    if found is None:
        raise WizardError(f"{ctx.homeserver.value} is not of the Conduit family", "this is a bug")
    return found


def config_name(homeserver: Homeserver) -> str:
    """Return the name of a family member's config file, such as tuwunel.toml."""
    return f"{homeserver.value}.toml"


def config_file(ctx: RenderContext) -> str:
    """Return the config file's path in the bundle, such as tuwunel/tuwunel.toml."""
    return f"{ctx.homeserver.value}/{config_name(ctx.homeserver)}"


def config_path(ctx: RenderContext) -> str:
    """Return where the homeserver reads its config file, as the homeserver process sees it."""
    return f"{ctx.hs_config_dir}/{config_name(ctx.homeserver)}"


def environment(ctx: RenderContext) -> dict[str, str]:
    """Return the environment the homeserver needs: <PREFIX>CONFIG names its config file."""
    return {f"{member(ctx).env_prefix}CONFIG": config_path(ctx)}


def registration_token(ctx: RenderContext) -> str:
    """Return the static registration token for token mode, derived from the shared secret."""
    key = ctx.secrets.registration_shared_secret.encode("utf-8")
    return hmac.new(key, _TOKEN_CONTEXT, hashlib.sha256).hexdigest()[:32]


def cache_capacity_mb(ctx: RenderContext) -> float:
    """Return db_cache_capacity_mb from the tuning."""
    return float(tuning(ctx).conduit_db_cache_mb)


def max_request_size(ctx: RenderContext) -> int:
    """Return max_request_size: at least the upload limit, never below the member's own."""
    found = member(ctx)
    size = max(ctx.upload_limit_bytes, found.default_request_size, found.min_request_size)
    limit = found.request_size_limit
    if limit is not None and size > limit:
        raise WizardError(
            f"{found.name} accepts requests of at most {limit} bytes, "
            f"less than the {ctx.answers.media.max_upload_mb} MB upload limit",
            f"set media.max_upload_mb to {limit // MIB} or less",
        )
    return size


def render(ctx: RenderContext) -> Bundle:
    """Return the TOML config when the bundle runs a homeserver of the family, else nothing."""
    if ctx.homeserver not in MEMBERS:
        return {}
    settings, holds_secret = _global(ctx)
    text = tomli_w.dumps({"global": settings})
    return {config_file(ctx): File(text, PRIVATE if holds_secret else PUBLIC)}


def _global(ctx: RenderContext) -> tuple[dict[str, Any], bool]:
    """Return the [global] table and whether it holds a secret."""
    found = member(ctx)
    mode = ctx.answers.registration.mode
    settings: dict[str, Any] = {"server_name": ctx.server_name}
    if found.backend_key:
        sqlite = ctx.answers.database.kind is DatabaseKind.SQLITE
        settings["database_backend"] = "sqlite" if sqlite else "rocksdb"
    settings.update(
        {
            "database_path": ctx.hs_data_dir,
            "address": [ctx.listen_address] if found.address_list else ctx.listen_address,
            "port": ctx.ports.homeserver,
            "max_request_size": max_request_size(ctx),
            "allow_registration": mode is not RegistrationMode.CLOSED,
        }
    )
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
    if found.client_address is not None:
        key, source = found.client_address
        settings[key] = source
    if calls.turn_uris(ctx):
        settings["turn_uris"] = calls.turn_uris(ctx)
        settings["turn_secret"] = ctx.secrets.turn_shared_secret
        settings["turn_ttl"] = TURN_TTL_SECONDS
        holds_secret = True
    settings["well_known"] = {
        "client": ctx.public_baseurl.rstrip("/"),
        "server": ctx.federation_endpoint,
    }
    if matrix_rtc.enabled(ctx):
        # continuwuity lists the foci it serves; tuwunel takes lk-jwt-service's URL.
        if ctx.homeserver is Homeserver.CONTINUWUITY:
            settings["matrix_rtc"] = {"foci": matrix_rtc.foci(ctx)}
        elif ctx.homeserver is Homeserver.TUWUNEL:
            settings["well_known"]["livekit_url"] = matrix_rtc.service_url(ctx)
    if found.media_table:
        media, media_secret = _media(ctx)
        settings["media"] = media
        holds_secret = holds_secret or media_secret
    return settings, holds_secret


def _media(ctx: RenderContext) -> tuple[dict[str, Any], bool]:
    """Return Conduit's [global.media] table and whether it holds a secret."""
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
