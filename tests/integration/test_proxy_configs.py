"""The rendered proxy files, checked and run by the real nginx, Caddy and Traefik on loopback."""

import contextlib
import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.bundle_support import answers_for, context_for, facts_with
from tests.conftest import require_program
from tests.integration.proxy_runtime import (
    READY_TIMEOUT,
    Seen,
    caddy_command,
    free_port,
    listening,
    nginx_command,
    recording_upstream,
    running,
    self_signed,
    send,
    wait_for_port,
)
from wizard.answers.model import Answers
from wizard.bundle import (
    caddy,
    certificates,
    compose,
    discovery,
    layout,
    nginx,
    proxy,
    systemd,
    traefik,
    worker_routes,
)
from wizard.bundle.context import CONTAINER_WELLKNOWN_DIR, RenderContext
from wizard.bundle.proxy_sites import HSTS_VALUE
from wizard.units import MIB
from wizard.verify.proxy_checks import (
    HTTP2_DIRECTIVE_SINCE,
    caddy_validate,
    check_traefik,
    find_traefik,
    nginx_test,
    nginx_version,
)

pytestmark = pytest.mark.integration

HOSTS = ["matrix.example.com", "example.com"]
TLS_MODES = ["acme", "files", "external"]
# A room ID, a slash, a hash, a question mark, a percent, a semicolon and a backslash, encoded.
ENCODED_PATH = (
    "/_matrix/client/v3/rooms/%21room%3Aexample.com/state/m.room.name/a%2Fb%23c%3Fd%25e%3Bf%5Cg"
)
NOT_ROUTED = ("/_synapse/admin/v1/users", "/_synapse/metrics", "/metrics", "/_dendrite/x", "/")


def _traefik_program() -> str:
    return find_traefik() or require_program("traefik")


def _write_bundle(tmp_path: Path, proxy_kind: str, tls: str, **sets: Any) -> RenderContext:
    """Render the proxy and discovery files (natively unless told) into tmp_path/install."""
    return _write_context(context_for(_bundle_answers(tmp_path, proxy_kind, tls, **sets)))


def _bundle_answers(tmp_path: Path, proxy_kind: str, tls: str, **sets: Any) -> Answers:
    """Return answers installing into tmp_path (natively unless told), with a certificate there."""
    sets.setdefault("deployment__kind", "native")
    if tls == "files":
        cert, key = self_signed(tmp_path, HOSTS)
        sets |= {"proxy__cert_path": str(cert), "proxy__key_path": str(key)}
    return answers_for(
        proxy=proxy_kind,
        proxy__tls=tls,
        deployment__install_dir=str(tmp_path / "install"),
        deployment__data_dir=str(tmp_path / "data"),
        **sets,
    )


def _write_context(ctx: RenderContext) -> RenderContext:
    """Write the context's proxy and discovery files and the certificate copies; return it."""
    for renderer in (proxy.render, discovery.render):
        for relative, file in renderer(ctx).items():
            target = Path(ctx.install_dir) / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(file.text, encoding="utf-8")
    place_certificate_copy(ctx)
    return ctx


def place_certificate_copy(ctx: RenderContext) -> None:
    """Copy the certificate files where a native Caddy or Traefik reads them, as apply.sh does."""
    copies, files = certificates.proxy_copy_dir(ctx), certificates.host_certificate_files(ctx)
    if copies is None or files is None:
        return
    Path(copies).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(files.chain, f"{copies}/fullchain.pem")
    shutil.copyfile(files.key, f"{copies}/privkey.pem")


def _installed(ctx: RenderContext, relative: str) -> Path:
    return Path(ctx.install_dir) / relative


# --- nginx -t --------------------------------------------------------------------------------


@pytest.mark.parametrize("tls", TLS_MODES)
@pytest.mark.parametrize("delegation", ["well-known", "srv"])
def test_nginx_accepts_the_rendered_config(tmp_path: Path, tls: str, delegation: str) -> None:
    program = require_program("nginx")
    prefix = {}
    if tls == "acme":  # certbot's files, under a staging prefix so nothing outside tmp is used
        prefix = {"deployment__prefix": str(tmp_path / "root")}
    ctx = _write_bundle(tmp_path, "nginx", tls, domain__delegation=delegation, **prefix)
    if tls == "acme":
        live = Path(nginx.letsencrypt_host_dir(ctx)) / "live" / nginx.certificate_name(ctx)
        live.mkdir(parents=True)
        cert, key = self_signed(live, nginx.certbot_domains(ctx))
        cert.rename(live / "fullchain.pem")
        key.rename(live / "privkey.pem")
    ok, message = nginx_test(_installed(ctx, nginx.BUNDLE_PATH), program)
    assert ok, message
    assert "test is successful" in message
    assert "stood in" not in message  # the real certificate files were read


@pytest.mark.parametrize("homeserver", ["dendrite", "conduit", "continuwuity", "tuwunel"])
def test_nginx_accepts_the_config_for_other_homeservers_under_compose(
    tmp_path: Path, homeserver: str
) -> None:
    program = require_program("nginx")
    require_program("openssl")
    ctx = context_for(answers_for(homeserver=homeserver))
    conf = tmp_path / "matrix.conf"
    conf.write_text(nginx.render(ctx)[nginx.BUNDLE_PATH].text, encoding="utf-8")
    ok, message = nginx_test(conf, program)
    assert ok, message
    assert "pointed at 127.0.0.1" in message  # compose service names resolve only in compose
    # The compose image is nginx 1.28 and the config says `http2 on;`; this machine's nginx may
    # be older (Debian 12: 1.22), and then checks it as `listen ... ssl http2;`: what 1.28 does
    # with the directive itself is not proven here.
    version = nginx_version(program)
    assert version is not None
    if version < HTTP2_DIRECTIVE_SINCE:
        assert "`http2 on;` (nginx 1.25.1 and later) was checked as" in message
    assert "stood in" in message  # certbot has not run here


def test_nginx_rejects_a_broken_config(tmp_path: Path) -> None:
    program = require_program("nginx")
    ctx = _write_bundle(tmp_path, "nginx", "external")
    conf = _installed(ctx, nginx.BUNDLE_PATH)
    broken = conf.read_text().replace("proxy_pass http://matrix_homeserver;", "proxy_pass;", 1)
    conf.write_text(broken)
    ok, message = nginx_test(conf, program)
    assert not ok
    assert str(conf) in message


# --- caddy validate --------------------------------------------------------------------------


@pytest.mark.parametrize("tls", TLS_MODES)
@pytest.mark.parametrize("delegation", ["well-known", "srv"])
def test_caddy_accepts_the_rendered_caddyfile(tmp_path: Path, tls: str, delegation: str) -> None:
    program = require_program("caddy")
    ctx = _write_bundle(tmp_path, "caddy", tls, domain__delegation=delegation)
    ok, message = caddy_validate(_installed(ctx, caddy.BUNDLE_PATH), program)
    assert ok, message
    assert "Valid configuration" in message
    assert "stood in" not in message


def test_caddy_rejects_a_broken_caddyfile(tmp_path: Path) -> None:
    program = require_program("caddy")
    ctx = _write_bundle(tmp_path, "caddy", "acme")
    path = _installed(ctx, caddy.BUNDLE_PATH)
    path.write_text(path.read_text().replace("\t\treverse_proxy ", "\t\treverse_proxi ", 1))
    ok, message = caddy_validate(path, program)
    assert not ok
    assert "reverse_proxi" in message


# --- Traefik, started and read back through its API -----------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("tls", TLS_MODES)
@pytest.mark.parametrize("delegation", ["well-known", "srv"])
def test_traefik_loads_every_router_enabled(tmp_path: Path, tls: str, delegation: str) -> None:
    ctx = _write_bundle(tmp_path, "traefik", tls, domain__delegation=delegation)
    problems = check_traefik(
        _installed(ctx, traefik.STATIC_PATH),
        _installed(ctx, traefik.DYNAMIC_PATH),
        _traefik_program(),
    )
    assert problems == []


@pytest.mark.slow
def test_traefik_check_reports_a_broken_rule(tmp_path: Path) -> None:
    ctx = _write_bundle(tmp_path, "traefik", "files")
    dynamic = _installed(ctx, traefik.DYNAMIC_PATH)
    data = yaml.safe_load(dynamic.read_text())
    data["http"]["routers"]["homeserver-matrix"]["rule"] = "Host(`matrix.example.com`) && Path("
    dynamic.write_text(yaml.safe_dump(data))
    problems = check_traefik(_installed(ctx, traefik.STATIC_PATH), dynamic, _traefik_program())
    assert any("homeserver-matrix" in problem and "disabled" in problem for problem in problems)


@pytest.mark.slow
def test_traefik_check_reports_a_middleware_it_cannot_load(tmp_path: Path) -> None:
    ctx = _write_bundle(tmp_path, "traefik", "external")
    dynamic = _installed(ctx, traefik.DYNAMIC_PATH)
    data = yaml.safe_load(dynamic.read_text())
    data["http"]["routers"]["homeserver-matrix"]["middlewares"] = ["no-such-middleware"]
    dynamic.write_text(yaml.safe_dump(data))
    problems = check_traefik(_installed(ctx, traefik.STATIC_PATH), dynamic, _traefik_program())
    assert any("no-such-middleware" in problem for problem in problems)


# --- Synapse workers: each proxy's own checker accepts the worker routes --------------------


@pytest.mark.parametrize("deployment", ["native", "compose"])
@pytest.mark.parametrize(
    "proxy_kind", ["nginx", "caddy", pytest.param("traefik", marks=pytest.mark.slow)]
)
def test_each_proxy_accepts_the_worker_routes(
    tmp_path: Path, proxy_kind: str, deployment: str
) -> None:
    """Four sync workers, two client and two federation readers: the routes the test renders."""
    answers = _bundle_answers(
        tmp_path,
        proxy_kind,
        "files",
        deployment__kind=deployment,
        database="postgresql",
        homeserver__workers=True,
    )
    ctx = _write_context(context_for(answers, facts_with(ram_gib=32, cores=16)))
    assert len(worker_routes.routes(ctx)) == len(worker_routes.ROUTE_TABLE)
    if proxy_kind == "nginx":
        conf = _installed(ctx, nginx.BUNDLE_PATH)
        assert "matrix_worker_sync" in conf.read_text()
        ok, message = nginx_test(conf, require_program("nginx"))
        assert ok, message
    elif proxy_kind == "caddy":
        caddyfile = _installed(ctx, caddy.BUNDLE_PATH)
        assert "@worker_sync" in caddyfile.read_text()
        ok, message = caddy_validate(caddyfile, require_program("caddy"))
        assert ok, message
    else:
        dynamic = _installed(ctx, traefik.DYNAMIC_PATH)
        assert "homeserver-matrix-worker-sync-4" in dynamic.read_text()
        static = _installed(ctx, traefik.STATIC_PATH)
        assert check_traefik(static, dynamic, _traefik_program()) == []


# --- the proxies running: encoded paths, 404s, well-known and the body limit -----------------


def _ports_for_run() -> dict[str, int]:
    return {
        "deployment__ports__http": free_port(),
        "deployment__ports__https": free_port(),
        "deployment__ports__federation": free_port(),
        "deployment__ports__homeserver": free_port(),
        "media__max_upload_mb": 1,
    }


def _assert_behaviour(ctx: RenderContext, seen: list[Seen], over_limit: set[int]) -> None:
    https, federation = ctx.ports.https, ctx.ports.federation
    reply = send(https, "matrix.example.com", ENCODED_PATH)
    assert reply.status == 200
    assert reply.headers["strict-transport-security"] == HSTS_VALUE
    assert seen[-1].path == ENCODED_PATH  # reached the homeserver byte for byte
    assert send(federation, "matrix.example.com", "/_matrix/federation/v1/version").status == 200
    for path in NOT_ROUTED:
        before = len(seen)
        assert send(https, "matrix.example.com", path).status == 404, path
        assert len(seen) == before, path
    client = send(https, "example.com", "/.well-known/matrix/client")
    assert client.status == 200
    assert client.headers["content-type"].startswith("application/json")
    assert client.headers["access-control-allow-origin"] == "*"
    assert client.headers["strict-transport-security"] == HSTS_VALUE
    documents = discovery.wellknown_documents(ctx)
    assert json.loads(client.body) == documents["client"]
    server = send(https, "example.com", "/.well-known/matrix/server")
    assert json.loads(server.body) == documents["server"]
    assert send(https, "example.com", "/_synapse/admin/v1/users").status == 404
    limit = ctx.upload_limit_bytes
    upload = "/_matrix/media/v3/upload"
    assert send(https, "matrix.example.com", upload, body=b"x" * limit).status == 200
    assert seen[-1] == Seen(upload, limit)
    before = len(seen)
    too_big = send(https, "matrix.example.com", upload, body=b"x" * (limit + MIB))
    assert too_big.status in over_limit
    assert all(request.body_bytes <= limit for request in seen[before:])


def _nginx_on_loopback(ctx: RenderContext, tmp_path: Path) -> list[str]:
    """Copy the bundle's nginx site onto loopback ports; return the command that runs it."""
    site = _installed(ctx, nginx.BUNDLE_PATH).read_text()
    site = re.sub(r"listen (\d+)", r"listen 127.0.0.1:\1", site)
    site = re.sub(r"\n\s*listen \[::\][^\n]*", "", site)
    loopback = tmp_path / "loopback.conf"
    loopback.write_text(site)
    return nginx_command(tmp_path, loopback)


@pytest.mark.slow
def test_nginx_runs_the_rendered_config(tmp_path: Path) -> None:
    ctx = _write_bundle(tmp_path, "nginx", "files", **_ports_for_run())
    command = _nginx_on_loopback(ctx, tmp_path)
    log = tmp_path / "nginx.out"
    with recording_upstream(ctx.ports.homeserver) as seen, running(command, log) as process:
        wait_for_port(ctx.ports.https, process, log)
        _assert_behaviour(ctx, seen, over_limit={413})
        assert listening(process.pid) == set(proxy.public_ports(ctx))
        redirect = send(ctx.ports.http, "matrix.example.com", "/_matrix/x", tls=False)
        assert redirect.status == 301


@pytest.mark.slow
def test_nginx_serves_certbots_webroot_on_the_http_port(tmp_path: Path) -> None:
    """What certbot --webroot writes, the running nginx answers on HTTP (renewals need that)."""
    staged = {"deployment__prefix": str(tmp_path / "root")}
    ctx = _write_bundle(tmp_path, "nginx", "acme", **staged, **_ports_for_run())
    live = Path(nginx.letsencrypt_host_dir(ctx)) / "live" / nginx.certificate_name(ctx)
    live.mkdir(parents=True)
    cert, key = self_signed(live, nginx.certbot_domains(ctx))
    cert.rename(live / "fullchain.pem")
    key.rename(live / "privkey.pem")
    challenges = Path(layout.acme_webroot_dir(ctx)) / ".well-known" / "acme-challenge"
    challenges.mkdir(parents=True)
    (challenges / "token-1").write_text("token-1.thumbprint")
    log = tmp_path / "nginx.out"
    with running(_nginx_on_loopback(ctx, tmp_path), log) as process:
        wait_for_port(ctx.ports.http, process, log)
        for host in nginx.certbot_domains(ctx):
            reply = send(ctx.ports.http, host, "/.well-known/acme-challenge/token-1", tls=False)
            assert (reply.status, reply.body) == (200, b"token-1.thumbprint"), host
        assert send(ctx.ports.http, "example.com", "/x", tls=False).status == 301


@pytest.mark.slow
def test_caddy_runs_the_rendered_caddyfile(tmp_path: Path) -> None:
    ctx = _write_bundle(tmp_path, "caddy", "files", **_ports_for_run())
    command, environment = caddy_command(tmp_path, caddy.render_caddyfile(ctx, admin="off"))
    log = tmp_path / "caddy.out"
    with (
        recording_upstream(ctx.ports.homeserver) as seen,
        running(command, log, environment) as process,
    ):
        wait_for_port(ctx.ports.https, process, log)
        # Caddy 2.6 cuts the body off at the limit and answers 502; later releases answer 413.
        _assert_behaviour(ctx, seen, over_limit={413, 502})
        assert listening(process.pid) == set(proxy.public_ports(ctx))


def _traefik_on_loopback(ctx: RenderContext, tmp_path: Path, wellknown_url: str) -> list[str]:
    """Copy the bundle's Traefik files with loopback addresses; return the command to run it."""
    static = yaml.safe_load(_installed(ctx, traefik.STATIC_PATH).read_text())
    dynamic = yaml.safe_load(_installed(ctx, traefik.DYNAMIC_PATH).read_text())
    for entry in static["entryPoints"].values():
        entry["address"] = "127.0.0.1" + entry["address"]
    dynamic_copy = tmp_path / "dynamic.yml"
    static["providers"]["file"] = {"filename": str(dynamic_copy)}
    static_copy = tmp_path / "traefik.yml"
    static_copy.write_text(yaml.safe_dump(static))
    services = dynamic["http"]["services"]
    assert services["wellknown"]["loadBalancer"]["servers"] == [{"url": traefik.wellknown_url(ctx)}]
    services["wellknown"]["loadBalancer"]["servers"] = [{"url": wellknown_url}]
    upstream = f"http://127.0.0.1:{ctx.ports.homeserver}"
    services["homeserver"]["loadBalancer"]["servers"] = [{"url": upstream}]
    dynamic_copy.write_text(yaml.safe_dump(dynamic))
    return [_traefik_program(), f"--configFile={static_copy}"]


@pytest.mark.slow
def test_traefik_runs_the_rendered_config(tmp_path: Path) -> None:
    ports = _ports_for_run() | {"deployment__ports__wellknown": free_port()}
    ctx = _write_bundle(tmp_path, "traefik", "files", **ports)
    wellknown = systemd.wellknown_argv(ctx)  # the bundle's own unit serves the well-known folder
    command = _traefik_on_loopback(ctx, tmp_path, traefik.wellknown_url(ctx))
    log = tmp_path / "traefik.out"
    with (
        running(wellknown, tmp_path / "wellknown.out") as server,
        recording_upstream(ctx.ports.homeserver) as seen,
        running(command, log) as process,
    ):
        wait_for_port(ctx.ports.wellknown, server, tmp_path / "wellknown.out")
        wait_for_port(ctx.ports.https, process, log)
        _wait_for_routes(ctx, log)
        _assert_behaviour(ctx, seen, over_limit={413})
        assert listening(process.pid) == set(proxy.public_ports(ctx))


@contextlib.contextmanager
def _proxy_running(kind: str, ctx: RenderContext, tmp_path: Path) -> Iterator[list[Seen]]:
    """Run the bundle's proxy on loopback in front of a recording upstream, once it routes."""
    log = tmp_path / f"{kind}.out"
    with contextlib.ExitStack() as stack:
        seen = stack.enter_context(recording_upstream(ctx.ports.homeserver))
        environment = None
        if kind == "nginx":
            command = _nginx_on_loopback(ctx, tmp_path)
        elif kind == "caddy":
            command, environment = caddy_command(tmp_path, caddy.render_caddyfile(ctx, admin="off"))
        else:
            served = tmp_path / "wellknown.out"
            server = stack.enter_context(running(systemd.wellknown_argv(ctx), served))
            wait_for_port(ctx.ports.wellknown, server, served)
            command = _traefik_on_loopback(ctx, tmp_path, traefik.wellknown_url(ctx))
        process = stack.enter_context(running(command, log, environment))
        wait_for_port(ctx.ports.https, process, log)
        if kind == "traefik":
            _wait_for_routes(ctx, log)
        yield seen


@pytest.mark.slow
@pytest.mark.parametrize("proxy_kind", ["nginx", "caddy", "traefik"])
@pytest.mark.parametrize(
    ("homeserver", "route", "other"),
    [
        ("continuwuity", "/_continuwuity/", "/_tuwunel/"),
        ("tuwunel", "/_tuwunel/", "/_continuwuity/"),
    ],
)
def test_a_successors_own_route_reaches_it_and_nothing_else_does(
    tmp_path: Path, proxy_kind: str, homeserver: str, route: str, other: str
) -> None:
    """The proxies, run for real, pass /_continuwuity/ or /_tuwunel/ on and refuse the rest."""
    ports = _ports_for_run() | {"deployment__ports__wellknown": free_port()}
    ctx = _write_bundle(tmp_path, proxy_kind, "files", homeserver=homeserver, **ports)
    with _proxy_running(proxy_kind, ctx, tmp_path) as seen:
        version = f"{route}server_version"
        assert send(ctx.ports.https, "matrix.example.com", version).status == 200
        assert seen[-1].path == version
        before = len(seen)
        for path in (*NOT_ROUTED, f"{other}server_version", "/_synapse/client/x"):
            assert send(ctx.ports.https, "matrix.example.com", path).status == 404, path
        assert send(ctx.ports.https, "example.com", version).status == 404
        assert len(seen) == before


def _compose_wellknown_nginx(ctx: RenderContext, tmp_path: Path, port: int) -> list[str]:
    """Run the compose bundle's own well-known nginx config on loopback, as the image would.

    The nginx image's main config includes mime.types and sets default_type
    application/octet-stream around conf.d/; that main config is reproduced here. The image's
    nginx is 1.28 and this machine's 1.22: the site uses nothing that differs between them.
    """
    site = compose.render(ctx)[compose.WELLKNOWN_CONF].text
    assert "listen 80;" in site
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};")
    site = site.replace(CONTAINER_WELLKNOWN_DIR, f"{ctx.install_dir}/well-known")
    loopback = tmp_path / "wellknown.conf"
    loopback.write_text(site)
    return nginx_command(tmp_path, loopback, as_the_image=True)


@pytest.mark.slow
def test_traefik_serves_wellknown_from_the_compose_bundles_own_server(tmp_path: Path) -> None:
    """Under compose, the bundle's dynamic.yml in front of the bundle's wellknown nginx.

    Proven: Traefik's routers, middlewares and the nginx site of the `wellknown` service, both
    the real programs, answer /.well-known/matrix/* with the documents, JSON and CORS. Not
    proven here: the containers and their network (`http://wellknown:80` is pointed at
    loopback), which the compose tests cover.
    """
    ctx = _write_bundle(
        tmp_path, "traefik", "files", deployment__kind="compose", **_ports_for_run()
    )
    wellknown_port = free_port()
    nginx_command = _compose_wellknown_nginx(ctx, tmp_path, wellknown_port)
    command = _traefik_on_loopback(ctx, tmp_path, f"http://127.0.0.1:{wellknown_port}")
    log = tmp_path / "traefik.out"
    with (
        running(nginx_command, tmp_path / "nginx.out") as server,
        recording_upstream(ctx.ports.homeserver),
        running(command, log) as process,
    ):
        wait_for_port(wellknown_port, server, tmp_path / "nginx.out")
        wait_for_port(ctx.ports.https, process, log)
        _wait_for_routes(ctx, log)
        documents = discovery.wellknown_documents(ctx)
        assert set(documents) == {"server", "client"}
        for name, document in documents.items():
            reply = send(ctx.ports.https, "example.com", f"/.well-known/matrix/{name}")
            assert reply.status == 200, name
            assert json.loads(reply.body) == document
            assert reply.headers["content-type"].startswith("application/json")
            assert reply.headers["access-control-allow-origin"] == "*"
        assert send(ctx.ports.https, "example.com", "/.well-known/other").status == 404


def _wait_for_routes(ctx: RenderContext, log: Path) -> None:
    """Wait until Traefik has loaded the file provider's routes (it listens before that)."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        try:
            if send(ctx.ports.https, "matrix.example.com", "/_matrix/key/v2/server").status == 200:
                return
        except OSError:  # TLS is refused until the routes and certificates are loaded
            pass
        time.sleep(0.1)
    raise AssertionError(f"Traefik never routed the homeserver: {log.read_text()[-2000:]}")
