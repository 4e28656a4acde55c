"""Where each service keeps its files on the host, and who must own them."""

from dataclasses import dataclass

from wizard.answers.model import Homeserver, ProxyKind, TlsMode
from wizard.bundle import media, synapse_workers
from wizard.bundle.context import POSTGRES_SERVICE, WELLKNOWN_SERVICE, RenderContext

COMPOSE_FILE = "docker-compose.yml"
COTURN_SERVICE = "coturn"
MAS_SERVICE = "mas"
PROMETHEUS_SERVICE = "prometheus"
GRAFANA_SERVICE = "grafana"

# The users the official images run as; the files they read must be theirs.
_IMAGE_OWNERS = {
    Homeserver.SYNAPSE.value: "991:991",
    POSTGRES_SERVICE: "999:999",
    COTURN_SERVICE: "65534:65534",
    PROMETHEUS_SERVICE: "65534:65534",
    GRAFANA_SERVICE: "472:0",
    MAS_SERVICE: "65532:65532",  # the distroless image's nonroot user
}
# The users each service runs as without containers: the packages create theirs (caddy,
# turnserver, prometheus, grafana); apply.sh creates the homeserver's and Traefik's.
_PACKAGE_USERS = {
    Homeserver.SYNAPSE.value: "matrix-synapse",
    Homeserver.DENDRITE.value: "dendrite",
    Homeserver.CONDUIT.value: "matrix-conduit",
    Homeserver.CONTINUWUITY.value: "continuwuity",
    Homeserver.TUWUNEL.value: "tuwunel",
    ProxyKind.CADDY.value: "caddy",
    ProxyKind.TRAEFIK.value: "traefik",
    COTURN_SERVICE: "turnserver",
    PROMETHEUS_SERVICE: "prometheus",
    GRAFANA_SERVICE: "grafana",
    MAS_SERVICE: "matrix-mas",
}

# The systemd units that run each service without containers; the proxies' units share its name.
_SYSTEMD_UNITS = {
    Homeserver.SYNAPSE.value: "matrix-synapse",
    Homeserver.DENDRITE.value: "dendrite",
    Homeserver.CONDUIT.value: "matrix-conduit",
    Homeserver.CONTINUWUITY.value: "continuwuity",
    Homeserver.TUWUNEL.value: "tuwunel",
    POSTGRES_SERVICE: "postgresql",
    synapse_workers.REDIS_SERVICE: "redis-server",
    WELLKNOWN_SERVICE: "matrix-wellknown",
    COTURN_SERVICE: "coturn",
    PROMETHEUS_SERVICE: "prometheus",
    GRAFANA_SERVICE: "grafana-server",
    MAS_SERVICE: "matrix-authentication-service",
}


@dataclass(frozen=True)
class Folder:
    """A folder apply.sh creates: its host path, mode, and the owner its service needs."""

    path: str
    mode: int = 0o755
    owner: str = ""


@dataclass(frozen=True)
class OwnedPath:
    """A part of the bundle, relative to the install folder, that a non-root service reads."""

    path: str
    owner: str


def owner(ctx: RenderContext, service: str) -> str:
    """Return who runs a service: "uid:gid" under compose, a package user natively, "" for root."""
    if ctx.compose:
        return _IMAGE_OWNERS.get(service, "")
    return _PACKAGE_USERS.get(service, "")


def systemd_unit(service: str) -> str:
    """Return the systemd unit that runs a service natively (the proxies' units share its name)."""
    return _SYSTEMD_UNITS.get(service, service)


def service_dir(ctx: RenderContext, service: str) -> str:
    """Return the host folder holding one service's state."""
    return f"{ctx.data_dir}/{service}"


def compose_file(ctx: RenderContext) -> str:
    """Return the host path of docker-compose.yml."""
    return f"{ctx.install_dir}/{COMPOSE_FILE}"


def checksum_record(ctx: RenderContext) -> str:
    """Return the file where apply.sh records the checksums of the files each service read."""
    # In the data folder, with the stack's other state: copying or writing a bundle keeps it.
    # Named after the deployment, so switching kinds starts afresh rather than from the other's.
    return f"{ctx.data_dir}/{ctx.answers.deployment.kind.value}-checksums.txt"


def letsencrypt_dir(ctx: RenderContext) -> str:
    """Return the host folder where certbot keeps its certificates."""
    return ctx.host_path("/etc/letsencrypt")


def acme_webroot_dir(ctx: RenderContext) -> str:
    """Return the host folder certbot writes its challenges to and the proxy serves on HTTP."""
    return f"{ctx.data_dir}/acme-webroot"


def grafana_dashboards_dir(ctx: RenderContext) -> str:
    """Return the host folder Grafana loads dashboard JSON files from."""
    return f"{ctx.install_dir}/grafana/dashboards"


def turn_certificate_dir(ctx: RenderContext) -> str:
    """Return the host folder holding coturn's own copy of the TLS certificate."""
    return service_dir(ctx, COTURN_SERVICE)


def folders(ctx: RenderContext, *, turn_tls: bool) -> list[Folder]:
    """Return every folder the deployment needs, parents first."""
    hs = ctx.homeserver.value
    found = [
        Folder(ctx.install_dir),
        Folder(ctx.data_dir),
        Folder(service_dir(ctx, hs), 0o750, owner(ctx, hs)),
    ]
    if media.keeps_local_media(ctx):
        found.append(Folder(ctx.media_host_dir, 0o750, owner(ctx, hs)))
    # Natively coturn also keeps its small user database there, TLS or not.
    if turn_tls or (ctx.answers.calls.turn and not ctx.compose):
        found.append(Folder(turn_certificate_dir(ctx), 0o750, owner(ctx, COTURN_SERVICE)))
    if ctx.bundled_postgres and ctx.compose:
        found.append(Folder(service_dir(ctx, POSTGRES_SERVICE), 0o700))
    proxy = ctx.answers.proxy.kind
    proxy_owner = owner(ctx, proxy.value)
    if proxy is ProxyKind.CADDY:
        found += [
            Folder(service_dir(ctx, proxy.value), 0o700, proxy_owner),
            Folder(f"{service_dir(ctx, proxy.value)}/data", 0o700, proxy_owner),
            Folder(f"{service_dir(ctx, proxy.value)}/config", 0o700, proxy_owner),
        ]
    elif proxy is ProxyKind.TRAEFIK:
        found.append(Folder(service_dir(ctx, proxy.value), 0o700, proxy_owner))
    elif ctx.answers.proxy.tls is TlsMode.ACME:  # nginx: certbot's challenges, world-readable
        found.append(Folder(acme_webroot_dir(ctx)))
    if ctx.answers.monitoring.prometheus:
        found.append(
            Folder(service_dir(ctx, PROMETHEUS_SERVICE), 0o750, owner(ctx, PROMETHEUS_SERVICE))
        )
    if ctx.answers.monitoring.grafana:
        found += [
            Folder(service_dir(ctx, GRAFANA_SERVICE), 0o750, owner(ctx, GRAFANA_SERVICE)),
            Folder(grafana_dashboards_dir(ctx)),
        ]
    return found


def owned_paths(ctx: RenderContext) -> list[OwnedPath]:
    """Return the bundle folders whose private files a non-root service must be able to read."""
    services = [ctx.homeserver.value]
    if ctx.bundled_postgres and ctx.compose:
        services.append(POSTGRES_SERVICE)
    if ctx.answers.calls.turn:
        services.append(COTURN_SERVICE)
    if ctx.answers.monitoring.prometheus:
        services.append(PROMETHEUS_SERVICE)
    if ctx.answers.auth.mas:
        services.append(MAS_SERVICE)
    return [OwnedPath(service, owner(ctx, service)) for service in services if owner(ctx, service)]
