"""Dendrite's dendrite.yaml (config version 2) and its matrix_key.pem signing key."""

import base64
import binascii
import copy
import textwrap
from typing import Any
from urllib.parse import quote

import yaml

from wizard.answers.model import Homeserver, RateLimits, RegistrationMode
from wizard.bundle import calls
from wizard.bundle.context import RenderContext
from wizard.bundle.model import PRIVATE, Bundle, File
from wizard.bundle.tuning import tuning
from wizard.errors import WizardError
from wizard.units import GIB

CONFIG_FILE = "dendrite/dendrite.yaml"
KEY_FILE = "dendrite/matrix_key.pem"
KEY_FILE_NAME = "matrix_key.pem"

# Dendrite refuses to start with registration enabled and no captcha unless it gets this flag;
# a registration token does not satisfy that check (setup/config/config_clientapi.go Verify).
OPEN_REGISTRATION_FLAG = "-really-enable-open-registration"

# The header Dendrite's sync API reads the client address from; the proxy must set it to the
# address the request came from, replacing any value the client sent.
REAL_IP_HEADER = "X-Real-IP"

# Metrics are served on the main listener, behind HTTP basic auth with this user name.
METRICS_PATH = "/metrics"
METRICS_USERNAME = "metrics"

PEM_TYPE = "MATRIX PRIVATE KEY"

# Where Dendrite sends anonymous usage statistics when asked to (dendrite-sample.yaml).
REPORT_STATS_ENDPOINT = "https://panopticon.matrix.org/push"

# Each component's database block for SQLite: (section, key, file stem as generate-config names it).
COMPONENT_DATABASES: tuple[tuple[str, str, str], ...] = (
    ("federation_api", "database", "federationapi"),
    ("key_server", "database", "keyserver"),
    ("media_api", "database", "mediaapi"),
    ("mscs", "database", "mscs"),
    ("relay_api", "database", "relayapi"),
    ("room_server", "database", "roomserver"),
    ("sync_api", "database", "syncapi"),
    ("user_api", "account_database", "userapi"),
)

# client_api.rate_limiting per preset: request slots, and milliseconds before a slot frees up.
RATE_LIMITS: dict[RateLimits, tuple[int, int]] = {
    RateLimits.STRICT: (5, 1000),
    RateLimits.NORMAL: (10, 500),
    RateLimits.RELAXED: (20, 500),
}

# matrix.org as a perspective key server, with its published keys, as dendrite-sample.yaml has.
MATRIX_ORG_PERSPECTIVE = {
    "server_name": "matrix.org",
    "keys": [
        {"key_id": "ed25519:auto", "public_key": "Noi6WqcDj0QmPxCNQqgezwTlBKrfqehY1u2FyWP9uYw"},
        {"key_id": "ed25519:a_RXGa", "public_key": "l8Hft5qXKn1vfHrg3p4+W8gELQVo8N13JkluMfmn2sQ"},
    ],
}

# The networks federation requests must never reach (facts section 2.1, Dendrite's defaults).
DENY_NETWORKS = [
    "127.0.0.1/8",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "169.254.0.0/16",
    "::1/128",
    "fe80::/64",
    "fc00::/7",
]


def config_path(ctx: RenderContext) -> str:
    """Return where Dendrite reads dendrite.yaml, for its --config flag."""
    return f"{ctx.hs_config_dir}/dendrite.yaml"


def start_flags(ctx: RenderContext) -> list[str]:
    """Return the extra flags Dendrite must start with for the chosen registration mode.

    Open registration without a captcha passes Dendrite's start-up check only with this flag.
    Registration by token is refused for Dendrite (answers.model.combination_problems): its
    registration_requires_token does not make sign-up ask for a token.
    """
    if ctx.answers.registration.mode is RegistrationMode.OPEN:
        return [OPEN_REGISTRATION_FLAG]
    return []


def connection_pool(ctx: RenderContext) -> tuple[int, int]:
    """Return (max_open_conns, max_idle_conns) from the tuning, under PostgreSQL's connections."""
    tuned = tuning(ctx)
    return tuned.dendrite_max_open_conns, tuned.dendrite_max_idle_conns


def cache_size(ctx: RenderContext) -> str:
    """Return global.cache.max_size_estimated from the tuning."""
    return f"{tuning(ctx).dendrite_cache_mb}mb"


def search_enabled(ctx: RenderContext) -> bool:
    """Return whether to keep a full-text search index: not on machines under 1 GiB of RAM."""
    return tuning(ctx).ram >= 1 * GIB


def render(ctx: RenderContext) -> Bundle:
    """Return dendrite.yaml and matrix_key.pem when the bundle runs Dendrite, else nothing."""
    if ctx.homeserver is not Homeserver.DENDRITE:
        return {}
    if ctx.answers.media.backend == "s3":
        raise WizardError(
            "Dendrite keeps media on the local disk only; it has no S3 media store",
            "set media.backend: local, or choose Synapse or Conduit for S3 media",
        )
    text = yaml.safe_dump(_config(ctx), sort_keys=False, allow_unicode=True)
    return {
        CONFIG_FILE: File(text, PRIVATE),
        KEY_FILE: File(
            signing_key_pem(ctx.secrets.signing_key_id, ctx.secrets.signing_key_seed), PRIVATE
        ),
    }


def signing_key_pem(key_id: str, seed_base64: str) -> str:
    """Return Dendrite's PEM signing key: the ed25519 seed, padded base64, under a Key-ID header."""
    padded = seed_base64 + "=" * (-len(seed_base64) % 4)
    try:
        seed = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        seed = b""
    if len(seed) != 32:
        raise WizardError(
            "the signing key seed in secrets.yaml is not the base64 of 32 bytes",
            "restore secrets.yaml from a backup, or remove signing_key_seed to make a new key "
            "(other servers then see a new signing key)",
        )
    body = "\n".join(textwrap.wrap(base64.b64encode(seed).decode("ascii"), 64))
    return (
        f"-----BEGIN {PEM_TYPE}-----\n"
        f"Key-ID: ed25519:{key_id}\n"
        "\n"
        f"{body}\n"
        f"-----END {PEM_TYPE}-----\n"
    )


def _config(ctx: RenderContext) -> dict[str, Any]:
    data: dict[str, Any] = {"version": 2, "global": _global(ctx)}
    data["client_api"] = _client_api(ctx)
    data["federation_api"] = {
        "send_max_retries": 16,
        "key_perspectives": [copy.deepcopy(MATRIX_ORG_PERSPECTIVE)],
        "prefer_direct_fetch": False,
        "deny_networks": list(DENY_NETWORKS),
        "allow_networks": ["0.0.0.0/0"],
    }
    data["media_api"] = {
        "base_path": ctx.hs_media_dir,
        "max_file_size_bytes": ctx.upload_limit_bytes,
    }
    data["sync_api"] = {
        "real_ip_header": REAL_IP_HEADER,
        "search": {
            "enabled": search_enabled(ctx),
            "index_path": f"{ctx.hs_data_dir}/searchindex",
            "language": "en",
        },
    }
    if not ctx.uses_postgres:
        for section, key, stem in COMPONENT_DATABASES:
            block = {"connection_string": f"file:{ctx.hs_data_dir}/dendrite_{stem}.db"}
            data.setdefault(section, {})[key] = block
    data["logging"] = [{"type": "std", "level": "info"}]
    return data


def _global(ctx: RenderContext) -> dict[str, Any]:
    section: dict[str, Any] = {
        "server_name": ctx.server_name,
        "private_key": f"{ctx.hs_config_dir}/{KEY_FILE_NAME}",
    }
    if ctx.uses_postgres:
        max_open, max_idle = connection_pool(ctx)
        section["database"] = {
            "connection_string": postgres_uri(ctx),
            "max_open_conns": max_open,
            "max_idle_conns": max_idle,
            "conn_max_lifetime": -1,
        }
    section["cache"] = {"max_size_estimated": cache_size(ctx), "max_age": "1h"}
    section["well_known_server_name"] = ctx.federation_endpoint
    section["well_known_client_name"] = ctx.public_baseurl.rstrip("/")
    report_stats: dict[str, Any] = {"enabled": ctx.answers.homeserver.report_stats}
    if ctx.answers.homeserver.report_stats:
        report_stats["endpoint"] = REPORT_STATS_ENDPOINT
    section["report_stats"] = report_stats
    section["jetstream"] = {
        "storage_path": f"{ctx.hs_data_dir}/jetstream",
        "topic_prefix": "Dendrite",
    }
    metrics: dict[str, Any] = {"enabled": ctx.answers.monitoring.prometheus}
    if ctx.answers.monitoring.prometheus:
        metrics["basic_auth"] = {
            "username": METRICS_USERNAME,
            "password": ctx.secrets.metrics_password,
        }
    section["metrics"] = metrics
    return section


def postgres_uri(ctx: RenderContext) -> str:
    """Return the URI-form connection string Dendrite needs (it rejects the key=value form).

    The bundled database is reached over the private compose network or loopback, so TLS is
    off; an external host gets sslmode=require, the PostgreSQL driver's own default.
    """
    database = ctx.answers.database
    password = quote(ctx.secrets.database_password, safe="")
    sslmode = "disable" if ctx.bundled_postgres else "require"
    return (
        f"postgres://{quote(database.user, safe='')}:{password}"
        f"@{ctx.database_host}:{ctx.database_port}/{quote(database.name, safe='')}"
        f"?sslmode={sslmode}"
    )


def _client_api(ctx: RenderContext) -> dict[str, Any]:
    mode = ctx.answers.registration.mode
    section: dict[str, Any] = {
        "registration_disabled": mode is not RegistrationMode.OPEN,
        "registration_shared_secret": ctx.secrets.registration_shared_secret,
        "guests_disabled": True,
        "enable_registration_captcha": False,
    }
    if calls.turn_uris(ctx):
        section["turn"] = {
            "turn_user_lifetime": "1h",
            "turn_uris": calls.turn_uris(ctx),
            "turn_shared_secret": ctx.secrets.turn_shared_secret,
        }
    threshold, cooloff_ms = RATE_LIMITS[ctx.answers.rate_limits.preset]
    section["rate_limiting"] = {
        "enabled": True,
        "threshold": threshold,
        "cooloff_ms": cooloff_ms,
    }
    return section
