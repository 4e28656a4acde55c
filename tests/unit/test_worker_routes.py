"""The table of worker routes: which paths reach which worker, how they balance, on which site."""

import re
from typing import Any

import pytest

from tests.bundle_support import answers_for, context_for, facts_with
from wizard.bundle import config_values, synapse_workers, worker_routes
from wizard.bundle.context import RenderContext
from wizard.bundle.proxy_sites import Surface, sites
from wizard.bundle.worker_layout import Role
from wizard.bundle.worker_routes import ROUTE_TABLE, Balance
from wizard.errors import WizardError

WORKERS: dict[str, Any] = {"homeserver__workers": True, "database": "postgresql"}
BOTH = frozenset(Surface)
# Paths and the route that must take each; None: the main process keeps it.
EXPECTED: dict[str, str | None] = {
    "/_matrix/client/v3/sync": "sync",
    "/_matrix/client/r0/sync": "sync",
    "/_matrix/client/v3/events": "sync",
    "/_matrix/client/v3/initialSync": "sync",
    "/_matrix/client/v3/rooms/!a:b/initialSync": "sync",
    "/_matrix/client/v3/rooms/!a:b/messages": "client-reader-messages",
    "/_matrix/client/v3/rooms/!a:b/members": "client-reader",
    "/_matrix/client/v3/rooms/!a:b/state": "client-reader",
    "/_matrix/client/v3/rooms/!a:b/context/$e": "client-reader",
    "/_matrix/client/v3/joined_rooms": "client-reader",
    "/_matrix/client/v3/keys/query": "client-reader",
    "/_matrix/client/v3/keys/claim": "client-reader",
    "/_matrix/client/v3/room_keys/version": "client-reader",
    "/_matrix/client/v3/login": "client-reader",
    "/_matrix/client/v3/register": "client-reader",
    "/_matrix/client/versions": "client-reader",
    "/_matrix/client/v3/createRoom": "client-reader",
    "/_matrix/client/v3/user_directory/search": "client-reader",
    "/_matrix/federation/v1/version": "federation-reader",
    "/_matrix/federation/v2/send_join/!a:b/$e": "federation-reader",
    "/_matrix/key/v2/query": "federation-reader",
    "/_matrix/federation/v1/send/1234": "federation-send",
    "/_matrix/media/v3/download/example.com/abc": "media",
    "/_matrix/media/v3/upload": "media",
    "/_matrix/client/v1/media/download/example.com/abc": "media",
    "/_matrix/federation/v1/media/download/abc": "media",
    # Sending events and the streams the main process writes stay on it.
    "/_matrix/client/v3/rooms/!a:b/send/m.room.message/1": None,
    "/_matrix/client/v3/rooms/!a:b/state/m.room.name/": None,
    "/_matrix/client/v3/rooms/!a:b/join": None,
    "/_matrix/client/v3/profile/@a:b/displayname": None,
    "/_matrix/client/v3/keys/upload": None,
    "/_matrix/client/v3/keys/device_signing/upload": None,
    "/_matrix/client/v3/keys/signatures/upload": None,
    "/_matrix/client/v3/devices": None,
    "/_matrix/client/v3/delete_devices": None,
    "/_matrix/client/v3/user/@a:b/account_data/m.direct": None,
    "/_matrix/client/v3/user/@a:b/rooms/!a:b/tags": None,
    "/_matrix/client/v3/presence/@a:b/status": None,
    "/_matrix/client/v3/pushrules/": None,
    "/_matrix/client/v3/rooms/!a:b/typing/@a:b": None,
    "/_matrix/client/v3/sendToDevice/m.room.encrypted/1": None,
    "/_matrix/client/v3/rooms/!a:b/receipt/m.read/$e": None,
    "/_matrix/client/v3/logout": None,
    "/_matrix/key/v2/server": None,
    "/_synapse/admin/v1/media/example.com/abc": None,
    "/_synapse/admin/v1/rooms/!a:b": None,
}


def _ctx(cores: int = 16, **sets: Any) -> RenderContext:
    return context_for(answers_for(**{**WORKERS, **sets}), facts_with(ram_gib=32, cores=cores))


def _taker(path: str) -> list[str]:
    """Return the names of every route whose patterns match the path, on a site serving both."""
    return [
        spec.name
        for spec in ROUTE_TABLE
        if any(re.search(pattern, path) for pattern in spec.patterns(BOTH))
    ]


@pytest.mark.parametrize(("path", "route"), EXPECTED.items())
def test_each_path_reaches_one_route_or_stays_on_the_main_process(
    path: str, route: str | None
) -> None:
    assert _taker(path) == ([route] if route else [])


def test_every_pattern_is_anchored_and_fit_for_every_proxy() -> None:
    for spec in ROUTE_TABLE:
        for pattern in spec.patterns(BOTH):
            assert pattern.startswith("^/_matrix/"), pattern
            assert config_values.regex(pattern) == pattern


@pytest.mark.parametrize(
    "hostile", ['^/_matrix/"x', "^/_matrix/{1}", "^/_matrix/`x`", "^/_matrix/(x", "^/a b", "^/\\d"]
)
def test_a_pattern_with_characters_a_proxy_reads_otherwise_is_refused(hostile: str) -> None:
    with pytest.raises(WizardError):
        config_values.quoted_regex(hostile)


def test_the_routed_workers_are_those_of_the_roles_in_the_table() -> None:
    roles = {worker.role for worker in worker_routes.routed_workers(_ctx())}
    assert roles == {Role.SYNC, Role.CLIENT_READER, Role.FEDERATION_READER, Role.MEDIA}


def test_no_routes_without_workers() -> None:
    assert worker_routes.routes(context_for(answers_for(database="postgresql"))) == []
    assert worker_routes.routes(context_for(answers_for("dendrite", database="postgresql"))) == []


def test_each_route_reaches_every_worker_of_its_role_but_pagination_reaches_one() -> None:
    ctx = _ctx(deployment__kind="native")
    found = synapse_workers.workers(ctx)
    by_name = {route.name: route for route in worker_routes.routes(ctx)}
    assert set(by_name) == {spec.name for spec in ROUTE_TABLE}

    def addresses(role: Role) -> tuple[str, ...]:
        return tuple(
            synapse_workers.upstream(ctx, worker) for worker in found if worker.role is role
        )

    assert by_name["sync"].upstreams == addresses(Role.SYNC)
    assert len(by_name["sync"].upstreams) == 4
    assert by_name["client-reader"].upstreams == addresses(Role.CLIENT_READER)
    assert by_name["client-reader-messages"].upstreams == addresses(Role.CLIENT_READER)[:1]
    assert by_name["federation-send"].upstreams == addresses(Role.FEDERATION_READER)
    assert by_name["media"].upstreams == addresses(Role.MEDIA)
    assert all(address.startswith("127.0.0.1:") for address in by_name["sync"].upstreams)


def test_balancing_follows_docs_workers_md() -> None:
    balance = {route.name: route.balance for route in worker_routes.routes(_ctx())}
    assert balance["sync"] is Balance.ACCESS_TOKEN
    assert balance["federation-send"] is Balance.CLIENT_IP
    assert balance["client-reader-messages"] is Balance.FIRST
    assert balance["client-reader"] is balance["federation-reader"] is Balance.ROUND_ROBIN


def test_under_compose_the_proxy_reaches_each_worker_by_its_service_name() -> None:
    sync = next(route for route in worker_routes.routes(_ctx(cores=4)) if route.name == "sync")
    assert sync.upstreams == ("synapse-sync1:8102",)


def _site_routes(ctx: RenderContext) -> list[dict[str, tuple[str, ...]]]:
    return [
        {served.route.name: served.patterns for served in worker_routes.site_routes(ctx, site)}
        for site in sites(ctx)
    ]


def test_one_site_serving_clients_and_federation_routes_everything() -> None:
    homeserver, wellknown = _site_routes(_ctx(domain__delegation="well-known"))
    assert set(homeserver) == {spec.name for spec in ROUTE_TABLE}
    assert wellknown == {}


def test_federation_routes_only_where_other_servers_connect() -> None:
    """With SRV delegation other servers connect to the server_name's host, clients elsewhere."""
    homeserver, server_name = _site_routes(_ctx(domain__delegation="srv"))
    assert set(homeserver) == {"sync", "client-reader", "client-reader-messages", "media"}
    assert "^/_matrix/federation/v1/media/" not in homeserver["media"]
    assert set(server_name) == {"federation-reader", "federation-send", "media"}
    assert server_name["media"] == ("^/_matrix/media/", "^/_matrix/federation/v1/media/")


def test_site_routes_are_empty_without_workers() -> None:
    ctx = context_for(answers_for(database="postgresql"))
    assert all(worker_routes.site_routes(ctx, site) == [] for site in sites(ctx))
