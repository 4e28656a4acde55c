"""`matrix-wizard doctor` against a real TLS server on loopback that answers as told."""

import json
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.bundle_support import answers_for, context_for
from tests.conftest import require_program
from tests.integration.proxy_runtime import free_port, serving
from wizard import cli
from wizard.answers.model import dump_answers
from wizard.bundle import discovery
from wizard.bundle.context import RenderContext
from wizard.errors import UsageError
from wizard.verify import doctor

pytestmark = pytest.mark.integration

HOSTS = ["matrix.example.com", "example.com"]
JSON = "application/json"
CORS = {"Access-Control-Allow-Origin": "*"}


@dataclass
class Route:
    """What the server answers on one path."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": JSON})


def _handler(routes: dict[str, Route]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            route = routes.get(self.path, Route(404, {"errcode": "M_UNRECOGNIZED"}))
            body = json.dumps(route.body).encode()
            self.send_response(route.status)
            for name, value in route.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Keep the test output quiet."""

    return Handler


def _certificate(folder: Path, days: int) -> tuple[Path, Path]:
    cert, key = folder / f"cert-{days}.pem", folder / f"key-{days}.pem"
    names = ",".join(f"DNS:{host}" for host in HOSTS)
    subprocess.run(
        [
            *(require_program("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes"),
            *("-days", str(days), "-subj", f"/CN={HOSTS[0]}", "-addext", f"subjectAltName={names}"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@contextmanager
def _serving(routes: dict[str, Route], cert: Path, key: Path, port: int) -> Iterator[None]:
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(routes))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with serving(server):
        yield


def _context(port: int) -> RenderContext:
    return context_for(answers_for(proxy__federation_port=443, deployment__ports={"https": port}))


def _healthy_routes(ctx: RenderContext) -> dict[str, Route]:
    documents = discovery.wellknown_documents(ctx)
    wellknown = {"Content-Type": JSON, **CORS}
    return {
        "/.well-known/matrix/server": Route(200, documents["server"], wellknown),
        "/.well-known/matrix/client": Route(200, documents["client"], wellknown),
        "/_matrix/client/versions": Route(200, {"versions": ["v1.11", "v1.12"]}),
        "/_matrix/federation/v1/version": Route(
            200, {"server": {"name": "Synapse", "version": "1.163.2"}}
        ),
    }


def _statuses(results: list[doctor.DoctorResult]) -> dict[str, str]:
    return {result.check: result.status for result in results}


def _run(ctx: RenderContext, verify: bool) -> list[doctor.DoctorResult]:
    return doctor.run_checks(ctx, doctor.target_for(ctx, None, "127.0.0.1", verify=verify))


def test_a_healthy_server_passes_and_tls_is_unverified_when_asked(tmp_path: Path) -> None:
    port = free_port()
    ctx = _context(port)
    cert, key = _certificate(tmp_path, 30)
    with _serving(_healthy_routes(ctx), cert, key, port):
        results = _run(ctx, verify=False)
    statuses = _statuses(results)
    assert statuses.pop(f"TLS matrix.example.com:{port}") == "unverified"
    assert statuses == {
        "well-known server": "passed",
        "well-known client": "passed",
        "client API": "passed",
        "federation API": "passed",
        "admin API not public": "passed",
        "metrics not public": "passed",
    }


def test_an_admin_api_reachable_from_outside_fails(tmp_path: Path) -> None:
    port = free_port()
    ctx = _context(port)
    routes = _healthy_routes(ctx)
    routes["/_synapse/admin/v1/server_version"] = Route(200, {"server_version": "1.163.2"})
    cert, key = _certificate(tmp_path, 30)
    with _serving(routes, cert, key, port):
        results = {result.check: result for result in _run(ctx, verify=False)}
    admin = results["admin API not public"]
    assert admin.status == "failed"
    assert "answers 200" in admin.reason
    assert results["metrics not public"].status == "passed"


def test_well_known_without_cors_or_json_type_fails_with_both_reasons(tmp_path: Path) -> None:
    port = free_port()
    ctx = _context(port)
    routes = _healthy_routes(ctx)
    document = discovery.wellknown_documents(ctx)["client"]
    routes["/.well-known/matrix/client"] = Route(200, document, {"Content-Type": "text/plain"})
    cert, key = _certificate(tmp_path, 30)
    with _serving(routes, cert, key, port):
        results = {result.check: result for result in _run(ctx, verify=False)}
    client = results["well-known client"]
    assert client.status == "failed"
    assert "Content-Type is text/plain" in client.reason
    assert "Access-Control-Allow-Origin" in client.reason
    assert results["well-known server"].status == "passed"


@pytest.mark.parametrize(("days", "status"), [(30, "passed"), (3, "failed")])
def test_a_trusted_certificate_passes_unless_it_expires_within_two_weeks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, days: int, status: str
) -> None:
    port = free_port()
    ctx = _context(port)
    cert, key = _certificate(tmp_path, days)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust it, as a CA-issued one would be
    with _serving(_healthy_routes(ctx), cert, key, port):
        results = {result.check: result for result in _run(ctx, verify=True)}
    tls = results[f"TLS matrix.example.com:{port}"]
    assert tls.status == status, tls.reason
    assert f"expires in {days - 1} days" in tls.reason or f"expires in {days} days" in tls.reason
    assert results["client API"].status == "passed"


def test_an_untrusted_certificate_fails_every_check_with_the_reason(tmp_path: Path) -> None:
    port = free_port()
    ctx = _context(port)
    cert, key = _certificate(tmp_path, 30)
    with _serving(_healthy_routes(ctx), cert, key, port):
        results = _run(ctx, verify=True)
    assert {result.status for result in results} == {"failed"}
    assert all("not trusted" in result.reason for result in results)


def test_the_command_exits_1_on_a_failure_and_0_when_all_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    ctx = _context(port)
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "answers.yaml").write_text(dump_answers(ctx.answers), encoding="utf-8")
    cert, key = _certificate(tmp_path, 30)
    args = ["doctor", str(bundle), "--connect", "127.0.0.1", "--insecure"]
    with _serving(_healthy_routes(ctx), cert, key, port):
        assert cli.main(args) == 0
        healthy = capsys.readouterr().out
    assert "unverified  TLS matrix.example.com" in healthy
    assert cli.main(args) == 1  # nothing listens any more
    down = capsys.readouterr().out
    assert "failed      client API" in down
    assert "Connection refused" in down


def test_bad_input_is_a_usage_error(tmp_path: Path) -> None:
    ctx = _context(8443)
    with pytest.raises(UsageError, match="https://"):
        doctor.target_for(ctx, "http://matrix.example.com", None, verify=True)
    with pytest.raises(UsageError, match=r"no answers\.yaml"):
        doctor.doctor(tmp_path)
    assert cli.main(["doctor", str(tmp_path)]) == 2


def test_another_url_moves_the_checks_to_its_host_and_port() -> None:
    ctx = _context(8443)
    target = doctor.target_for(ctx, "https://matrix.example.org:9443", None, verify=True)
    assert (target.homeserver_host, target.https_port) == ("matrix.example.org", 9443)
    assert (target.federation_host, target.federation_port) == ("matrix.example.org", 9443)
    assert target.server_name_host == "example.com"


def test_with_group_calls_the_foci_and_lk_jwt_services_health_are_checked(
    tmp_path: Path,
) -> None:
    port = free_port()
    ctx = context_for(
        answers_for(
            proxy__federation_port=443,
            deployment__ports={"https": port},
            calls__matrix_rtc=True,
            calls__external_ip="203.0.113.10",
        )
    )
    cert, key = _certificate(tmp_path, 30)
    routes = _healthy_routes(ctx)
    with _serving(routes, cert, key, port):
        missing = _statuses(_run(ctx, verify=False))
        routes["/livekit/jwt/healthz"] = Route(200, {})
        healthy = _statuses(_run(ctx, verify=False))
        client = routes["/.well-known/matrix/client"]
        without_foci = {"m.homeserver": client.body["m.homeserver"]}
        routes["/.well-known/matrix/client"] = Route(200, without_foci, client.headers)
        no_foci = _statuses(_run(ctx, verify=False))
    assert missing["calls: lk-jwt-service"] == "failed"
    assert healthy["calls: lk-jwt-service"] == "passed"
    assert healthy["well-known client"] == "passed"
    assert no_foci["well-known client"] == "failed"


def test_with_mas_its_discovery_document_and_certificate_are_checked(tmp_path: Path) -> None:
    port = free_port()
    ctx = context_for(
        answers_for(
            database="postgresql",
            auth__mas=True,
            proxy__federation_port=443,
            deployment__ports={"https": port},
        )
    )
    cert, key = _certificate(tmp_path, 30)
    issuer = f"https://auth.example.com:{port}/"
    routes = _healthy_routes(ctx)
    with _serving(routes, cert, key, port):
        missing = _statuses(_run(ctx, verify=False))
    routes["/.well-known/openid-configuration"] = Route(200, {"issuer": issuer})
    with _serving(routes, cert, key, port):
        results = _run(ctx, verify=False)

    assert missing["authentication service"] == "failed"
    statuses = _statuses(results)
    assert statuses["authentication service"] == "passed"
    assert statuses[f"TLS auth.example.com:{port}"] == "unverified"
