"""What clients and other servers see of a running bundle, checked the same way for every run."""

import json
from pathlib import Path

from tests.conftest import run_cli
from tests.integration.proxy_runtime import send
from wizard.answers.model import Homeserver
from wizard.bundle import dendrite, discovery
from wizard.bundle.context import RenderContext

# The name each homeserver gives in the federation API's version answer.
SERVER_NAMES = {Homeserver.SYNAPSE: "Synapse", Homeserver.DENDRITE: "Dendrite"}


def private_paths(ctx: RenderContext) -> tuple[str, ...]:
    """Return paths the homeserver serves that the proxy must refuse: admin APIs and metrics.

    Dendrite serves its metrics on its main listener, so only when monitoring is on; it also
    answers Synapse's shared-secret registration path, which create-account uses.
    """
    if ctx.homeserver is Homeserver.SYNAPSE:
        return ("/_synapse/admin/v1/server_version", "/_synapse/metrics")
    paths: tuple[str, ...] = ("/_dendrite/admin/registrationTokens", "/_synapse/admin/v1/register")
    if ctx.answers.monitoring.prometheus:
        paths += (dendrite.METRICS_PATH,)
    return paths


def check_routes(ctx: RenderContext) -> None:
    """Check what the proxy serves and refuses, as other servers and clients see it."""
    https = ctx.ports.https
    documents = discovery.wellknown_documents(ctx)
    for name in ("server", "client"):
        reply = send(https, ctx.server_name_host, f"/.well-known/matrix/{name}")
        assert reply.status == 200, reply
        assert reply.headers["content-type"].startswith("application/json")
        assert reply.headers["access-control-allow-origin"] == "*"
        assert json.loads(reply.body) == documents[name]
    federation = send(ctx.federation_port, ctx.homeserver_host, "/_matrix/federation/v1/version")
    assert federation.status == 200
    assert json.loads(federation.body)["server"]["name"] == SERVER_NAMES[ctx.homeserver]
    for path in private_paths(ctx):
        for port in (https, ctx.federation_port):
            reply = send(port, ctx.homeserver_host, path)
            assert reply.status == 404, (port, path, reply)
            assert b"server_version" not in reply.body


# What doctor checks besides TLS, each of which a running bundle passes.
DOCTOR_CHECKS = {"well-known server", "well-known client", "federation API", "admin API not public"}


def check_doctor(
    install_dir: Path,
    host: str,
    tls_ports: set[int],
    url: str | None = None,
    other_tls: frozenset[str] = frozenset(),
) -> None:
    """Run `matrix-wizard doctor` on loopback: TLS on each port is unverified, the rest passes.

    TLS is unverified because the tests' certificates are self-signed; other_tls names further
    `host:port` addresses whose TLS doctor checks, such as Element Web's host.
    """
    options = ("--url", url) if url else ()
    done = run_cli(
        "doctor", str(install_dir), *options, "--connect", "127.0.0.1", "--insecure", "--json"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(done.stdout)
    statuses = {result["check"]: result["status"] for result in results}
    for address in {f"{host}:{port}" for port in tls_ports} | other_tls:
        assert statuses.pop(f"TLS {address}") == "unverified", results
    assert set(statuses.values()) == {"passed"}, results
    assert set(statuses) >= DOCTOR_CHECKS, results
