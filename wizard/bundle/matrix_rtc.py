"""MatrixRTC calls: LiveKit's livekit.yaml, lk-jwt-service's environment, and their URLs.

LiveKit advertises only the answered public address (use_external_ip off, node_ip set), so a
container's bridge address never reaches clients as a media candidate; lk-jwt-service turns a
Matrix OpenID token into a LiveKit token, and only this server's users may create rooms.
"""

from typing import Any

import yaml

from wizard.bundle.context import RenderContext
from wizard.bundle.model import PRIVATE, PUBLIC, Bundle, File
from wizard.errors import WizardError

LIVEKIT_SERVICE = "livekit"
LK_JWT_SERVICE = "lk-jwt-service"
LIVEKIT_CONFIG = "livekit/livekit.yaml"
LIVEKIT_ENV = "livekit/livekit.env"
LK_JWT_ENV = "livekit/lk-jwt-service.env"
CONTAINER_LIVEKIT_CONFIG = "/etc/livekit.yaml"
# The public paths: the proxy strips them, so each service sees its own root.
JWT_PREFIX = "/livekit/jwt/"
SFU_PREFIX = "/livekit/sfu/"
WEBHOOK_PATH = "/sfu_webhook"
# Element Call's self-hosting guide: a call's signalling needs more than chat does.
DELAYED_EVENT_LIMIT = (1.0, 20)
MESSAGE_LIMIT = (0.5, 30)
MAX_EVENT_DELAY = "24h"


def enabled(ctx: RenderContext) -> bool:
    """Return whether the bundle runs LiveKit and lk-jwt-service."""
    return ctx.answers.calls.matrix_rtc


def service_url(ctx: RenderContext) -> str:
    """Return lk-jwt-service's public URL, the livekit_service_url clients are given."""
    return ctx.public_baseurl + JWT_PREFIX.strip("/")


def sfu_url(ctx: RenderContext) -> str:
    """Return LiveKit's public WebSocket URL, the one lk-jwt-service hands clients."""
    return "wss://" + ctx.public_baseurl.removeprefix("https://") + SFU_PREFIX.strip("/")


def foci(ctx: RenderContext) -> list[dict[str, str]]:
    """Return the MatrixRTC foci clients read from /.well-known/matrix/client (MSC4143)."""
    return [{"type": "livekit", "livekit_service_url": service_url(ctx)}]


def livekit_upstream(ctx: RenderContext) -> str:
    """Return host:port where the proxy reaches LiveKit's signalling."""
    return f"{ctx.internal_host(LIVEKIT_SERVICE)}:{ctx.ports.livekit}"


def jwt_upstream(ctx: RenderContext) -> str:
    """Return host:port where the proxy and LiveKit's webhook reach lk-jwt-service."""
    return f"{ctx.internal_host(LK_JWT_SERVICE)}:{ctx.ports.lk_jwt}"


def _node_ip(ctx: RenderContext) -> str:
    address = ctx.answers.calls.external_ip
    if address is None:
        raise WizardError(
            "MatrixRTC calls need calls.external_ip, the address LiveKit gives clients",
            "set calls.external_ip to this server's public IP address",
        )
    return address


def livekit_config(ctx: RenderContext) -> dict[str, Any]:
    """Return livekit.yaml as data: ports, the advertised address, no room auto-creation.

    The API key pair is not here but in LIVEKIT_KEYS (livekit_environment), so this file holds
    no secret and a service without privileges reads it.
    """
    calls = ctx.answers.calls
    key = ctx.secrets.livekit_api_key
    return {
        "port": ctx.ports.livekit,
        "bind_addresses": [ctx.listen_address],
        "rtc": {
            "tcp_port": calls.rtc_tcp_port,
            "udp_port": calls.rtc_udp_port,
            "use_external_ip": False,
            "node_ip": _node_ip(ctx),
        },
        "room": {"auto_create": False},
        "webhook": {"api_key": key, "urls": [f"http://{jwt_upstream(ctx)}{WEBHOOK_PATH}"]},
        "logging": {"level": "info"},
    }


def livekit_yaml(ctx: RenderContext) -> str:
    """Return the text of livekit.yaml."""
    header = (
        "# LiveKit for MatrixRTC calls, written by matrix-wizard; its keys are in livekit.env.\n"
    )
    return header + yaml.safe_dump(livekit_config(ctx), sort_keys=False)


def livekit_environment(ctx: RenderContext) -> dict[str, str]:
    """Return LiveKit's environment: its API key pair, as `key: secret` (LIVEKIT_KEYS)."""
    return {"LIVEKIT_KEYS": f"{ctx.secrets.livekit_api_key}: {ctx.secrets.livekit_api_secret}"}


def jwt_environment(ctx: RenderContext) -> dict[str, str]:
    """Return lk-jwt-service's environment: LiveKit's URL and keys, who may create rooms."""
    bind_host = "" if ctx.compose else ctx.listen_address
    return {
        "LIVEKIT_URL": sfu_url(ctx),
        "LIVEKIT_KEY": ctx.secrets.livekit_api_key,
        "LIVEKIT_SECRET": ctx.secrets.livekit_api_secret,
        "LIVEKIT_FULL_ACCESS_HOMESERVERS": ctx.server_name,
        "LIVEKIT_JWT_BIND": f"{bind_host}:{ctx.ports.lk_jwt}",
    }


def _environment_value(value: str) -> str:
    if not value or any(char in "\n\"'\\$#" for char in value) or value != value.strip():
        raise WizardError(
            "a value for LiveKit's or lk-jwt-service's environment is empty or holds a quote",
            "remove livekit_api_key and livekit_api_secret from secrets.yaml to make new ones",
        )
    return value


def env_file_text(service: str, environment: dict[str, str]) -> str:
    """Return an environment file read by both systemd and compose, one NAME=value a line."""
    lines = [f"# {service} for MatrixRTC calls, written by matrix-wizard; holds its secret."]
    lines += [f"{name}={_environment_value(value)}" for name, value in environment.items()]
    return "\n".join(lines) + "\n"


def synapse_config(ctx: RenderContext) -> dict[str, Any]:
    """Return Synapse's settings for MatrixRTC: the MSCs Element Call needs and the transport."""
    if not enabled(ctx):
        return {}
    return {
        "experimental_features": {
            "msc3266_enabled": True,
            "msc4143_enabled": True,
            "msc4222_enabled": True,
        },
        "max_event_delay_duration": MAX_EVENT_DELAY,
        "matrix_rtc": {
            "transports": [{"type": "livekit", "livekit_service_url": service_url(ctx)}]
        },
    }


def raised_limit(limit: dict[str, float | int], floor: tuple[float, int]) -> dict[str, float | int]:
    """Return a rate limit raised to at least the floor Element Call's guide gives."""
    per_second, burst = floor
    return {
        "per_second": max(float(limit["per_second"]), per_second),
        "burst_count": max(int(limit["burst_count"]), burst),
    }


def render(ctx: RenderContext) -> Bundle:
    """Return LiveKit's config and lk-jwt-service's environment when MatrixRTC is chosen."""
    if not enabled(ctx):
        return {}
    return {
        LIVEKIT_CONFIG: File(livekit_yaml(ctx), PUBLIC),
        LIVEKIT_ENV: File(env_file_text("LiveKit", livekit_environment(ctx)), PRIVATE),
        LK_JWT_ENV: File(env_file_text("lk-jwt-service", jwt_environment(ctx)), PRIVATE),
    }
