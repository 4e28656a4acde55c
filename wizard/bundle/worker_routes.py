"""Which requests the proxy sends to which Synapse worker: one table every proxy renders.

The paths are the regular expressions of Synapse's docs/workers.md ("synapse.app.generic_worker",
"Load balancing", "synapse.app.media_repository"). Left on the main process: sending events,
and every endpoint whose stream the main process writes (account data, tags, presence, push
rules, typing, to-device, receipts, devices and key uploads), as well as the admin API, which
no proxy routes at all.
"""

from dataclasses import dataclass, replace
from enum import StrEnum

from wizard.bundle import mas, synapse_workers
from wizard.bundle.context import RenderContext
from wizard.bundle.proxy_sites import MATRIX_PREFIX, Site, Surface
from wizard.bundle.worker_layout import Role, Worker


class Balance(StrEnum):
    """How a route picks one of its workers."""

    ROUND_ROBIN = "round_robin"  # any worker, in turn
    ACCESS_TOKEN = "access_token"  # one access token always reaches the same worker
    CLIENT_IP = "client_ip"  # one remote server always reaches the same worker
    FIRST = "first"  # always the role's first worker


@dataclass(frozen=True)
class RouteSpec:
    """A row of the table: a name, the role that serves it, its balance, and the paths it takes.

    `client` holds the paths clients send, `federation` those other servers send; a site routes
    the ones of the surfaces it serves.
    """

    name: str
    role: Role | None  # None: not a Synapse worker's route
    balance: Balance
    client: tuple[str, ...] = ()
    federation: tuple[str, ...] = ()

    def patterns(self, surfaces: frozenset[Surface]) -> tuple[str, ...]:
        """Return the paths of the given surfaces, each once, in the table's order."""
        chosen = (self.client if Surface.CLIENT in surfaces else ()) + (
            self.federation if Surface.FEDERATION in surfaces else ()
        )
        return tuple(dict.fromkeys(chosen))


_C = "^/_matrix/client"
_V1_V3 = "(api/v1|r0|v3|unstable)"
_R0_V3 = "(r0|v3|unstable)"
_F = "^/_matrix/federation"

ROUTE_TABLE: tuple[RouteSpec, ...] = (
    # Sync: docs/workers.md asks that one user's syncs reach one worker ("Load balancing"); the
    # proxies key on the access token, which all three can read, so one login's syncs do.
    RouteSpec(
        "sync",
        Role.SYNC,
        Balance.ACCESS_TOKEN,
        client=(
            f"{_C}/(r0|v3)/sync$",
            f"{_C}/(api/v1|r0|v3)/events$",
            f"{_C}/(api/v1|r0|v3)/initialSync$",
            f"{_C}/(api/v1|r0|v3)/rooms/[^/]+/initialSync$",
        ),
    ),
    # Client API, encryption reads, registration and login, user directory search.
    RouteSpec(
        "client-reader",
        Role.CLIENT_READER,
        Balance.ROUND_ROBIN,
        client=(
            f"{_C}/{_V1_V3}/createRoom$",
            f"{_C}/{_V1_V3}/publicRooms$",
            f"{_C}/{_V1_V3}/rooms/.*/joined_members$",
            f"{_C}/{_V1_V3}/rooms/.*/context/.*$",
            f"{_C}/{_V1_V3}/rooms/.*/members$",
            f"{_C}/{_V1_V3}/rooms/.*/state$",
            f"{_C}/v1/rooms/.*/hierarchy$",
            f"{_C}/(v1|unstable)/rooms/.*/relations/",
            f"{_C}/v1/rooms/.*/threads$",
            f"{_C}/unstable/im.nheko.summary/summary/.*$",
            f"{_C}/{_R0_V3}/account/3pid$",
            f"{_C}/{_R0_V3}/account/whoami$",
            f"{_C}/{_R0_V3}/account/deactivate$",
            f"{_C}/versions$",
            f"{_C}/{_V1_V3}/voip/turnServer$",
            f"{_C}/{_V1_V3}/rooms/.*/event/",
            f"{_C}/{_V1_V3}/joined_rooms$",
            f"{_C}/v1/rooms/.*/timestamp_to_event$",
            f"{_C}/(api/v1|r0|v3|unstable/.*)/rooms/.*/aliases",
            f"{_C}/{_V1_V3}/search$",
            f"{_C}/{_R0_V3}/user/.*/filter(/|$)",
            f"{_C}/{_V1_V3}/directory/room/.*$",
            f"{_C}/{_R0_V3}/capabilities$",
            f"{_C}/{_R0_V3}/notifications$",
            f"{_C}/{_R0_V3}/keys/query$",
            f"{_C}/{_R0_V3}/keys/changes$",
            f"{_C}/{_R0_V3}/keys/claim$",
            f"{_C}/{_R0_V3}/room_keys/",
            f"{_C}/{_V1_V3}/login$",
            f"{_C}/{_R0_V3}/register$",
            f"{_C}/{_R0_V3}/register/available$",
            f"{_C}/v1/register/m.login.registration_token/validity$",
            f"{_C}/{_R0_V3}/password_policy$",
            f"{_C}/{_R0_V3}/user_directory/search$",
        ),
    ),
    # Pagination: docs/workers.md asks that every request for one room reach one worker.
    RouteSpec(
        "client-reader-messages",
        Role.CLIENT_READER,
        Balance.FIRST,
        client=(f"{_C}/{_V1_V3}/rooms/.*/messages$",),
    ),
    RouteSpec(
        "federation-reader",
        Role.FEDERATION_READER,
        Balance.ROUND_ROBIN,
        federation=(
            f"{_F}/v1/version$",
            f"{_F}/v1/event/",
            f"{_F}/v1/state/",
            f"{_F}/v1/state_ids/",
            f"{_F}/v1/backfill/",
            f"{_F}/v1/get_missing_events/",
            f"{_F}/v1/publicRooms",
            f"{_F}/v1/query/",
            f"{_F}/v1/make_join/",
            f"{_F}/v1/make_leave/",
            f"{_F}/(v1|v2)/send_join/",
            f"{_F}/(v1|v2)/send_leave/",
            f"{_F}/v1/make_knock/",
            f"{_F}/v1/send_knock/",
            f"{_F}/(v1|v2)/invite/",
            f"{_F}/v1/event_auth/",
            f"{_F}/v1/timestamp_to_event/",
            f"{_F}/v1/exchange_third_party_invite/",
            f"{_F}/v1/user/devices/",
            "^/_matrix/key/v2/query",
            f"{_F}/v1/hierarchy/",
        ),
    ),
    # Inbound transactions: docs/workers.md asks that one remote server's reach one worker.
    RouteSpec(
        "federation-send",
        Role.FEDERATION_READER,
        Balance.CLIENT_IP,
        federation=(f"{_F}/v1/send/",),
    ),
    # Media: clients and other servers both fetch /_matrix/media/ (docs/workers.md).
    RouteSpec(
        "media",
        Role.MEDIA,
        Balance.ROUND_ROBIN,
        client=("^/_matrix/media/", f"{_C}/v1/media/"),
        federation=("^/_matrix/media/", f"{_F}/v1/media/"),
    ),
)


# With MAS, its compatibility layer takes password logins, logouts and token refreshes from
# Synapse (MAS docs/setup/reverse-proxy.md, "Compatibility layer"); the paths are its regex's.
MAS_COMPAT = RouteSpec(
    "mas-compat",
    None,
    Balance.ROUND_ROBIN,
    client=(f"{_C}/(.*)/(login|logout|refresh)",),
)
# The worker paths MAS's compatibility layer takes instead, left out of the workers' routes.
MAS_TAKES = frozenset({f"{_C}/{_V1_V3}/login$"})


@dataclass(frozen=True)
class WorkerRoute:
    """A route of this bundle: the table's row and the host:port of each worker that serves it."""

    spec: RouteSpec
    upstreams: tuple[str, ...]

    @property
    def name(self) -> str:
        """Return the route's name, fit for an upstream, matcher, router or service name."""
        return self.spec.name

    @property
    def balance(self) -> Balance:
        """Return how the route picks one of its workers."""
        return self.spec.balance


@dataclass(frozen=True)
class SiteRoute:
    """A worker route as one site serves it: only the paths of the surfaces the site serves."""

    route: WorkerRoute
    patterns: tuple[str, ...]

    @property
    def regex(self) -> str:
        """Return the paths as one regular expression, for one matcher or rule."""
        return "|".join(f"(?:{pattern})" for pattern in self.patterns)


def routed_workers(ctx: RenderContext) -> list[Worker]:
    """Return the workers the proxy sends requests to, in the layout's order."""
    roles = {spec.role for spec in ROUTE_TABLE}
    return [worker for worker in synapse_workers.workers(ctx) if worker.role in roles]


def routes(ctx: RenderContext) -> list[WorkerRoute]:
    """Return the routes away from the main process: MAS's first, then the workers' own."""
    found = synapse_workers.workers(ctx)
    result = []
    with_mas = mas.enabled(ctx)
    if with_mas:
        result.append(WorkerRoute(MAS_COMPAT, (mas.upstream(ctx),)))
    for spec in ROUTE_TABLE:
        if with_mas:
            spec = replace(spec, client=tuple(p for p in spec.client if p not in MAS_TAKES))
        upstreams = [
            synapse_workers.upstream(ctx, worker) for worker in found if worker.role is spec.role
        ]
        if spec.balance is Balance.FIRST:
            upstreams = upstreams[:1]
        if upstreams:
            result.append(WorkerRoute(spec, tuple(upstreams)))
    return result


def site_routes(ctx: RenderContext, site: Site) -> list[SiteRoute]:
    """Return the worker routes a site serves: only under /_matrix/, for its surfaces."""
    if MATRIX_PREFIX not in site.matrix_prefixes:
        return []
    found = [SiteRoute(route, route.spec.patterns(site.surfaces)) for route in routes(ctx)]
    return [route for route in found if route.patterns]
