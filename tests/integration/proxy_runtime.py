"""Run real proxies on loopback for tests: a recording upstream, TLS requests, and cleanup."""

import contextlib
import http.client
import json
import random
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil

from tests.conftest import require_program
from tests.waiting import LIMIT

READY_TIMEOUT = LIMIT
SHUTDOWN_POLL = 0.02


def nginx_command(tmp_path: Path, site: Path, *, as_the_image: bool = False) -> list[str]:
    """Write a main nginx config in tmp_path that serves one site; return the command to run it.

    With as_the_image, the main config is the nginx image's: mime.types and default_type
    application/octet-stream around the sites.
    """
    program = require_program("nginx")
    temp_paths = "".join(
        f"    {name}_temp_path {tmp_path / name};\n"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    types = (
        "    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n"
        if as_the_image
        else ""
    )
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"daemon off;\nuser root;\npid {tmp_path / 'nginx.pid'};\n"
        f"error_log {tmp_path / 'error.log'};\nevents {{}}\nhttp {{\n"
        f"{types}    access_log off;\n{temp_paths}    include {site};\n}}\n"
    )
    return [program, "-p", f"{tmp_path}/", "-e", str(tmp_path / "error.log"), "-c", str(main)]


def caddy_command(tmp_path: Path, caddyfile_text: str) -> tuple[list[str], dict[str, str]]:
    """Write a Caddyfile bound to loopback in tmp_path; return the command and its environment."""
    program = require_program("caddy")
    caddyfile = tmp_path / "Caddyfile"
    caddyfile.write_text(
        caddyfile_text.replace("\tadmin off\n", "\tadmin off\n\tdefault_bind 127.0.0.1\n")
    )
    environment = {
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "d"),
        "XDG_CONFIG_HOME": str(tmp_path / "c"),
    }
    command = [program, "run", "--config", str(caddyfile), "--adapter", "caddyfile"]
    return command, environment


def free_port() -> int:
    """Return a TCP port free on loopback right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def free_port_block(count: int) -> int:
    """Return a port after which the next `count` ports are all free on loopback right now."""
    for _ in range(100):
        base = random.randint(20000, 30000)
        if all(_bindable(base + offset) for offset in range(1, count + 1)):
            return base
    raise AssertionError(f"found no {count} free ports in a row on loopback")


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def self_signed(directory: Path, hosts: list[str]) -> tuple[Path, Path]:
    """Make a self-signed certificate for the hosts with the openssl CLI."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    names = ",".join(f"DNS:{host}" for host in hosts)
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-subj", f"/CN={hosts[0]}", "-addext", f"subjectAltName={names}"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@dataclass(frozen=True)
class Seen:
    """One request as the upstream received it: the raw target and how many body bytes came."""

    path: str
    body_bytes: int


class _Recorder(BaseHTTPRequestHandler):
    seen: list[Seen]

    def do_GET(self) -> None:
        self._answer(0)

    def do_POST(self) -> None:
        self._answer(len(self.rfile.read(int(self.headers.get("Content-Length", "0")))))

    def _answer(self, body_bytes: int) -> None:
        self.seen.append(Seen(self.path, body_bytes))
        body = json.dumps({"path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError):  # the proxy gave up on a body over its limit
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[None]:
    """Serve requests on the server in a thread for the block, then stop and close it."""
    # serve_forever notices shutdown() only between polls: the default half second adds up
    # when a test stops many servers.
    thread = threading.Thread(target=server.serve_forever, args=(SHUTDOWN_POLL,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def recording_upstream(port: int) -> Iterator[list[Seen]]:
    """Serve HTTP on 127.0.0.1:port and yield the requests it receives, as they come."""
    seen: list[Seen] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    with serving(ThreadingHTTPServer(("127.0.0.1", port), handler)):
        yield seen


@dataclass(frozen=True)
class Reply:
    """One HTTP response: its status, headers (lower-case names) and body."""

    status: int
    headers: dict[str, str]
    body: bytes


class _SniConnection(http.client.HTTPSConnection):
    """An HTTPS connection to loopback that sends another host name as TLS SNI."""

    def __init__(self, port: int, sni: str, timeout: float = 10) -> None:
        # No CA store: loading the system's takes tens of milliseconds and nothing is verified.
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        super().__init__("127.0.0.1", port, timeout=timeout, context=context)
        self._sni = sni
        self._tls = context

    def connect(self) -> None:
        raw = socket.create_connection((self.host, self.port), self.timeout)
        # As http.client does: else the request waits behind the handshake's last segment until
        # the proxy acknowledges it, which a Go proxy delays by 40 ms.
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self._sni)


def send(
    port: int,
    host: str,
    path: str,
    tls: bool = True,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> Reply:
    """Send GET (or POST with a body) to 127.0.0.1:port with Host and SNI host, path as given."""
    if tls:
        connection: http.client.HTTPConnection = _SniConnection(port, host, timeout)
    else:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        method = "GET" if body is None else "POST"
        connection.request(method, path, body=body, headers={"Host": host, **(headers or {})})
        response = connection.getresponse()
        received = {name.lower(): value for name, value in response.getheaders()}
        return Reply(response.status, received, response.read())
    finally:
        connection.close()


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until something accepts connections on 127.0.0.1:port, or fail with the log."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"exited early: {log.read_text(errors='replace')[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listened on {port}: {log.read_text(errors='replace')[-2000:]}")


def listening(pid: int) -> set[tuple[int, str]]:
    """Return (port, protocol) of every TCP listener and bound UDP socket of a process tree."""
    process = psutil.Process(pid)
    found = set()
    for member in (process, *process.children(recursive=True)):
        for connection in member.net_connections(kind="inet"):
            if connection.type == socket.SOCK_STREAM and connection.status == psutil.CONN_LISTEN:
                found.add((connection.laddr.port, "tcp"))
            elif connection.type == socket.SOCK_DGRAM:
                found.add((connection.laddr.port, "udp"))
    return found


@contextmanager
def running(
    command: list[str], log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a program with its output in a log file, and stop it and wait for it afterwards."""
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
