"""RenderContext: the answers, facts and secrets, plus every value more than one file must share."""

from dataclasses import dataclass
from functools import cached_property

from wizard.answers.model import (
    Answers,
    DatabaseKind,
    Deployment,
    Homeserver,
    PortsSection,
)
from wizard.answers.secret_store import Secrets
from wizard.answers.validators import server_name_host
from wizard.probe.facts import HostFacts
from wizard.units import MIB

POSTGRES_SERVICE = "postgres"
WELLKNOWN_SERVICE = "wellknown"

# Where the homeserver container sees its files; natively these are host paths instead.
CONTAINER_CONFIG_DIR = "/config"
CONTAINER_DATA_DIR = "/data"
CONTAINER_MEDIA_DIR = "/media"
CONTAINER_WELLKNOWN_DIR = "/srv/well-known"


def bundles_postgres(answers: Answers) -> bool:
    """Return whether the bundle runs its own PostgreSQL: PostgreSQL with no external host."""
    return answers.database.kind is DatabaseKind.POSTGRESQL and answers.database.host is None


@dataclass(frozen=True)
class RenderContext:
    """Everything a renderer reads; files agree with each other because they read it here."""

    answers: Answers
    facts: HostFacts | None
    secrets: Secrets

    @property
    def homeserver(self) -> Homeserver:
        """Return which homeserver the bundle runs."""
        return self.answers.homeserver.kind

    @property
    def compose(self) -> bool:
        """Return whether the bundle runs under docker compose (else natively under systemd)."""
        return self.answers.deployment.kind is Deployment.COMPOSE

    @property
    def ports(self) -> PortsSection:
        """Return every listen port of the deployment."""
        return self.answers.deployment.ports

    @property
    def uses_postgres(self) -> bool:
        """Return whether the homeserver uses PostgreSQL."""
        return self.answers.database.kind is DatabaseKind.POSTGRESQL

    @property
    def bundled_postgres(self) -> bool:
        """Return whether the bundle runs its own PostgreSQL (no external host was given)."""
        return bundles_postgres(self.answers)

    def host_path(self, path: str) -> str:
        """Return an absolute path on the host, under the staging prefix when one is set."""
        return self.answers.deployment.prefix + path

    @cached_property
    def install_dir(self) -> str:
        """Return where the bundle lives on the host."""
        return self.host_path(self.answers.deployment.install_dir)

    @cached_property
    def data_dir(self) -> str:
        """Return where the stack keeps its state on the host."""
        return self.host_path(self.answers.deployment.data_dir)

    @cached_property
    def media_host_dir(self) -> str:
        """Return where media is kept on the host."""
        return self.host_path(self.answers.media.path)

    @property
    def hs_config_dir(self) -> str:
        """Return the homeserver's config folder as the homeserver process sees it."""
        if self.compose:
            return CONTAINER_CONFIG_DIR
        return f"{self.install_dir}/{self.homeserver.value}"

    @property
    def hs_data_dir(self) -> str:
        """Return the homeserver's state folder as the homeserver process sees it."""
        if self.compose:
            return CONTAINER_DATA_DIR
        return f"{self.data_dir}/{self.homeserver.value}"

    @property
    def hs_media_dir(self) -> str:
        """Return the media folder as the homeserver process sees it."""
        return CONTAINER_MEDIA_DIR if self.compose else self.media_host_dir

    @property
    def wellknown_dir(self) -> str:
        """Return the folder holding .well-known/matrix/ as the proxy sees it."""
        if self.compose:
            return CONTAINER_WELLKNOWN_DIR
        return f"{self.install_dir}/well-known"

    @property
    def listen_address(self) -> str:
        """Return the address internal services bind: all inside a container, loopback natively."""
        return "0.0.0.0" if self.compose else "127.0.0.1"

    def internal_host(self, service: str) -> str:
        """Return how one service reaches another: its compose name, or loopback natively."""
        return service if self.compose else "127.0.0.1"

    @property
    def homeserver_upstream(self) -> str:
        """Return host:port where the proxy reaches the homeserver."""
        return f"{self.internal_host(self.homeserver.value)}:{self.ports.homeserver}"

    @property
    def database_host(self) -> str:
        """Return the PostgreSQL host as the homeserver sees it."""
        return self.answers.database.host or self.internal_host(POSTGRES_SERVICE)

    @property
    def database_port(self) -> int:
        """Return the PostgreSQL port as the homeserver sees it."""
        if self.answers.database.host:
            return self.answers.database.port
        return self.ports.postgres

    @property
    def server_name(self) -> str:
        """Return the server_name that ends every user ID."""
        return self.answers.domain.server_name

    @property
    def server_name_host(self) -> str:
        """Return the server_name without a port."""
        return server_name_host(self.server_name)

    @property
    def homeserver_host(self) -> str:
        """Return the host clients and servers connect to."""
        return self.answers.domain.homeserver_host

    @property
    def public_baseurl(self) -> str:
        """Return the URL clients use, ending in a slash."""
        port = self.ports.https
        suffix = "" if port == 443 else f":{port}"
        return f"https://{self.homeserver_host}{suffix}/"

    @property
    def federation_port(self) -> int:
        """Return the public port other servers connect to: 8448, or the HTTPS port."""
        if self.answers.proxy.federation_port == 443:
            return self.ports.https
        return self.ports.federation

    @property
    def federation_endpoint(self) -> str:
        """Return host:port for /.well-known/matrix/server's m.server."""
        return f"{self.homeserver_host}:{self.federation_port}"

    @property
    def upload_limit_bytes(self) -> int:
        """Return the largest upload the homeserver accepts."""
        return self.answers.media.max_upload_mb * MIB

    @property
    def proxy_body_limit_bytes(self) -> int:
        """Return the proxy's request body limit: never below the homeserver's upload limit."""
        return self.upload_limit_bytes
