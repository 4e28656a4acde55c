"""What clients and other servers see of a running bundle, checked the same way for every run."""

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT
from tests.integration.proxy_runtime import send
from wizard.bundle import discovery
from wizard.bundle.context import RenderContext


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
    assert json.loads(federation.body)["server"]["name"] == "Synapse"
    for path in ("/_synapse/admin/v1/server_version", "/_synapse/metrics"):
        for port in (https, ctx.federation_port):
            reply = send(port, ctx.homeserver_host, path)
            assert reply.status == 404, (port, path, reply)
            assert b"server_version" not in reply.body


def run_doctor(install_dir: Path, url: str | None = None) -> list[dict[str, str]]:
    """Run `matrix-wizard doctor` on the installed bundle against the live proxy on loopback."""
    done = subprocess.run(
        [
            sys.executable,
            *("-m", "wizard", "doctor", str(install_dir)),
            *(("--url", url) if url else ()),
            *("--connect", "127.0.0.1", "--insecure", "--json"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results: list[dict[str, str]] = json.loads(done.stdout)
    return results
