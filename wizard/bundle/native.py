"""A deployment without containers on Debian or Ubuntu: packages, users, programs and versions."""

from dataclasses import dataclass

from wizard.answers.model import Homeserver, ProxyKind
from wizard.bundle import (
    backup,
    certificates,
    conduit_family,
    element_web,
    layout,
    mas,
    synapse_workers,
)
from wizard.bundle.context import RenderContext
from wizard.bundle.versions import LIVEKIT_VERSION, LK_JWT_SERVICE_VERSION, SYNAPSE_VERSION

# Synapse runs from a virtualenv built with pip, pinned (versions.py) to the release the compose
# image runs: distributions ship old releases, and matrix.org's own apt repository would add a
# signing key and a source list to the host. Traefik's static binary comes from its GitHub
# release. Dendrite publishes no package for Debian: apply.sh builds it (dendrite_build.py).
# The Conduit family publishes none either: the person puts the binary in place.
TRAEFIK_RELEASES = "https://github.com/traefik/traefik/releases/download"

# The programs of the homeserver binaries in /usr/local/bin.
HOMESERVER_PROGRAMS = {
    Homeserver.DENDRITE: "dendrite",
    **{homeserver: member.program for homeserver, member in conduit_family.MEMBERS.items()},
}

SYNAPSE_VENV = "/opt/venvs/matrix-synapse"
LOCAL_BIN = "/usr/local/bin"
SYSTEM_PYTHON = "/usr/bin/python3"
# Synapse's workers and main process talk over the distribution's Redis, which listens on
# loopback only as packaged (bind 127.0.0.1 -::1 in /etc/redis/redis.conf).
REDIS_PACKAGE = "redis-server"
# The modules each extra of Synapse installs (its Requires-Dist for the extra).
EXTRA_MODULES = {"postgres": ["psycopg2"], "redis": ["txredisapi", "hiredis"]}


@dataclass(frozen=True)
class Binary:
    """A program the distribution does not package: where it goes and how to get it."""

    path: str
    how_to_get: str


@dataclass(frozen=True)
class SystemUser:
    """A system account apply.sh creates for a service no package creates one for."""

    name: str
    home: str


def synapse_venv(ctx: RenderContext) -> str:
    """Return the host folder of Synapse's virtualenv."""
    return ctx.host_path(SYNAPSE_VENV)


def synapse_extras(ctx: RenderContext) -> list[str]:
    """Return the extras of Synapse the virtualenv needs: PostgreSQL, and Redis for workers."""
    return ["postgres", "redis"] if synapse_workers.workers(ctx) else ["postgres"]


def synapse_requirement(ctx: RenderContext) -> str:
    """Return what pip installs into the virtualenv: Synapse with its extras, pinned."""
    return f"matrix-synapse[{','.join(synapse_extras(ctx))}]=={SYNAPSE_VERSION}"


def synapse_extra_modules(ctx: RenderContext) -> list[str]:
    """Return the modules the extras bring, which apply.sh imports to see they are installed."""
    return [module for extra in synapse_extras(ctx) for module in EXTRA_MODULES[extra]]


def local_program(ctx: RenderContext, name: str) -> str:
    """Return the host path of a program apply.sh or the person puts in /usr/local/bin."""
    return ctx.host_path(f"{LOCAL_BIN}/{name}")


def homeserver_binary(ctx: RenderContext) -> Binary | None:
    """Return the binary the person puts in place (the Conduit family's), or None."""
    member = conduit_family.MEMBERS.get(ctx.homeserver)
    if member is not None:
        return Binary(
            local_program(ctx, member.program),
            f"download the release binary of {member.name} v{member.release} for this machine "
            f"(uname -m) from {member.downloads} and install it as {member.program} with mode "
            "0755 in " + ctx.host_path(LOCAL_BIN) + member.binary_note,
        )
    return None


# MatrixRTC calls natively: neither program is packaged, and no checksum of their release files
# is known to the bundle, so the person puts them in place (README: Calls) and apply.sh starts
# them once they are there.
LIVEKIT_PROGRAM = "livekit-server"
LK_JWT_PROGRAM = "lk-jwt-service"
CALL_RELEASES = {
    LIVEKIT_PROGRAM: f"https://github.com/livekit/livekit/releases/tag/v{LIVEKIT_VERSION}",
    LK_JWT_PROGRAM: "https://github.com/element-hq/lk-jwt-service/releases "
    f"({LK_JWT_SERVICE_VERSION})",
}


def call_programs(ctx: RenderContext) -> list[str]:
    """Return the host paths of LiveKit and lk-jwt-service when calls need them natively."""
    if ctx.compose or not ctx.answers.calls.matrix_rtc:
        return []
    return [local_program(ctx, program) for program in CALL_RELEASES]


def call_programs_help(ctx: RenderContext) -> str:
    """Return where the person gets the programs for calls, said where apply.sh misses them."""
    return (
        f"install LiveKit {LIVEKIT_VERSION}'s livekit-server and lk-jwt-service "
        f"{LK_JWT_SERVICE_VERSION} for this machine (uname -m) with mode 0755 in "
        f"{ctx.host_path(LOCAL_BIN)} (README.md: Calls)"
    )


def traefik_binary(ctx: RenderContext) -> str:
    """Return where apply.sh installs the Traefik binary."""
    return local_program(ctx, "traefik")


def uses_traefik(ctx: RenderContext) -> bool:
    """Return whether the proxy is Traefik, which apply.sh installs as a binary."""
    return ctx.answers.proxy.kind is ProxyKind.TRAEFIK


def apt_packages(ctx: RenderContext) -> list[str]:
    """Return the Debian and Ubuntu packages the deployment needs, in install order."""
    packages = ["ca-certificates", "curl"]
    if ctx.homeserver is Homeserver.SYNAPSE:
        packages += ["python3", "python3-venv"]
        # psycopg2 (always installed, so SQLite can move to PostgreSQL later) is built from
        # source: it needs a compiler and the PostgreSQL headers.
        packages += ["python3-dev", "gcc", "libpq-dev"]
    if ctx.homeserver is Homeserver.DENDRITE:
        # build-dendrite.sh unpacks Go's zip, and the SQLite driver is built with cgo.
        packages += ["unzip", "gcc", "libc6-dev"]
    if ctx.bundled_postgres:
        packages.append("postgresql")
    if synapse_workers.workers(ctx):
        packages.append(REDIS_PACKAGE)
    proxy = ctx.answers.proxy.kind
    if mas.enabled(ctx):
        packages.append("tar")  # apply.sh unpacks MAS's release archive
    if proxy is ProxyKind.TRAEFIK:
        packages += ["python3", "tar"]  # python3 serves the well-known folder on loopback
    else:
        packages.append(proxy.value)
    if element_web.enabled(ctx):
        packages.append("tar")  # apply.sh unpacks Element Web's release
    if certificates.uses_certbot(ctx):
        packages.append("certbot")
    if ctx.answers.calls.turn:
        packages.append("coturn")
    if ctx.answers.monitoring.prometheus:
        packages.append("prometheus")
    if ctx.answers.firewall.enabled:
        packages.append("nftables")  # firewall.sh loads its rules with nft where ufw is absent
    packages += backup.host_packages(ctx)
    return list(dict.fromkeys(packages))


def system_users(ctx: RenderContext) -> list[SystemUser]:
    """Return the system accounts apply.sh creates: the homeserver's, MAS's and Traefik's."""
    hs = ctx.homeserver.value
    users = [SystemUser(layout.owner(ctx, hs), layout.service_dir(ctx, hs))]
    if mas.enabled(ctx):
        users.append(SystemUser(mas.owner(ctx), mas.native_home(ctx)))
    if uses_traefik(ctx):
        traefik = ProxyKind.TRAEFIK.value
        users.append(SystemUser(layout.owner(ctx, traefik), layout.service_dir(ctx, traefik)))
    return users


def grafana_note(ctx: RenderContext) -> str | None:
    """Return how to install Grafana, which neither Debian nor Ubuntu packages, when chosen."""
    if not ctx.answers.monitoring.grafana:
        return None
    return (
        "Grafana is not in Debian or Ubuntu: add Grafana's apt repository "
        "(https://grafana.com/docs/grafana/latest/setup-grafana/installation/debian/), "
        "apt install grafana, then run apply.sh again"
    )
