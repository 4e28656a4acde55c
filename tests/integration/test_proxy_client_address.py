"""The real proxies hand the homeserver the peer's own address, never one the client made up.

Dendrite's sync API takes the client address from X-Real-IP (sync_api.real_ip_header): each
proxy, run here with the bundle's rendered config, must replace a forged X-Real-IP with the
address the request came from. A loopback backend echoes the headers it received.
"""

import contextlib
import json
import socket
import ssl
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from tests.integration.proxy_runtime import caddy_command, running, serving, wait_for_port
from tests.integration.test_proxy_configs import (
    _installed,
    _nginx_on_loopback,
    _ports_for_run,
    _traefik_program,
    _write_bundle,
)
from tests.waiting import wait_until
from wizard.bundle import caddy, dendrite, traefik
from wizard.bundle.context import RenderContext

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FORGED = "6.6.6.6"
PEER = "127.0.0.1"


class _Echo(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({name.lower(): value for name, value in self.headers.items()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@contextlib.contextmanager
def echo_backend(port: int) -> Iterator[None]:
    with serving(ThreadingHTTPServer(("127.0.0.1", port), _Echo)):
        yield


def headers_seen_behind(port: int) -> dict[str, str]:
    """Send a client API request with forged address headers; return what the backend got."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    request = (
        "GET /_matrix/client/versions HTTP/1.1\r\nHost: matrix.example.com\r\n"
        f"X-Real-IP: {FORGED}\r\nX-Forwarded-For: {FORGED}\r\nConnection: close\r\n\r\n"
    )
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="matrix.example.com") as tls,
    ):
        tls.sendall(request.encode())
        answer = b""
        while chunk := tls.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    seen: dict[str, str] = json.loads(body)
    return seen


def assert_peer_address_only(seen: dict[str, str]) -> None:
    assert seen[dendrite.REAL_IP_HEADER.lower()] == PEER
    assert FORGED not in seen.get("x-forwarded-for", "")


def _dendrite_bundle(tmp_path: Path, proxy_kind: str) -> RenderContext:
    return _write_bundle(tmp_path, proxy_kind, "files", homeserver="dendrite", **_ports_for_run())


def test_nginx_replaces_a_forged_real_ip_with_the_peer_address(tmp_path: Path) -> None:
    ctx = _dendrite_bundle(tmp_path, "nginx")
    command = _nginx_on_loopback(ctx, tmp_path)
    log = tmp_path / "nginx.out"
    with echo_backend(ctx.ports.homeserver), running(command, log) as process:
        wait_for_port(ctx.ports.https, process, log)
        assert_peer_address_only(headers_seen_behind(ctx.ports.https))


def test_caddy_replaces_a_forged_real_ip_with_the_peer_address(tmp_path: Path) -> None:
    ctx = _dendrite_bundle(tmp_path, "caddy")
    command, environment = caddy_command(tmp_path, caddy.render_caddyfile(ctx, admin="off"))
    log = tmp_path / "caddy.out"
    with echo_backend(ctx.ports.homeserver), running(command, log, environment) as process:
        wait_for_port(ctx.ports.https, process, log)
        assert_peer_address_only(headers_seen_behind(ctx.ports.https))


def test_traefik_replaces_a_forged_real_ip_with_the_peer_address(tmp_path: Path) -> None:
    """Traefik sets X-Real-Ip itself from an untrusted peer; the bundle relies on that."""
    program = _traefik_program()
    ctx = _dendrite_bundle(tmp_path, "traefik")
    static = yaml.safe_load(_installed(ctx, traefik.STATIC_PATH).read_text())
    for entry in static["entryPoints"].values():
        entry["address"] = "127.0.0.1" + entry["address"]
    static["providers"]["file"] = {"filename": str(_installed(ctx, traefik.DYNAMIC_PATH))}
    static_copy = tmp_path / "traefik.yml"
    static_copy.write_text(yaml.safe_dump(static))
    log = tmp_path / "traefik.out"
    command = [program, f"--configFile={static_copy}"]
    with echo_backend(ctx.ports.homeserver), running(command, log) as process:
        wait_for_port(ctx.ports.https, process, log)
        # Traefik listens before its file provider's routes are loaded: wait for the route.
        seen = wait_until(lambda: _answered(ctx.ports.https), "Traefik to route the client API")
        assert_peer_address_only(seen)


def _answered(port: int) -> dict[str, str] | None:
    try:
        return headers_seen_behind(port)
    except (OSError, AssertionError):
        return None
