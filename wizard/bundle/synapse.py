"""Synapse: homeserver.yaml, its log config and its signing key, built from data."""

import base64
import binascii
import math
from typing import Any

import yaml

from wizard.answers.model import Homeserver, RateLimits, RegistrationMode
from wizard.answers.secret_store import Secrets
from wizard.bundle import calls, mas, matrix_rtc, media, synapse_workers
from wizard.bundle.context import RenderContext
from wizard.bundle.model import PRIVATE, PUBLIC, Bundle, File
from wizard.bundle.tuning import tuning
from wizard.errors import WizardError
from wizard.units import GIB, KIB, MIB

HOMESERVER_YAML = "synapse/homeserver.yaml"
LOG_CONFIG = "synapse/log.config"
SIGNING_KEY = "synapse/signing.key"

# Synapse's own rate limits (per_second, burst_count), config_documentation.md#ratelimiting
# (facts 1.4); "normal" uses them as they are, the other presets scale them.
SYNAPSE_RATE_LIMITS: dict[str, tuple[float, int] | dict[str, tuple[float, int]]] = {
    "rc_message": (0.2, 10),
    "rc_registration": (0.17, 3),
    "rc_registration_token_validity": (0.1, 5),
    "rc_login": {
        "address": (0.003, 5),
        "account": (0.003, 5),
        "failed_attempts": (0.17, 3),
    },
    "rc_joins": {"local": (0.1, 10), "remote": (0.01, 10)},
    "rc_joins_per_room": (1.0, 10),
    "rc_invites": {"per_room": (0.3, 10), "per_user": (0.003, 5), "per_issuer": (0.3, 10)},
    "rc_3pid_validation": (0.003, 5),
    "rc_media_create": (10.0, 50),
    "rc_room_creation": (0.016, 10),
}
# Synapse's inbound federation limits (facts 1.4); window_size and sleep_delay are in ms.
SYNAPSE_FEDERATION_LIMITS = {
    "window_size": 1000,
    "sleep_limit": 10,
    "sleep_delay": 500,
    "reject_limit": 50,
    "concurrent": 3,
}
# How each preset scales the rates, bursts and federation allowances above.
RATE_LIMIT_SCALE = {RateLimits.STRICT: 0.5, RateLimits.NORMAL: 1.0, RateLimits.RELAXED: 2.0}

# How long a TURN credential handed to a client stays valid (Synapse's default, facts 5.2).
TURN_USER_LIFETIME = "1h"
LOG_FORMAT = "%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s"


def _scaled_limit(limit: tuple[float, int], scale: float) -> dict[str, float | int]:
    per_second, burst = limit
    return {
        "per_second": round(per_second * scale, 6),
        "burst_count": max(1, math.ceil(burst * scale)),
    }


def synapse_rate_limits(preset: RateLimits) -> dict[str, Any]:
    """Return Synapse's rc_* settings for a rate-limit preset."""
    scale = RATE_LIMIT_SCALE[preset]
    limits: dict[str, Any] = {}
    for name, value in SYNAPSE_RATE_LIMITS.items():
        if isinstance(value, dict):
            limits[name] = {part: _scaled_limit(limit, scale) for part, limit in value.items()}
        else:
            limits[name] = _scaled_limit(value, scale)
    federation = dict(SYNAPSE_FEDERATION_LIMITS)
    for key in ("sleep_limit", "reject_limit", "concurrent"):
        federation[key] = max(1, math.ceil(federation[key] * scale))
    limits["rc_federation"] = federation
    return limits


def synapse_size(size: int) -> str:
    """Return a size or count the way Synapse's config reads them (1024-based): 50M, 1G, 10K."""
    for suffix, factor in (("G", GIB), ("M", MIB), ("K", KIB)):
        if size % factor == 0:
            return f"{size // factor}{suffix}"
    return str(size)


def _listeners(ctx: RenderContext) -> list[dict[str, Any]]:
    listeners: list[dict[str, Any]] = [
        {
            "port": ctx.ports.homeserver,
            "type": "http",
            "tls": False,
            "bind_addresses": [ctx.listen_address],
            "x_forwarded": True,
            "resources": [{"names": ["client", "federation"], "compress": False}],
        }
    ]
    if ctx.answers.monitoring.prometheus:
        # A listener of its own: the metrics are never on the port the proxy forwards to.
        listeners.append(
            {"port": ctx.ports.metrics, "type": "metrics", "bind_addresses": [ctx.listen_address]}
        )
    if synapse_workers.worker_names(ctx):
        listeners.append(synapse_workers.replication_listener(ctx))
    return listeners


def _database(ctx: RenderContext) -> dict[str, Any]:
    if not ctx.uses_postgres:
        return {"name": "sqlite3", "args": {"database": f"{ctx.hs_data_dir}/homeserver.db"}}
    tuned = tuning(ctx)
    database = ctx.answers.database
    return {
        "name": "psycopg2",
        "args": {
            "user": database.user,
            "password": ctx.secrets.database_password,
            "dbname": database.name,
            "host": ctx.database_host,
            "port": ctx.database_port,
            "cp_min": tuned.cp_min,
            "cp_max": tuned.cp_max,
        },
    }


def _registration(mode: RegistrationMode) -> dict[str, bool]:
    if mode is RegistrationMode.CLOSED:
        return {"enable_registration": False}
    if mode is RegistrationMode.TOKEN:
        return {"enable_registration": True, "registration_requires_token": True}
    # Synapse refuses open registration with no verification unless told it is meant (1.4).
    return {"enable_registration": True, "enable_registration_without_verification": True}


def _media_storage_providers(ctx: RenderContext) -> list[dict[str, Any]]:
    if not media.uses_s3(ctx):
        return []
    s3, secret = media.s3_bucket(ctx)
    return [
        {
            "module": "s3_storage_provider.S3StorageProviderBackend",
            "store_local": True,
            "store_remote": True,
            "store_synchronous": True,
            "config": {
                "bucket": s3.bucket,
                "region_name": s3.region,
                "endpoint_url": s3.endpoint,
                "access_key_id": s3.access_key_id,
                "secret_access_key": secret,
            },
        }
    ]


def homeserver_config(ctx: RenderContext) -> dict[str, Any]:
    """Return homeserver.yaml as data, in the order a person reads it."""
    answers = ctx.answers
    tuned = tuning(ctx)
    config: dict[str, Any] = {
        "server_name": ctx.server_name,
        "report_stats": answers.homeserver.report_stats,
        "public_baseurl": ctx.public_baseurl,
        "pid_file": f"{ctx.hs_data_dir}/homeserver.pid",
        "listeners": _listeners(ctx),
        "enable_metrics": answers.monitoring.prometheus,
        "database": _database(ctx),
        "log_config": f"{ctx.hs_config_dir}/log.config",
        "media_store_path": ctx.hs_media_dir,
        "max_upload_size": synapse_size(ctx.upload_limit_bytes),
        "url_preview_enabled": False,
        "signing_key_path": f"{ctx.hs_config_dir}/signing.key",
        "registration_shared_secret": ctx.secrets.registration_shared_secret,
        "macaroon_secret_key": ctx.secrets.macaroon_secret_key,
        "form_secret": ctx.secrets.form_secret,
        "trusted_key_servers": [{"server_name": "matrix.org"}],
        "suppress_key_server_warning": True,
        **_registration(answers.registration.mode),
        "allow_guest_access": False,
        "encryption_enabled_by_default_for_room_type": answers.encryption.by_default.value,
        **synapse_rate_limits(answers.rate_limits.preset),
        "caches": {"global_factor": tuned.synapse_cache_factor},
        "event_cache_size": synapse_size(tuned.synapse_event_cache_size),
        "presence": {"enabled": tuned.presence},
    }
    ca_path = ctx.answers.proxy.federation_ca_path
    if ca_path:
        # The process reads it where compose mounts it, or on the host (under any prefix).
        config["federation_custom_ca_list"] = [ca_path if ctx.compose else ctx.host_path(ca_path)]
    uris = calls.turn_uris(ctx)
    if uris:
        config.update(
            {
                "turn_uris": uris,
                "turn_shared_secret": ctx.secrets.turn_shared_secret,
                "turn_user_lifetime": TURN_USER_LIFETIME,
                "turn_allow_guests": False,
            }
        )
    if matrix_rtc.enabled(ctx):
        config["rc_message"] = matrix_rtc.raised_limit(
            config["rc_message"], matrix_rtc.MESSAGE_LIMIT
        )
        per_second, burst = matrix_rtc.DELAYED_EVENT_LIMIT
        config["rc_delayed_event_mgmt"] = {"per_second": per_second, "burst_count": burst}
        config.update(matrix_rtc.synapse_config(ctx))
    providers = _media_storage_providers(ctx)
    if providers:
        config["media_storage_providers"] = providers
    config.update(synapse_workers.shared_config(ctx))
    config.update(mas.synapse_section(ctx))
    return config


def _header(ctx: RenderContext) -> str:
    lines = [
        "# Synapse homeserver config written by matrix-wizard; it holds secrets (mode 0600).",
        "# Check it with: python -m synapse.config -c homeserver.yaml",
        "# .well-known/matrix/* is served by the proxy from the bundle, not by Synapse.",
    ]
    if _media_storage_providers(ctx):
        lines += [
            f"# S3 media: apply.sh installs {media.s3_provider_requirement()} beside Synapse.",
            "# media_store_path stays Synapse's local store and cache: every file is also copied",
            "# to the bucket; the provider's s3_media_upload script can prune old local copies.",
        ]
    return "\n".join(lines) + "\n"


def homeserver_yaml(ctx: RenderContext) -> str:
    """Return the text of homeserver.yaml."""
    body = yaml.safe_dump(homeserver_config(ctx), sort_keys=False, allow_unicode=True)
    return _header(ctx) + body


def log_config_yaml() -> str:
    """Return a logging config that writes INFO to the console, never SQL at DEBUG."""
    config = {
        "version": 1,
        "formatters": {"precise": {"format": LOG_FORMAT}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "precise"}},
        # At DEBUG, synapse.storage.SQL logs access tokens: keep it at INFO.
        "loggers": {"synapse.storage.SQL": {"level": "INFO"}},
        "root": {"level": "INFO", "handlers": ["console"]},
        "disable_existing_loggers": False,
    }
    return yaml.safe_dump(config, sort_keys=False)


def signing_key_text(secrets: Secrets) -> str:
    """Return the signing key file: `ed25519 <key id> <unpadded base64 of the 32-byte seed>`."""
    try:
        seed = base64.b64decode(secrets.signing_key_seed, validate=True)
    except binascii.Error:
        seed = b""
    if len(seed) != 32:
        raise WizardError(
            "the signing key seed in secrets.yaml is not the base64 of 32 bytes",
            "restore secrets.yaml from a backup; a new key makes other servers distrust this one",
        )
    encoded = base64.b64encode(seed).decode("ascii").rstrip("=")
    return f"ed25519 {secrets.signing_key_id} {encoded}\n"


def render(ctx: RenderContext) -> Bundle:
    """Return Synapse's files, or nothing when another homeserver is chosen."""
    if ctx.homeserver is not Homeserver.SYNAPSE:
        return {}
    return {
        HOMESERVER_YAML: File(homeserver_yaml(ctx), PRIVATE),
        LOG_CONFIG: File(log_config_yaml(), PUBLIC),
        SIGNING_KEY: File(signing_key_text(ctx.secrets), PRIVATE),
        **synapse_workers.render(ctx),
    }
