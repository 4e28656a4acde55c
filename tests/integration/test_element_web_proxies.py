"""The bundle's Element Web host, served by the real nginx, Caddy and Traefik on loopback.

Element Web itself is not served: its files are in no registry this project reaches (npm has
no element-web package, Debian none either). A stand-in index.html, version file and one
static asset take the place of the release natively; under compose a loopback server takes the
place of the `element-web` container, serving the same stand-ins and the bundle's config.json
as the image serves /app/config.json, and sending headers of its own that the proxy must
replace. Proven with the real programs: the bundle's real config.json comes back as JSON with
this server's base_url and server_name; every answer carries Element Web's security headers
and HSTS; index.html, / , version and config.json say no-cache while other files may be cached;
TLS on the Element host presents a certificate that covers its name. Not proven: Element Web's
own JavaScript reading config.json, and the official image's nginx.
"""

import json
import shutil
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.bundle_support import answers_for, context_for
from tests.conftest import require_program
from tests.integration.proxy_runtime import (
    READY_TIMEOUT,
    Reply,
    _SniConnection,
    caddy_command,
    free_port,
    nginx_command,
    running,
    self_signed,
    send,
    serving,
    wait_for_port,
)
from wizard.bundle import caddy, certificates, element_web, nginx, traefik, versions
from wizard.bundle.context import RenderContext
from wizard.bundle.proxy_sites import HSTS_VALUE
from wizard.verify import doctor
from wizard.verify.proxy_checks import caddy_validate, check_traefik, find_traefik, nginx_test

pytestmark = pytest.mark.integration

ELEMENT = "element.example.com"
HOSTS = ["matrix.example.com", "example.com", ELEMENT]
INDEX = b"<!doctype html><title>stand-in for Element Web's index.html</title>\n"
ASSET = "/bundles/0123abcd/app.js"
# What the stand-in container sends that the proxy must replace (the image's nginx sets some).
UPSTREAM_HEADERS = {"X-Frame-Options": "DENY", "Cache-Control": "max-age=3600"}


def _context(tmp_path: Path, proxy: str, deployment: str) -> RenderContext:
    """Return answers serving Element Web on loopback ports, with a certificate for every host."""
    cert, key = self_signed(tmp_path, HOSTS)
    answers = answers_for(
        proxy=proxy,
        proxy__tls="files",
        proxy__cert_path=str(cert),
        proxy__key_path=str(key),
        domain__element_host=ELEMENT,
        deployment__kind=deployment,
        deployment__install_dir=str(tmp_path / "install"),
        deployment__data_dir=str(tmp_path / "data"),
        deployment__ports__http=free_port(),
        deployment__ports__https=free_port(),
        deployment__ports__federation=free_port(),
        deployment__ports__homeserver=free_port(),
        deployment__ports__wellknown=free_port(),
    )
    ctx = context_for(answers)
    config = Path(element_web.config_host_path(ctx))
    config.parent.mkdir(parents=True)
    config.write_text(element_web.render(ctx)[element_web.CONFIG_FILE].text)
    if certificates.proxy_copy_dir(ctx) is not None:  # as apply.sh copies them for Caddy
        _certificate_copy(ctx)
    return ctx


def _stand_in_release(folder: Path) -> Path:
    """Write the stand-in files of a release into folder, as apply.sh unpacks the real one."""
    (folder / Path(ASSET).parent.relative_to("/")).mkdir(parents=True)
    (folder / "index.html").write_bytes(INDEX)
    (folder / "version").write_text(f"v{versions.ELEMENT_WEB_VERSION}\n")
    (folder / ASSET.lstrip("/")).write_text("console.log('stand-in');\n")
    return folder


class _Container(SimpleHTTPRequestHandler):
    """Serves the stand-in release as the image would, with headers the proxy must replace."""

    def end_headers(self) -> None:
        for name, value in UPSTREAM_HEADERS.items():
            self.send_header(name, value)
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@contextmanager
def _container(ctx: RenderContext, tmp_path: Path) -> Iterator[int]:
    """Serve the compose layout's container target on loopback; yield its port."""
    root = _stand_in_release(tmp_path / "app")
    shutil.copyfile(element_web.config_host_path(ctx), root / "config.json")
    port = free_port()
    handler = partial(_Container, directory=str(root))
    with serving(ThreadingHTTPServer(("127.0.0.1", port), handler)):
        yield port


def _on_loopback(ctx: RenderContext, text: str, container_port: int | None) -> str:
    """Return a proxy file reaching the compose services on loopback instead of by name."""
    if container_port is not None:
        text = text.replace(element_web.upstream(), f"127.0.0.1:{container_port}")
        text = text.replace(ctx.homeserver_upstream, f"127.0.0.1:{ctx.ports.homeserver}")
    return text


def _nginx(ctx: RenderContext, tmp_path: Path, container_port: int | None) -> list[str]:
    site = _on_loopback(ctx, nginx.render_config(ctx), container_port)
    # The compose image's nginx 1.28 reads `http2 on;`, this machine's may be older: the test
    # speaks HTTP/1.1 either way.
    site = site.replace("    http2 on;\n", "").replace("    listen ", "    listen 127.0.0.1:")
    site = "\n".join(line for line in site.splitlines() if "listen 127.0.0.1:[::]" not in line)
    conf = tmp_path / "site.conf"
    conf.write_text(site)
    return nginx_command(tmp_path, conf, as_the_image=True)


def _traefik(ctx: RenderContext, tmp_path: Path, container_port: int) -> list[str]:
    static, dynamic = traefik.static_config(ctx), traefik.dynamic_config(ctx)
    for entry in static["entryPoints"].values():
        entry["address"] = "127.0.0.1" + entry["address"]
    dynamic_file = tmp_path / "dynamic.yml"
    static["providers"]["file"] = {"filename": str(dynamic_file)}
    service = dynamic["http"]["services"][element_web.SERVICE]["loadBalancer"]
    assert service["servers"] == [{"url": f"http://{element_web.upstream()}"}]
    service["servers"] = [{"url": f"http://127.0.0.1:{container_port}"}]
    dynamic_file.write_text(yaml.safe_dump(dynamic))
    static_file = tmp_path / "traefik.yml"
    static_file.write_text(yaml.safe_dump(static))
    return [find_traefik() or require_program("traefik"), f"--configFile={static_file}"]


def _wait_until_served(ctx: RenderContext, log: Path) -> None:
    """Wait until the proxy answers the Element host (Traefik loads its routes after listening)."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        try:
            if send(ctx.ports.https, ELEMENT, "/version").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"the Element host was never served: {log.read_text()[-2000:]}")


def _header_lines(port: int, path: str) -> list[tuple[str, str]]:
    """Return every header line of a GET to the Element host, repeated names kept apart."""
    connection = _SniConnection(port, ELEMENT)
    try:
        connection.request("GET", path, headers={"Host": ELEMENT})
        response = connection.getresponse()
        response.read()
        return [(name.lower(), value) for name, value in response.getheaders()]
    finally:
        connection.close()


def _assert_security_headers(reply: Reply, path: str, port: int) -> None:
    assert reply.status == 200, path
    for name, value in element_web.SECURITY_HEADERS.items():
        assert reply.headers[name.lower()] == value, (path, name)
    assert reply.headers["strict-transport-security"] == HSTS_VALUE, path
    names = [name for name, _ in _header_lines(port, path)]
    for name in [*element_web.SECURITY_HEADERS, "Cache-Control"]:
        assert names.count(name.lower()) <= 1, (path, name, "sent twice")


def _assert_element_web_served(ctx: RenderContext) -> None:
    port = ctx.ports.https
    config = send(port, ELEMENT, "/config.json")
    _assert_security_headers(config, "/config.json", port)
    assert config.headers["content-type"].startswith("application/json")
    assert config.headers["cache-control"] == "no-cache"
    document: dict[str, Any] = json.loads(config.body)
    assert document == element_web.config_document(ctx)
    homeserver = document["default_server_config"]["m.homeserver"]
    assert homeserver == {
        "base_url": f"https://matrix.example.com:{port}",
        "server_name": "example.com",
    }
    for path in ("/", "/index.html"):
        page = send(port, ELEMENT, path)
        _assert_security_headers(page, path, port)
        assert page.body == INDEX, path
        assert page.headers["cache-control"] == "no-cache", path
    version = send(port, ELEMENT, "/version")
    assert version.headers["cache-control"] == "no-cache"
    asset = send(port, ELEMENT, ASSET)
    _assert_security_headers(asset, ASSET, port)
    assert asset.headers.get("cache-control") != "no-cache"  # hashed files may be cached
    assert send(port, ELEMENT, "/config.element.example.com.json").status == 404
    _assert_certificate_covers_the_element_host(ctx)


def _assert_certificate_covers_the_element_host(ctx: RenderContext) -> None:
    """Complete a TLS handshake that checks the certificate against the Element host's name."""
    files = certificates.host_certificate_files(ctx)
    assert files is not None
    context = ssl.create_default_context(cafile=files.chain)
    with (
        socket.create_connection(("127.0.0.1", ctx.ports.https), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=ELEMENT) as tls,
    ):
        assert tls.version() in ("TLSv1.2", "TLSv1.3")


@pytest.mark.parametrize("deployment", ["native", "compose"])
def test_nginx_serves_element_web_with_its_headers(tmp_path: Path, deployment: str) -> None:
    require_program("nginx")
    ctx = _context(tmp_path, "nginx", deployment)
    log = tmp_path / "nginx.out"
    with ExitStack() as stack:
        container_port = None
        if deployment == "compose":
            container_port = stack.enter_context(_container(ctx, tmp_path))
        else:
            _stand_in_release(Path(element_web.web_root(ctx)))
        process = stack.enter_context(running(_nginx(ctx, tmp_path, container_port), log))
        wait_for_port(ctx.ports.https, process, log)
        _assert_element_web_served(ctx)


@pytest.mark.parametrize("deployment", ["native", "compose"])
def test_caddy_serves_element_web_with_its_headers(tmp_path: Path, deployment: str) -> None:
    ctx = _context(tmp_path, "caddy", deployment)
    log = tmp_path / "caddy.out"
    with ExitStack() as stack:
        container_port = None
        if deployment == "compose":
            container_port = stack.enter_context(_container(ctx, tmp_path))
        else:
            _stand_in_release(Path(element_web.web_root(ctx)))
        text = _on_loopback(ctx, caddy.render_caddyfile(ctx, admin="off"), container_port)
        command, environment = caddy_command(tmp_path, text)
        process = stack.enter_context(running(command, log, environment))
        wait_for_port(ctx.ports.https, process, log)
        _wait_until_served(ctx, log)
        _assert_element_web_served(ctx)


@pytest.mark.slow
def test_traefik_serves_the_compose_element_web_container_with_its_headers(
    tmp_path: Path,
) -> None:
    ctx = _context(tmp_path, "traefik", "compose")
    log = tmp_path / "traefik.out"
    with ExitStack() as stack:
        container_port = stack.enter_context(_container(ctx, tmp_path))
        process = stack.enter_context(running(_traefik(ctx, tmp_path, container_port), log))
        wait_for_port(ctx.ports.https, process, log)
        _wait_until_served(ctx, log)
        _assert_element_web_served(ctx)


def _checked_context(tmp_path: Path, proxy: str, deployment: str, tls: str) -> RenderContext:
    """Return answers with Element Web for the checkers, certificate files in tmp_path."""
    sets: dict[str, Any] = {}
    if tls == "files":
        cert, key = self_signed(tmp_path, HOSTS)
        sets = {"proxy__cert_path": str(cert), "proxy__key_path": str(key)}
    return context_for(
        answers_for(
            proxy=proxy,
            proxy__tls=tls,
            domain__element_host=ELEMENT,
            deployment__kind=deployment,
            deployment__install_dir=str(tmp_path / "install"),
            deployment__data_dir=str(tmp_path / "data"),
            **sets,
        )
    )


@pytest.mark.parametrize("tls", ["acme", "files", "external"])
@pytest.mark.parametrize("deployment", ["native", "compose"])
def test_nginx_and_caddy_checkers_accept_the_element_web_site(
    tmp_path: Path, deployment: str, tls: str
) -> None:
    ctx = _checked_context(tmp_path, "nginx", deployment, tls)
    conf = tmp_path / "matrix.conf"
    conf.write_text(nginx.render_config(ctx))
    ok, message = nginx_test(conf, require_program("nginx"))
    assert ok, message
    (tmp_path / "caddy").mkdir()
    ctx = _checked_context(tmp_path / "caddy", "caddy", deployment, tls)
    caddyfile = tmp_path / "Caddyfile"
    caddyfile.write_text(caddy.render_caddyfile(ctx))
    if certificates.proxy_copy_dir(ctx) is not None:
        _certificate_copy(ctx)
    ok, message = caddy_validate(caddyfile, require_program("caddy"))
    assert ok, message


def _certificate_copy(ctx: RenderContext) -> None:
    """Copy the certificate files where a native Caddy reads them, as apply.sh does."""
    copies, files = certificates.proxy_copy_dir(ctx), certificates.host_certificate_files(ctx)
    assert copies is not None and files is not None
    Path(copies).mkdir(parents=True)
    shutil.copyfile(files.chain, f"{copies}/fullchain.pem")
    shutil.copyfile(files.key, f"{copies}/privkey.pem")


@pytest.mark.slow
@pytest.mark.parametrize("tls", ["acme", "files", "external"])
def test_traefik_loads_the_element_web_routers_enabled(tmp_path: Path, tls: str) -> None:
    ctx = _checked_context(tmp_path, "traefik", "compose", tls)
    static, dynamic = tmp_path / "traefik.yml", tmp_path / "dynamic.yml"
    static.write_text(yaml.safe_dump(traefik.static_config(ctx)))
    dynamic.write_text(yaml.safe_dump(traefik.dynamic_config(ctx)))
    assert element_web.SERVICE in traefik.dynamic_config(ctx)["http"]["routers"]
    assert check_traefik(static, dynamic, find_traefik() or require_program("traefik")) == []


@pytest.mark.parametrize("headers_kept", [True, False])
def test_doctor_checks_element_web_through_the_real_nginx(
    tmp_path: Path, headers_kept: bool
) -> None:
    """`doctor`'s Element Web check, against the bundle's nginx and one that drops a header."""
    require_program("nginx")
    ctx = _context(tmp_path, "nginx", "native")
    _stand_in_release(Path(element_web.web_root(ctx)))
    command = _nginx(ctx, tmp_path, None)
    site = tmp_path / "site.conf"
    if not headers_kept:
        kept = [line for line in site.read_text().splitlines() if "X-Frame-Options" not in line]
        site.write_text("\n".join(kept) + "\n")
    files = certificates.host_certificate_files(ctx)
    assert files is not None
    target = doctor.target_for(ctx, None, "127.0.0.1", verify=True, ca_file=files.chain)
    log = tmp_path / "nginx.out"
    with running(command, log) as process:
        wait_for_port(ctx.ports.https, process, log)
        result = doctor.check_element_web(ctx, target)
        tls = doctor.check_tls(target, ELEMENT, ctx.ports.https)
    if headers_kept:
        assert result.status == "passed", result.reason
    else:
        assert result.status == "failed"
        assert "X-Frame-Options is missing, not SAMEORIGIN" in result.reason
    # The test certificate lasts two days: doctor reads its expiry only once the handshake
    # verified it for the Element host, so this is the one complaint left.
    assert tls.reason == "the certificate expires in 2 days: renew it now"
