"""Element Web at domain.element_host: its config.json, where its files are, and its headers."""

import json
from typing import Any

from wizard.answers.model import Answers
from wizard.bundle import versions
from wizard.bundle.context import RenderContext
from wizard.bundle.discovery import client_base_url
from wizard.bundle.model import Bundle, File

BUNDLE_DIR = "element-web"
CONFIG_FILE = f"{BUNDLE_DIR}/config.json"
SERVICE = "element-web"
# The official image serves its files with nginx as an unprivileged user, on the port
# ELEMENT_WEB_PORT names (80 unless told): a port above 1024 needs no privilege to bind.
CONTAINER_PORT = 8080
CONTAINER_CONFIG = "/app/config.json"
RELEASES = "https://github.com/element-hq/element-web/releases/download"

# The headers Element Web's README asks every response of its host to carry.
SECURITY_HEADERS = {
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
    "X-XSS-Protection": "1; mode=block",
    "Content-Security-Policy": "frame-ancestors 'self'",
}
# Element Web's README: /, /index.html, /version, /config*.json and /i18n must not be cached,
# so a browser loads a new release and a changed config on the next visit.
NO_CACHE = "no-cache"
NO_CACHE_REGEX = r"^/(index[.]html|version|config[^/]*[.]json|i18n/.*)?$"


def enabled(ctx: RenderContext) -> bool:
    """Return whether the bundle serves Element Web (an element_host was given)."""
    return ctx.answers.domain.element_host is not None


def host(ctx: RenderContext) -> str:
    """Return the host Element Web is served at; only called when it is enabled."""
    element_host = ctx.answers.domain.element_host
    assert element_host is not None, "Element Web is not enabled"
    return element_host


def url(answers: Answers) -> str | None:
    """Return the address people open Element Web at, or None when it is not served."""
    element_host = answers.domain.element_host
    if element_host is None:
        return None
    port = answers.deployment.ports.https
    return f"https://{element_host}" + ("" if port == 443 else f":{port}")


# With MatrixRTC, Element Web's group calls and call rooms use its embedded Element Call, which
# finds the LiveKit backend in the well-known client file's rtc_foci.
GROUP_CALL_FEATURES = (
    "feature_group_calls",
    "feature_video_rooms",
    "feature_element_call_video_rooms",
)


def call_settings(ctx: RenderContext) -> dict[str, Any]:
    """Return config.json's call settings: Element Call for every call when MatrixRTC is on."""
    if not ctx.answers.calls.matrix_rtc:
        return {}
    return {
        "features": dict.fromkeys(GROUP_CALL_FEATURES, True),
        "element_call": {"use_exclusively": True},
    }


def config_document(ctx: RenderContext) -> dict[str, Any]:
    """Return config.json: this server by default, other servers allowed, labs hidden.

    Guests are off, as the bundle's Synapse and Dendrite refuse them; the country code
    (default_country_code) is left out, since the answers do not know it.
    """
    return {
        "default_server_config": {
            "m.homeserver": {"base_url": client_base_url(ctx), "server_name": ctx.server_name}
        },
        "disable_custom_urls": False,
        "disable_guests": True,
        "show_labs_settings": False,
        "room_directory": {"servers": [ctx.server_name]},
        **call_settings(ctx),
    }


def image() -> str:
    """Return the pinned official image that serves Element Web under compose."""
    return versions.ELEMENT_WEB_IMAGE


def upstream() -> str:
    """Return host:port where the proxy reaches the Element Web container under compose."""
    return f"{SERVICE}:{CONTAINER_PORT}"


def config_host_path(ctx: RenderContext) -> str:
    """Return config.json on the host, where the proxy or the container reads it."""
    return f"{ctx.install_dir}/{CONFIG_FILE}"


def release_name() -> str:
    """Return the release's folder and tarball name without .tar.gz: element-v<version>."""
    return f"element-v{versions.ELEMENT_WEB_VERSION}"


def web_root(ctx: RenderContext) -> str:
    """Return the folder natively holding the pinned release's files, which apply.sh fills."""
    return f"{ctx.data_dir}/{BUNDLE_DIR}/{release_name()}"


def tarball_url() -> str:
    """Return where apply.sh downloads the pinned release natively."""
    version = versions.ELEMENT_WEB_VERSION
    return f"{RELEASES}/v{version}/{release_name()}.tar.gz"


def render(ctx: RenderContext) -> Bundle:
    """Return element-web/config.json when Element Web is served."""
    if not enabled(ctx):
        return {}
    return {CONFIG_FILE: File(json.dumps(config_document(ctx), indent=2) + "\n")}
