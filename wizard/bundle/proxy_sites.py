"""The sites every proxy serves, worked out once so nginx, Caddy and Traefik agree."""

from dataclasses import dataclass
from enum import StrEnum

from wizard.answers.model import Delegation, Homeserver, TlsMode
from wizard.bundle.conduit_family import MEMBERS
from wizard.bundle.context import RenderContext
from wizard.bundle.discovery import delegation_applies, wellknown_documents
from wizard.errors import WizardError

MATRIX_PREFIX = "/_matrix/"
SYNAPSE_CLIENT_PREFIX = "/_synapse/client/"
WELLKNOWN_PREFIX = "/.well-known/matrix/"

# Headers the Matrix spec recommends on /.well-known/matrix/client (client-server API, CORS).
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "X-Requested-With, Content-Type, Authorization",
}
# HSTS on every TLS site: two years, the usual value; no includeSubDomains or preload, since
# other hosts of the person's domain may still serve plain HTTP.
HSTS_SECONDS = 63072000
HSTS_VALUE = f"max-age={HSTS_SECONDS}"


class Surface(StrEnum):
    """Who sends a Matrix request: clients, or other servers."""

    CLIENT = "client"
    FEDERATION = "federation"


@dataclass(frozen=True)
class Mount:
    """A host path the proxy's container sees at another path, read-only unless it writes there."""

    host: str
    container: str
    read_only: bool = True


@dataclass(frozen=True)
class Site:
    """One public host name: the ports it answers on and what it serves there.

    `surfaces` says whose requests the site's Matrix prefixes are meant for: clients on the
    homeserver host, other servers on the host they federate with.
    """

    host: str
    ports: tuple[int, ...]
    matrix_prefixes: tuple[str, ...]
    serves_wellknown: bool
    surfaces: frozenset[Surface]
    serves_calls: bool = False  # the MatrixRTC routes /livekit/jwt/ and /livekit/sfu/

    @property
    def purpose(self) -> str:
        """Return what the site serves, for a comment above it."""
        served = []
        if self.matrix_prefixes:
            served.append("the Matrix APIs")
        if self.serves_wellknown:
            served.append("/.well-known/matrix")
        if self.serves_calls:
            served.append("MatrixRTC calls")
        return " and ".join(served)


def tls_terminated_here(ctx: RenderContext) -> bool:
    """Return whether the proxy holds the certificates (else TLS ends at another proxy)."""
    return ctx.answers.proxy.tls is not TlsMode.EXTERNAL


def federation_on_own_port(ctx: RenderContext) -> bool:
    """Return whether federation has a listener of its own (8448) beside the HTTPS port."""
    return tls_terminated_here(ctx) and ctx.federation_port != ctx.ports.https


def matrix_prefixes(ctx: RenderContext) -> tuple[str, ...]:
    """Return the only paths routed to the homeserver; everything else answers 404."""
    if ctx.homeserver is Homeserver.SYNAPSE:
        return (MATRIX_PREFIX, SYNAPSE_CLIENT_PREFIX)
    member = MEMBERS.get(ctx.homeserver)
    # continuwuity and tuwunel serve their account pages and server_version beside /_matrix/.
    return (MATRIX_PREFIX, *(member.routes if member else ()))


def federation_host(ctx: RenderContext) -> str:
    """Return the host name other servers send (TLS SNI and Host) when they connect.

    With well-known delegation they connect to the delegated homeserver host; with SRV, no
    delegation or an explicit port they keep the server_name's host.
    """
    delegated = ctx.answers.domain.delegation is Delegation.WELL_KNOWN and delegation_applies(ctx)
    return ctx.homeserver_host if delegated else ctx.server_name_host


def _ports(ctx: RenderContext, federation: bool) -> tuple[int, ...]:
    if not tls_terminated_here(ctx):
        return (ctx.ports.http,)
    if federation and federation_on_own_port(ctx):
        return (ctx.ports.https, ctx.federation_port)
    return (ctx.ports.https,)


def sites(ctx: RenderContext) -> list[Site]:
    """Return the homeserver's site, then the server_name's site when it is another host."""
    federating = federation_host(ctx)
    wellknown_at = ctx.server_name_host if wellknown_documents(ctx) else None
    federates_here = federating == ctx.homeserver_host
    found = [
        Site(
            host=ctx.homeserver_host,
            ports=_ports(ctx, federates_here),
            matrix_prefixes=matrix_prefixes(ctx),
            serves_wellknown=wellknown_at == ctx.homeserver_host,
            surfaces=frozenset({Surface.CLIENT, *([Surface.FEDERATION] if federates_here else [])}),
            serves_calls=ctx.answers.calls.matrix_rtc,
        )
    ]
    other = ctx.server_name_host
    if other != ctx.homeserver_host and (wellknown_at == other or federating == other):
        found.append(
            Site(
                host=other,
                ports=_ports(ctx, federating == other),
                matrix_prefixes=(MATRIX_PREFIX,) if federating == other else (),
                serves_wellknown=wellknown_at == other,
                surfaces=frozenset({Surface.FEDERATION} if federating == other else ()),
            )
        )
    return found


def site_hosts(ctx: RenderContext) -> list[str]:
    """Return every host name the proxy answers for, the homeserver's first."""
    return [site.host for site in sites(ctx)]


def body_limit_bytes(ctx: RenderContext) -> int:
    """Return the proxy's request body limit, refusing one below the homeserver's upload limit."""
    limit = ctx.proxy_body_limit_bytes
    if limit < ctx.upload_limit_bytes:
        raise WizardError(
            f"impossible to generate the proxy configuration: its body limit ({limit} bytes) "
            f"is below the homeserver's upload limit ({ctx.upload_limit_bytes} bytes)",
            "uploads between the two sizes would fail at the proxy; the proxy limit must be "
            "at least the upload limit",
        )
    return limit
