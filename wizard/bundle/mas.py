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
FOLDER = "mas"
CONFIG_FILE = f"{FOLDER}/config.yaml"
SIGNING_KEY_FILE = f"{FOLDER}/signing.key"
# Where the compose service sees the bundle's mas/ folder (the image's entrypoint is mas-cli).
CONTAINER_DIR = "/config"
CONTAINER_CONFIG = f"{CONTAINER_DIR}/config.yaml"
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


def config_dir(ctx: RenderContext) -> str:
    """Return the bundle's mas/ folder as MAS sees it: mounted in its container, or on the host."""
    return CONTAINER_DIR if ctx.compose else f"{ctx.install_dir}/{FOLDER}"


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
        # The key's name since MAS took registration tokens (its pull request 4619, June 2025);
        # later releases read it still, beside password_registration_token_required.
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
            "keys": [{"kid": SIGNING_KEY_ID, "key_file": f"{config_dir(ctx)}/signing.key"}],
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
        "volumes": [f"{ctx.install_dir}/{FOLDER}:{CONTAINER_DIR}:ro"],
        "depends_on": depends,
    }


def native_argv(ctx: RenderContext) -> list[str]:
    """Return the command MAS's unit runs natively."""
    return [f"{native_home(ctx)}/mas-cli", "server", "--config", f"{config_dir(ctx)}/config.yaml"]


def cli(ctx: RenderContext, *arguments: str) -> str:
    """Return a mas-cli command line run where MAS runs: in its container, or its release folder."""
    if ctx.compose:
        config = CONTAINER_CONFIG
        program = f"docker compose exec {SERVICE} mas-cli"
    else:
        config = f"{ctx.install_dir}/{CONFIG_FILE}"
        program = f"cd {native_home(ctx)} && ./mas-cli"
    return " ".join([program, *arguments, "--config", config])


def admin_command(ctx: RenderContext) -> str:
    """Return the command that makes the first admin account in MAS (it asks name and password)."""
    return cli(ctx, "manage", "register-user", "--admin")


def _sign_up(ctx: RenderContext) -> list[str]:
    """Say who may sign up at MAS, and for tokens, how to make one."""
    mode = ctx.answers.registration.mode
    if mode is RegistrationMode.CLOSED:
        return [
            "Registration is closed: make accounts for others the same way as the admin's "
            "(leave out `--admin`).",
            "",
        ]
    if mode is RegistrationMode.OPEN:
        return [
            f"Registration is open to anyone at {public_base(ctx)}: watch for spam accounts, "
            "or switch to tokens.",
            "",
        ]
    return [
        "### Registration tokens",
        "",
        f"New accounts sign up at {public_base(ctx)} with a token MAS checks. Make one for "
        "each person (it is printed; it works once unless you add `--usage-limit N`):",
        "",
        "```",
        cli(ctx, "manage", "issue-user-registration-token"),
        "```",
        "",
    ]


def admin_lines(ctx: RenderContext) -> list[str]:
    """Return the README's first-account step with MAS, and who else may sign up."""
    where = f"in `{ctx.install_dir}`" if ctx.compose else "on the server"
    return [
        f"Matrix Authentication Service owns the accounts. Run this {where}; it asks for a "
        "name and a password, and MAS makes the account on Synapse too:",
        "",
        "```",
        admin_command(ctx),
        "```",
        "",
        *_sign_up(ctx),
    ]


def readme_section(ctx: RenderContext) -> list[str]:
    """Return the README's section on MAS: where it runs and what Synapse no longer does."""
    if not enabled(ctx):
        return []
    return [
        "## Sign-up and login: Matrix Authentication Service",
        "",
        f"MAS {versions.MAS_VERSION} serves {public_base(ctx)} (DNS and the certificate cover "
        f"`{host(ctx)}`); the proxy also sends it the client API's login, logout and refresh "
        "requests. Element X signs people up there.",
        "Synapse hands accounts to MAS: its own registration, registration tokens, password "
        "login and password reset are off, and `register_new_matrix_user` no longer works. "
        "Use `mas-cli manage` instead (set-password, lock-user, promote-admin):",
        "",
        "```",
        cli(ctx, "config", "check"),
        cli(ctx, "doctor"),
        "```",
        "",
        "MAS sends no e-mail from this bundle (no mail relay is set): password recovery by "
        "e-mail is off, and sign-up asks for no address.",
        "",
    ]


def owner(ctx: RenderContext) -> str:
    """Return who runs MAS and reads its config."""
    return layout.owner(ctx, SERVICE)


def render(ctx: RenderContext) -> Bundle:
    """Return MAS's config.yaml and its signing key (PEM) when MAS is chosen."""
    if not enabled(ctx):
        return {}
    return {
        CONFIG_FILE: File(config_yaml(ctx), PRIVATE),
        SIGNING_KEY_FILE: File(ctx.secrets.mas_signing_key, PRIVATE),
    }
