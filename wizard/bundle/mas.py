"""Matrix Authentication Service (MAS): its config.yaml, database, service and Synapse's side.

Keys follow MAS's docs/reference/configuration.md and docs/setup/ (homeserver, database,
reverse-proxy); Synapse's side is its config_documentation.md `matrix_authentication_service`.
"""

from typing import Any

import yaml

from wizard.answers.model import Homeserver, RegistrationMode
from wizard.bundle import layout, versions
from wizard.bundle.context import POSTGRES_SERVICE, RenderContext
from wizard.bundle.model import PRIVATE, Bundle, File

SERVICE = layout.MAS_SERVICE
CONFIG_FILE = "mas/config.yaml"
# Where the compose service reads its config (the image's entrypoint is mas-cli).
CONTAINER_CONFIG = "/config/config.yaml"
# MAS's own role and database in the same PostgreSQL as Synapse's, never Synapse's own.
DATABASE = "mas"
ROLE = "mas"
# The key id of the RSA key MAS signs ID tokens with; stable, so tokens stay verifiable.
SIGNING_KEY_ID = "matrix-wizard-rsa"
# Natively the release archive is unpacked here: mas-cli beside its share/ folder (assets,
# templates, translations, policy), which the unit's working directory makes MAS find.
NATIVE_HOME = "/opt/matrix-authentication-service"
RELEASES = "https://github.com/element-hq/matrix-authentication-service/releases/download"
# The resources one listener serves behind the proxy (docs/setup/reverse-proxy.md).
RESOURCES = ("discovery", "human", "oauth", "compat", "graphql", "assets")


def enabled(ctx: RenderContext) -> bool:
    """Return whether the bundle runs MAS (answers refuse it but for Synapse on PostgreSQL)."""
    return ctx.answers.auth.mas and ctx.homeserver is Homeserver.SYNAPSE


def host(ctx: RenderContext) -> str:
    """Return the public host MAS serves: the answer, else auth.<server_name>."""
    return ctx.answers.auth.mas_host or f"auth.{ctx.server_name_host}"


def public_base(ctx: RenderContext) -> str:
    """Return the URL people's browsers reach MAS at, ending in a slash."""
    port = ctx.ports.https
    return f"https://{host(ctx)}{'' if port == 443 else f':{port}'}/"


def upstream(ctx: RenderContext) -> str:
    """Return host:port where the proxy and Synapse reach MAS."""
    return f"{ctx.internal_host(SERVICE)}:{ctx.ports.mas}"


def native_home(ctx: RenderContext) -> str:
    """Return the host folder holding the MAS release natively."""
    return ctx.host_path(NATIVE_HOME)


def _account(mode: RegistrationMode) -> dict[str, bool]:
    """Return MAS's account settings for who may sign up; MAS sends no e-mail here."""
    if mode is RegistrationMode.CLOSED:
        return {"password_registration_enabled": False}
    account = {
        "password_registration_enabled": True,
        # The bundle sets up no mail relay, so sign-up cannot wait for a confirmed address.
        "password_registration_email_required": False,
    }
    if mode is RegistrationMode.TOKEN:
        account["registration_token_required"] = True
    return account


def config(ctx: RenderContext) -> dict[str, Any]:
    """Return MAS's config.yaml as data."""
    database = ctx.answers.database
    return {
        "http": {
            "public_base": public_base(ctx),
            "listeners": [
                {
                    "name": "web",
                    "resources": [{"name": name} for name in RESOURCES],
                    "binds": [{"host": ctx.listen_address, "port": ctx.ports.mas}],
                }
            ],
        },
        "database": {
            "host": ctx.database_host,
            "port": ctx.database_port,
            "username": ROLE,
            "password": ctx.secrets.mas_database_password,
            "database": DATABASE,
            "ssl_mode": "prefer" if database.host else "disable",
        },
        "matrix": {
            "kind": "synapse",
            "homeserver": ctx.server_name,
            "secret": ctx.secrets.mas_shared_secret,
            "endpoint": f"http://{ctx.homeserver_upstream}/",
        },
        "secrets": {
            "encryption": ctx.secrets.mas_encryption_key,
            "keys": [{"kid": SIGNING_KEY_ID, "key": ctx.secrets.mas_signing_key}],
        },
        "passwords": {"enabled": True},
        "account": _account(ctx.answers.registration.mode),
    }


def config_yaml(ctx: RenderContext) -> str:
    """Return the text of mas/config.yaml."""
    header = (
        f"# Matrix Authentication Service {versions.MAS_VERSION} for {ctx.server_name}, written "
        "by matrix-wizard;\n# it holds secrets (mode 0600). Check it with: mas-cli config check "
        "--config config.yaml\n"
    )
    return header + yaml.safe_dump(config(ctx), sort_keys=False, allow_unicode=True)


def synapse_section(ctx: RenderContext) -> dict[str, Any]:
    """Return Synapse's settings with MAS on: the delegation, and its own sign-up off."""
    if not enabled(ctx):
        return {}
    return {
        "matrix_authentication_service": {
            "enabled": True,
            "endpoint": f"http://{upstream(ctx)}/",
            "secret": ctx.secrets.mas_shared_secret,
        },
        # MAS owns sign-up; Synapse refuses to start with its own registration on.
        "enable_registration": False,
    }


def compose_service(ctx: RenderContext) -> dict[str, Any]:
    """Return the compose service running MAS from its pinned image."""
    depends = {ctx.homeserver.value: {"condition": "service_started"}}
    if ctx.bundled_postgres:
        depends = {POSTGRES_SERVICE: {"condition": "service_healthy"}, **depends}
    return {
        "image": versions.MAS_IMAGE,
        "restart": "unless-stopped",
        "command": ["server", "--config", CONTAINER_CONFIG],
        "volumes": [f"{ctx.install_dir}/{CONFIG_FILE}:{CONTAINER_CONFIG}:ro"],
        "depends_on": depends,
    }


def native_argv(ctx: RenderContext) -> list[str]:
    """Return the command MAS's unit runs natively."""
    return [f"{native_home(ctx)}/mas-cli", "server", "--config", f"{ctx.install_dir}/{CONFIG_FILE}"]


def owner(ctx: RenderContext) -> str:
    """Return who runs MAS and reads its config."""
    return layout.owner(ctx, SERVICE)


def render(ctx: RenderContext) -> Bundle:
    """Return mas/config.yaml when MAS is chosen."""
    if not enabled(ctx):
        return {}
    return {CONFIG_FILE: File(config_yaml(ctx), PRIVATE)}
