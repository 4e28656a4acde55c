"""The real nginx, Caddy and Traefik, run with a native workers bundle's config, route by worker.

Stand-ins, not Synapse: a small recording HTTP server on loopback takes the port of the main
process and of each worker, and notes which one each request reached. Proven here: each proxy's
own matching, ordering and balancing, with the bundle's exact config, sends every path to the
process the route table names, keeps one access token on one sync worker, and keeps the headers
and body limit of the main route. Not proven here: that Synapse's workers answer these paths as
the main process would, which takes Synapse itself and is for the tests that run it in a box.
"""

import base64
import contextlib
import json
import random
import string
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.bundle_support import context_for, facts_with
from tests.integration.proxy_runtime import (
    caddy_command,
    free_port,
    free_port_block,
    running,
    send,
    serving,
    wait_for_port,
)
from tests.integration.test_proxy_configs import (
    _bundle_answers,
    _nginx_on_loopback,
    _ports_for_run,
    _traefik_on_loopback,
    _wait_for_routes,
    _write_context,
)
from wizard.bundle import caddy, synapse_workers, traefik, worker_routes
from wizard.bundle.context import RenderContext
from wizard.bundle.worker_layout import Role
from wizard.units import MIB

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HOST = "matrix.example.com"
# 16 cores: four sync workers, two client readers and two federation readers.
MACHINE = facts_with(ram_gib=32, cores=16)
USERS = 24


@dataclass(frozen=True)
class Hit:
    """One request as a stand-in received it: which process, the raw target, headers and body."""

    process: str
    path: str
    headers: dict[str, str]
    body_bytes: int


class _StandIn(BaseHTTPRequestHandler):
    process: str
    hits: list[Hit]

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.hits.append(Hit(self.process, self.path, headers, len(body)))
        reply = json.dumps({"process": self.process}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError):  # the proxy gave up on a body over its limit
            self.wfile.write(reply)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@contextlib.contextmanager
def stand_ins(ctx: RenderContext) -> Iterator[list[Hit]]:
    """Serve the main process's port and each routed worker's, noting every request in order."""
    hits: list[Hit] = []
    processes = {"main": ctx.ports.homeserver}
    for worker in worker_routes.routed_workers(ctx):
        processes[worker.name] = synapse_workers.port(ctx, worker)
    with contextlib.ExitStack() as stack:
        for name, port in processes.items():
            handler = type("Handler", (_StandIn,), {"process": name, "hits": hits})
            stack.enter_context(serving(ThreadingHTTPServer(("127.0.0.1", port), handler)))
        yield hits


def _token(generator: random.Random, user: str) -> str:
    """Return an access token shaped as Synapse makes them: syt_, localpart, random, checksum."""
    localpart = base64.b64encode(user.encode()).decode().rstrip("=")
    alphabet = string.ascii_letters + string.digits
    tail = "".join(generator.choices(string.ascii_letters, k=20))
    return f"syt_{localpart}_{tail}_{''.join(generator.choices(alphabet, k=6))}"


class Client:
    """Sends requests through the proxy and says which stand-in each one reached."""

    def __init__(self, ctx: RenderContext, hits: list[Hit]) -> None:
        self.ctx, self.hits = ctx, hits

    def reach(
        self,
        path: str,
        *,
        token: str | None = None,
        in_query: bool = False,
        federation: bool = False,
        body: bytes | None = None,
    ) -> Hit:
        """Send one request; assert exactly one stand-in got it, unchanged; return that hit."""
        target = f"{path}?access_token={token}" if token and in_query else path
        headers = {"Authorization": f"Bearer {token}"} if token and not in_query else {}
        port = self.ctx.ports.federation if federation else self.ctx.ports.https
        before = len(self.hits)
        reply = send(port, HOST, target, body=body, headers=headers)
        assert reply.status == 200, (target, reply.status)
        [hit] = self.hits[before:]
        assert hit.path == target
        return hit

    def process(self, path: str, **options: Any) -> str:
        """Return the name of the process the request reached."""
        return self.reach(path, **options).process


def _assert_routing(ctx: RenderContext, hits: list[Hit], over_limit: set[int]) -> None:
    client = Client(ctx, hits)
    generator = random.Random(20260101)

    # Sync: one access token, in the header or the query, always reaches the same sync worker.
    reached = set()
    for index in range(USERS):
        token = _token(generator, f"user{index}")
        hit = client.reach("/_matrix/client/v3/sync", token=token)
        assert hit.process.startswith("sync")
        assert hit.headers["host"] == HOST
        assert hit.headers["x-real-ip"] == "127.0.0.1"
        assert "x-matrix-access-token" not in hit.headers
        for path in (
            "/_matrix/client/v3/sync",
            "/_matrix/client/r0/sync",
            "/_matrix/client/v3/events",
            "/_matrix/client/v3/rooms/!room:example.com/initialSync",
        ):
            assert client.process(path, token=token) == hit.process, path
        assert client.process("/_matrix/client/v3/sync", token=token, in_query=True) == (
            hit.process
        )
        reached.add(hit.process)
    assert len(reached) >= 2, reached  # different users spread over the sync workers
    assert client.process("/_matrix/client/v3/sync").startswith("sync")  # no token at all

    # Client reads go to a client reader; one room's pagination always to the same one.
    readers = {"client_reader1", "client_reader2"}
    assert client.process("/_matrix/client/v3/rooms/!x:example.com/members") in readers
    assert client.process("/_matrix/client/v3/keys/query", body=b"{}") in readers
    assert client.process("/_matrix/client/v3/login", body=b"{}") in readers
    for room in ("!a:example.com", "!b:example.com", "!c:example.com"):
        path = f"/_matrix/client/v3/rooms/{room}/messages"
        assert {client.process(path) for _ in range(3)} == {"client_reader1"}

    # Sending events and the main process's own streams stay on it.
    send_path = "/_matrix/client/v3/rooms/!x:example.com/send/m.room.message/1"
    assert client.process(send_path, body=b"{}") == "main"
    assert client.process("/_matrix/client/v3/keys/upload", body=b"{}") == "main"
    assert client.process("/_matrix/client/v3/pushrules/") == "main"

    # Media, for clients and servers, with the main route's body limit.
    for path in (
        "/_matrix/media/v3/download/example.com/abc",
        "/_matrix/client/v1/media/download/example.com/abc",
        "/_matrix/client/v1/media/thumbnail/example.com/abc?width=32&height=32",
    ):
        assert client.process(path) == "media1", path
    assert client.process("/_matrix/federation/v1/media/download/abc", federation=True) == "media1"
    limit = ctx.upload_limit_bytes
    upload = client.reach("/_matrix/media/v3/upload", body=b"x" * limit)
    assert (upload.process, upload.body_bytes) == ("media1", limit)

    # Federation on its own port: readers; one server's transactions always to the same one.
    federation_readers = {"federation_reader1", "federation_reader2"}
    version = "/_matrix/federation/v1/version"
    assert client.process(version, federation=True) in federation_readers
    assert client.process("/_matrix/key/v2/query", federation=True, body=b"{}") in (
        federation_readers
    )
    transactions = {
        client.process(f"/_matrix/federation/v1/send/{n}", federation=True, body=b"{}")
        for n in range(6)
    }
    assert len(transactions) == 1 and transactions <= federation_readers
    assert client.process("/_matrix/key/v2/server", federation=True) == "main"

    # The admin API stays unrouted, whatever a worker could serve.
    for path in ("/_synapse/admin/v1/users", "/_synapse/admin/v1/media/example.com/abc"):
        before = len(hits)
        assert send(ctx.ports.https, HOST, path).status == 404, path
        assert len(hits) == before, path

    # Last, as the stand-in may note a cut-off upload after the proxy has answered.
    before = len(hits)
    too_big = send(ctx.ports.https, HOST, "/_matrix/media/v3/upload", body=b"x" * (limit + MIB))
    assert too_big.status in over_limit
    assert all(hit.body_bytes <= limit for hit in hits[before:])


def _workers_bundle(tmp_path: Path, proxy_kind: str) -> RenderContext:
    ports = _ports_for_run() | {
        "deployment__ports__wellknown": free_port(),
        "deployment__ports__synapse_workers": free_port_block(16),
    }
    answers = _bundle_answers(
        tmp_path, proxy_kind, "files", database="postgresql", homeserver__workers=True, **ports
    )
    ctx = _write_context(context_for(answers, MACHINE))
    roles = [worker.role for worker in synapse_workers.workers(ctx)]
    assert (roles.count(Role.SYNC), roles.count(Role.CLIENT_READER)) == (4, 2)
    assert roles.count(Role.FEDERATION_READER) == 2
    return ctx


@pytest.mark.parametrize("proxy_kind", ["nginx", "caddy", "traefik"])
def test_each_path_reaches_its_worker_through_the_real_proxy(
    tmp_path: Path, proxy_kind: str
) -> None:
    ctx = _workers_bundle(tmp_path, proxy_kind)
    log = tmp_path / f"{proxy_kind}.out"
    environment = None
    if proxy_kind == "nginx":
        command = _nginx_on_loopback(ctx, tmp_path)
    elif proxy_kind == "caddy":
        command, environment = caddy_command(tmp_path, caddy.render_caddyfile(ctx, admin="off"))
    else:
        command = _traefik_on_loopback(ctx, tmp_path, traefik.wellknown_url(ctx))
    with stand_ins(ctx) as hits, running(command, log, environment) as process:
        wait_for_port(ctx.ports.https, process, log)
        wait_for_port(ctx.ports.federation, process, log)
        if proxy_kind == "traefik":
            _wait_for_routes(ctx, log)
        # Caddy 2.6 cuts the body off at the limit and answers 502; the others answer 413.
        _assert_routing(ctx, hits, over_limit={413, 502} if proxy_kind == "caddy" else {413})
