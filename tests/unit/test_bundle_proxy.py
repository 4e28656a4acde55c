"""nginx, Caddy and Traefik files: routes, limits, TLS and ports, read back from the text."""

import re
from typing import Any

import pytest
import yaml

from tests.bundle_support import HOMESERVERS, answers_for, context_for, facts_with
from wizard.answers.model import AnswersError
from wizard.bundle import caddy, layout, nginx, proxy, traefik, worker_routes
from wizard.bundle.context import RenderContext
from wizard.bundle.proxy_sites import sites
from wizard.errors import WizardError
from wizard.units import MIB

PROXIES = ("nginx", "caddy", "traefik")
FORBIDDEN = ("/_synapse/admin", "/_synapse/metrics", "/_dendrite", "/metrics")


def _ctx(proxy_kind: str = "nginx", **sets: Any) -> RenderContext:
    return context_for(answers_for(proxy=proxy_kind, **sets))


def _text(ctx: RenderContext) -> str:
    return "".join(file.text for file in proxy.render(ctx).values())


def _nginx_size(text: str) -> int:
    value = text.rstrip("M")
    return int(value) * MIB if text.endswith("M") else int(value)


def _server_blocks(conf: str) -> list[str]:
    """Return each top-level server { } block of an nginx file, brace-matched."""
    blocks = []
    for match in re.finditer(r"^server \{", conf, re.MULTILINE):
        depth, index = 0, match.start()
        while True:
            if conf[index] == "{":
                depth += 1
            elif conf[index] == "}":
                depth -= 1
                if depth == 0:
                    blocks.append(conf[match.start() : index + 1])
                    break
            index += 1
    return blocks


def _traefik(ctx: RenderContext) -> tuple[dict[str, Any], dict[str, Any]]:
    files = traefik.render(ctx)
    static = yaml.safe_load(files[traefik.STATIC_PATH].text)
    dynamic = yaml.safe_load(files[traefik.DYNAMIC_PATH].text)
    return static, dynamic


# --- every proxy -----------------------------------------------------------------------------


@pytest.mark.parametrize("proxy_kind", PROXIES)
@pytest.mark.parametrize("tls", ["acme", "files", "external"])
@pytest.mark.parametrize("delegation", ["well-known", "srv", "none"])
def test_rendering_is_deterministic_and_writes_only_the_chosen_proxy(
    proxy_kind: str, tls: str, delegation: str
) -> None:
    sets: dict[str, Any] = {"proxy__tls": tls, "domain__delegation": delegation}
    if tls == "files":
        sets |= {"proxy__cert_path": "/etc/ssl/matrix.pem", "proxy__key_path": "/etc/ssl/m.key"}
    first = proxy.render(_ctx(proxy_kind, **sets))
    second = proxy.render(_ctx(proxy_kind, **sets))
    assert first == second
    expected = {
        "nginx": {nginx.BUNDLE_PATH},
        "caddy": {caddy.BUNDLE_PATH},
        "traefik": {traefik.STATIC_PATH, traefik.DYNAMIC_PATH},
    }[proxy_kind]
    assert set(first) == expected


@pytest.mark.parametrize("proxy_kind", PROXIES)
@pytest.mark.parametrize("homeserver", HOMESERVERS)
def test_no_admin_or_metrics_route_anywhere(proxy_kind: str, homeserver: str) -> None:
    text = _text(_ctx(proxy_kind, homeserver=homeserver, monitoring__prometheus=True))
    for path in FORBIDDEN:
        assert path not in text


@pytest.mark.parametrize("proxy_kind", PROXIES)
def test_body_limit_below_the_upload_limit_is_impossible_to_generate(
    proxy_kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = _ctx(proxy_kind)
    too_small = property(lambda self: self.upload_limit_bytes - 1)
    monkeypatch.setattr(RenderContext, "proxy_body_limit_bytes", too_small)
    with pytest.raises(WizardError, match="impossible to generate"):
        proxy.render(ctx)


@pytest.mark.parametrize("proxy_kind", PROXIES)
@pytest.mark.parametrize(
    "field",
    [
        ("domain", "homeserver_host", "matrix.example.com;}"),
        ("domain", "homeserver_host", "matrix.example.com`) || Host(`evil.org"),
        ("domain", "server_name", "example.com; return 200;"),
        ("proxy", "cert_path", '/etc/ssl/x.pem";\n'),
    ],
)
def test_hostile_values_that_slip_past_the_answers_are_refused_by_the_renderer(
    proxy_kind: str, field: tuple[str, str, str]
) -> None:
    section_name, key, value = field
    answers = answers_for(
        proxy=proxy_kind,
        proxy__tls="files",
        proxy__cert_path="/etc/ssl/matrix.pem",
        proxy__key_path="/etc/ssl/matrix.key",
    )
    section = getattr(answers, section_name).model_copy(update={key: value})
    hostile = answers.model_copy(update={section_name: section})  # skips validation on purpose
    with pytest.raises(WizardError, match="refusing to write"):
        proxy.render(context_for(hostile))


@pytest.mark.parametrize(
    "sets",
    [
        {"server_name": "example.com;}"},
        {"server_name": "exa}mple.com"},
        {"domain__homeserver_host": "matrix.example.com;"},
        {"domain__homeserver_host": "matrix.example.com}"},
        {"proxy__cert_path": "/etc/ssl/a b;.pem", "proxy__tls": "files"},
        {"proxy__acme_email": "admin@example.com;}"},
    ],
)
def test_the_answers_validators_stop_hostile_values_first(sets: dict[str, Any]) -> None:
    with pytest.raises(AnswersError):
        answers_for(**sets)


@pytest.mark.parametrize("proxy_kind", PROXIES)
def test_public_ports_are_http_https_and_federation(proxy_kind: str) -> None:
    ports = proxy.public_ports(_ctx(proxy_kind))
    tcp = [port for port, protocol in ports if protocol == "tcp"]
    assert tcp == [80, 443, 8448]
    udp = [port for port, protocol in ports if protocol == "udp"]
    assert udp == ([443, 8448] if proxy_kind == "caddy" else [])


@pytest.mark.parametrize("proxy_kind", PROXIES)
def test_federation_on_443_opens_no_8448(proxy_kind: str) -> None:
    ports = proxy.public_ports(_ctx(proxy_kind, proxy__federation_port=443))
    assert 8448 not in {port for port, _ in ports}
    assert "8448" not in _text(_ctx(proxy_kind, proxy__federation_port=443))


@pytest.mark.parametrize("proxy_kind", PROXIES)
def test_tls_elsewhere_listens_on_plain_http_only(proxy_kind: str) -> None:
    ctx = _ctx(proxy_kind, proxy__tls="external", deployment__ports__http=8080)
    assert proxy.public_ports(ctx) == [(8080, "tcp")]


def test_public_ports_follow_the_configured_ports() -> None:
    ctx = _ctx(deployment__ports__https=8443, deployment__ports__federation=9448)
    assert proxy.public_ports(ctx) == [(80, "tcp"), (8443, "tcp"), (9448, "tcp")]


@pytest.mark.parametrize("tls", ["acme", "files", "external"])
@pytest.mark.parametrize("federation_port", [443, 8448])
def test_nginx_listens_on_exactly_the_public_ports(tls: str, federation_port: int) -> None:
    sets: dict[str, Any] = {"proxy__tls": tls, "proxy__federation_port": federation_port}
    if tls == "files":
        sets |= {"proxy__cert_path": "/etc/ssl/c.pem", "proxy__key_path": "/etc/ssl/k.pem"}
    ctx = _ctx(**sets)
    listened = {int(port) for port in re.findall(r"listen (\d+)", _text(ctx))}
    assert listened == {port for port, _ in proxy.public_ports(ctx)}


def test_proxy_kind_picks_the_renderer() -> None:
    assert "matrix_homeserver" in _text(_ctx("nginx"))
    assert "reverse_proxy" in _text(_ctx("caddy"))
    assert "entryPoints" in _text(_ctx("traefik"))


def test_container_mounts_hold_the_config_and_the_well_known_folder() -> None:
    for proxy_kind in PROXIES:
        mounts = proxy.container_mounts(_ctx(proxy_kind))
        hosts = [mount.host for mount in mounts]
        assert any(
            host.endswith(("/nginx/matrix.conf", "/caddy/Caddyfile", "/traefik.yml"))
            for host in hosts
        )
    nginx_mounts = proxy.container_mounts(_ctx("nginx"))
    assert ("/opt/matrix-wizard/well-known", "/srv/well-known") in {
        (mount.host, mount.container) for mount in nginx_mounts
    }
    assert all(mount.read_only for mount in nginx_mounts)


# --- nginx -----------------------------------------------------------------------------------


def test_nginx_routes_only_the_matrix_prefixes_and_answers_404_to_the_rest() -> None:
    conf = _text(_ctx())
    [_, homeserver, server_name] = _server_blocks(conf)
    assert re.findall(r"location \^~ \"([^\"]+)\"", homeserver) == [
        "/_matrix/",
        "/_synapse/client/",
    ]
    for block in (homeserver, server_name):
        assert re.search(r"location / \{\s+return 404;\s+\}", block)
    assert "/_synapse/client/" not in server_name


def test_nginx_dendrite_gets_only_matrix() -> None:
    conf = _text(_ctx(homeserver="dendrite"))
    assert "/_synapse/" not in conf
    assert 'location ^~ "/_matrix/"' in conf


@pytest.mark.parametrize(
    ("homeserver", "route"), [("continuwuity", "/_continuwuity/"), ("tuwunel", "/_tuwunel/")]
)
def test_each_proxy_routes_a_successors_own_pages_on_the_homeserver_host_only(
    homeserver: str, route: str
) -> None:
    # Their account pages and /server_version live beside /_matrix/ (facts 3.2, 3.3); the
    # server_name's site, which federation reaches under SRV delegation, needs /_matrix/ alone.
    sets = {"homeserver": homeserver, "domain__delegation": "srv"}
    [_, on_host, on_name] = _server_blocks(_text(_ctx(**sets)))
    assert re.findall(r"location \^~ \"([^\"]+)\"", on_host) == ["/_matrix/", route]
    assert re.findall(r"location \^~ \"([^\"]+)\"", on_name) == ["/_matrix/"]
    caddyfile = _text(_ctx("caddy", **sets))
    assert f"@matrix path /_matrix/* {route}*" in caddyfile
    assert caddyfile.count(route) == 1
    _, dynamic = _traefik(_ctx("traefik", **sets))
    rules = {name: router["rule"] for name, router in dynamic["http"]["routers"].items()}
    assert rules["homeserver-matrix"] == (
        f"Host(`matrix.example.com`) && (PathPrefix(`/_matrix/`) || PathPrefix(`{route}`))"
    )
    assert sum(route in rule for rule in rules.values()) == 1
    for other in ("/_synapse/", "/_continuwuity/", "/_tuwunel/"):
        if other != route:
            assert other not in _text(_ctx(**sets)) + caddyfile


def test_nginx_proxy_pass_has_no_uri_part_so_encoded_paths_pass_unchanged() -> None:
    conf = _text(_ctx())
    passes = re.findall(r"proxy_pass (\S+);", conf)
    assert passes and all(re.fullmatch(r"http://[a-z_]+", target) for target in passes)
    assert "rewrite" not in conf
    assert re.search(r"upstream matrix_homeserver \{\s+server synapse:8008;", conf)


def test_nginx_native_upstream_is_loopback() -> None:
    conf = _text(_ctx(deployment__kind="native", deployment__ports__homeserver=8018))
    assert "server 127.0.0.1:8018;" in conf
    assert "listen [::]:443 ssl http2;" in conf


def test_nginx_forwards_host_and_client_address_and_scheme() -> None:
    conf = _text(_ctx())
    assert "proxy_set_header Host $host;" in conf
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in conf


@pytest.mark.parametrize("upload_mb", [1, 50, 200, 4096])
def test_nginx_body_limit_is_at_least_the_upload_limit(upload_mb: int) -> None:
    ctx = _ctx(media__max_upload_mb=upload_mb)
    limits = re.findall(r"client_max_body_size (\w+);", _text(ctx))
    assert limits
    assert all(_nginx_size(limit) >= ctx.upload_limit_bytes for limit in limits)


def test_nginx_tls_is_1_2_and_1_3_with_http2_as_each_nginx_spells_it() -> None:
    conf = _text(_ctx())  # compose: the nginx 1.28 image, where `listen ... http2` is deprecated
    assert set(re.findall(r"ssl_protocols ([^;]+);", conf)) == {"TLSv1.2 TLSv1.3"}
    assert "listen 443 ssl;" in conf and "listen 8448 ssl;" in conf
    assert conf.count("http2 on;") == 2  # one a TLS server block
    native = _text(_ctx(deployment__kind="native"))  # Debian 12's nginx 1.22 lacks `http2 on;`
    assert "listen 443 ssl http2;" in native and "listen [::]:8448 ssl http2;" in native
    assert "http2 on;" not in native


@pytest.mark.parametrize("proxy_kind", ["nginx", "caddy", "traefik"])
def test_every_tls_site_sends_hsts_and_none_without_tls(proxy_kind: str) -> None:
    assert "Strict-Transport-Security" in _text(_ctx(proxy_kind)) or proxy_kind == "traefik"
    assert "Strict-Transport-Security" not in _text(_ctx(proxy_kind, proxy__tls="external"))
    if proxy_kind == "traefik":
        dynamic = traefik.dynamic_config(_ctx(proxy_kind))
        assert dynamic["http"]["middlewares"]["hsts"] == {"headers": {"stsSeconds": 63072000}}
        assert all(r["middlewares"][0] == "hsts" for r in dynamic["http"]["routers"].values())
        external = traefik.dynamic_config(_ctx(proxy_kind, proxy__tls="external"))
        assert "hsts" not in external["http"]["middlewares"]


def test_nginx_acme_uses_certbot_paths_and_serves_its_challenges() -> None:
    ctx = _ctx()
    conf = _text(ctx)
    live = "/etc/letsencrypt/live/matrix.example.com"
    assert f'ssl_certificate "{live}/fullchain.pem";' in conf
    assert f'ssl_certificate_key "{live}/privkey.pem";' in conf
    assert 'root "/var/www/acme";' in conf
    assert nginx.certbot_needed(ctx)
    assert nginx.certbot_domains(ctx) == ["matrix.example.com", "example.com"]
    assert nginx.certificate_name(ctx) == "matrix.example.com"


def test_nginx_answers_certbots_challenges_for_the_turn_host_it_renews_too() -> None:
    ctx = _ctx(calls__turn=True, calls__turn_host="turn.example.com")
    assert nginx.certbot_domains(ctx) == ["matrix.example.com", "example.com", "turn.example.com"]
    plain_http = _text(ctx).split("# Plain HTTP")[1].split("\n}\n")[0]
    assert "server_name matrix.example.com example.com turn.example.com;" in plain_http
    assert "location ^~ /.well-known/acme-challenge/" in plain_http


def test_nginx_acme_natively_reads_host_paths_under_the_prefix() -> None:
    ctx = _ctx(deployment__kind="native", deployment__prefix="/srv/stage")
    conf = _text(ctx)
    assert '"/srv/stage/etc/letsencrypt/live/matrix.example.com/fullchain.pem"' in conf
    assert f'root "{layout.acme_webroot_dir(ctx)}";' in conf
    assert layout.acme_webroot_dir(ctx).startswith("/srv/stage/")


def test_certbot_is_only_for_nginx_with_acme() -> None:
    assert not nginx.certbot_needed(_ctx("caddy"))
    assert not nginx.certbot_needed(_ctx(proxy__tls="external"))


def test_nginx_files_mode_uses_the_given_certificate() -> None:
    ctx = _ctx(
        proxy__tls="files", proxy__cert_path="/etc/ssl/c.pem", proxy__key_path="/etc/ssl/k.pem"
    )
    conf = _text(ctx)
    assert 'ssl_certificate "/etc/ssl/c.pem";' in conf
    assert 'ssl_certificate_key "/etc/ssl/k.pem";' in conf
    assert "acme-challenge" not in conf


def test_nginx_redirects_http_to_https_with_301() -> None:
    conf = _text(_ctx(deployment__ports__https=8443))
    assert "return 301 https://$host:8443$request_uri;" in conf


def test_nginx_behind_another_proxy_has_no_tls_and_trusts_its_scheme() -> None:
    conf = _text(_ctx(proxy__tls="external"))
    assert "ssl" not in conf
    assert "return 301" not in conf
    assert "proxy_set_header X-Forwarded-Proto https;" in conf
    assert "listen 80;" in conf


def test_nginx_serves_well_known_as_json_with_cors() -> None:
    conf = _text(_ctx())
    [_, _, server_name] = _server_blocks(conf)
    assert "server_name example.com;" in server_name
    assert 'alias "/srv/well-known/matrix/";' in server_name
    assert "default_type application/json;" in server_name
    assert 'add_header Access-Control-Allow-Origin "*" always;' in server_name


def test_nginx_srv_delegation_serves_federation_for_the_server_name() -> None:
    conf = _text(_ctx(domain__delegation="srv"))
    [_, homeserver, server_name] = _server_blocks(conf)
    assert "listen 8448" not in homeserver
    assert "listen 8448 ssl;" in server_name
    assert 'location ^~ "/_matrix/"' in server_name


def test_nginx_well_known_on_the_homeserver_host_when_it_is_the_server_name() -> None:
    conf = _text(_ctx(domain__homeserver_host="example.com", proxy__federation_port=443))
    [_, only] = _server_blocks(conf)
    assert "location ^~ /.well-known/matrix/" in only
    assert 'location ^~ "/_matrix/"' in only


def test_nginx_in_compose_listens_without_ipv6() -> None:
    assert "[::]" not in _text(_ctx(deployment__kind="compose"))


# --- Caddy -----------------------------------------------------------------------------------


def test_caddy_routes_only_the_matrix_prefixes_and_answers_404_to_the_rest() -> None:
    text = _text(_ctx("caddy"))
    assert "@matrix path /_matrix/* /_synapse/client/*" in text
    assert "reverse_proxy synapse:8008" in text
    assert text.count("respond 404") == len(sites(_ctx("caddy")))
    assert "uri " not in text and "rewrite" not in text  # the path is passed on as sent


def test_caddy_sites_and_federation_port() -> None:
    text = _text(_ctx("caddy"))
    assert "\nmatrix.example.com, matrix.example.com:8448 {" in text
    assert "\nexample.com {" in text


@pytest.mark.parametrize("upload_mb", [1, 50, 200])
def test_caddy_body_limit_is_at_least_the_upload_limit(upload_mb: int) -> None:
    ctx = _ctx("caddy", media__max_upload_mb=upload_mb)
    limits = [int(value) for value in re.findall(r"max_size (\d+)", _text(ctx))]
    assert limits and all(limit >= ctx.upload_limit_bytes for limit in limits)


def test_caddy_tls_modes() -> None:
    acme = _text(_ctx("caddy"))
    assert "\temail admin@example.com\n" in acme
    assert "protocols tls1.2 tls1.3" in acme
    files = _text(
        _ctx("caddy", proxy__tls="files", proxy__cert_path="/c/c.pem", proxy__key_path="/c/k.pem")
    )
    assert 'tls "/c/c.pem" "/c/k.pem" {' in files
    assert "email" not in files
    external = _text(_ctx("caddy", proxy__tls="external"))
    assert "\nhttp://matrix.example.com {" in external
    assert "auto_https off" in external
    assert "trusted_proxies private_ranges" in external
    assert "tls" not in external.replace("TLS", "")


def test_caddy_admin_api_stays_on_loopback_unless_overridden() -> None:
    ctx = _ctx("caddy")
    assert "\tadmin localhost:2019\n" in _text(ctx)
    assert "\tadmin off\n" in caddy.render_caddyfile(ctx, admin="off")
    with pytest.raises(WizardError):
        caddy.render_caddyfile(ctx, admin="0.0.0.0:2019 {")


def test_caddy_serves_well_known_files_as_json_with_cors() -> None:
    text = _text(_ctx("caddy"))
    assert "handle_path /.well-known/matrix/* {" in text
    assert 'root * "/srv/well-known/matrix"' in text
    assert "header Content-Type application/json" in text
    assert 'header Access-Control-Allow-Origin "*"' in text


# --- Traefik ---------------------------------------------------------------------------------


def test_traefik_static_config() -> None:
    static, _ = _traefik(_ctx("traefik"))
    assert static["global"] == {"checkNewVersion": False, "sendAnonymousUsage": False}
    assert "api" not in static
    assert static["providers"]["file"]["filename"] == "/etc/traefik/dynamic.yml"
    points = static["entryPoints"]
    assert {name: point["address"] for name, point in points.items()} == {
        "web": ":80",
        "websecure": ":443",
        "federation": ":8448",
    }
    assert points["web"]["http"]["redirections"]["entryPoint"]["to"] == "websecure"
    acme = static["certificatesResolvers"]["letsencrypt"]["acme"]
    assert acme["email"] == "admin@example.com"
    assert acme["httpChallenge"] == {"entryPoint": "web"}


def test_traefik_keeps_encoded_characters_on_every_matrix_entry_point() -> None:
    static, dynamic = _traefik(_ctx("traefik"))
    used = {
        point for router in dynamic["http"]["routers"].values() for point in router["entryPoints"]
    }
    for name in used:
        allowed = static["entryPoints"][name]["http"]["encodedCharacters"]
        for key in (
            "allowEncodedSlash",
            "allowEncodedHash",
            "allowEncodedPercent",
            "allowEncodedQuestionMark",
        ):
            assert allowed[key] is True
        assert (
            static["entryPoints"][name]["transport"]["respondingTimeouts"]["readTimeout"] != "60s"
        )


def test_traefik_routers_cover_only_the_matrix_prefixes_and_well_known() -> None:
    _, dynamic = _traefik(_ctx("traefik"))
    routers = dynamic["http"]["routers"]
    assert routers["homeserver-matrix"]["rule"] == (
        "Host(`matrix.example.com`) && (PathPrefix(`/_matrix/`) || PathPrefix(`/_synapse/client/`))"
    )
    assert routers["homeserver-matrix"]["entryPoints"] == ["websecure", "federation"]
    assert routers["server-name-wellknown"]["rule"] == (
        "Host(`example.com`) && (PathPrefix(`/.well-known/matrix/`))"
    )
    assert routers["server-name-wellknown"]["service"] == "wellknown"
    services = dynamic["http"]["services"]
    assert services["wellknown"]["loadBalancer"]["servers"] == [{"url": traefik.WELLKNOWN_URL}]
    assert services["homeserver"]["loadBalancer"]["servers"] == [{"url": "http://synapse:8008"}]


@pytest.mark.parametrize("upload_mb", [1, 50, 200])
def test_traefik_buffering_limit_is_at_least_the_upload_limit(upload_mb: int) -> None:
    ctx = _ctx("traefik", media__max_upload_mb=upload_mb)
    _, dynamic = _traefik(ctx)
    limit = dynamic["http"]["middlewares"]["matrix-body-limit"]["buffering"]["maxRequestBodyBytes"]
    assert limit >= ctx.upload_limit_bytes
    assert "matrix-body-limit" in dynamic["http"]["routers"]["homeserver-matrix"]["middlewares"]


def test_traefik_well_known_is_json_with_cors_and_stripped_of_its_prefix() -> None:
    _, dynamic = _traefik(_ctx("traefik"))
    middlewares = dynamic["http"]["middlewares"]
    headers = middlewares["wellknown-headers"]["headers"]["customResponseHeaders"]
    assert headers["Content-Type"] == "application/json"
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert middlewares["wellknown-strip"]["stripPrefix"]["prefixes"] == ["/.well-known"]


def test_traefik_tls_modes() -> None:
    _, dynamic = _traefik(_ctx("traefik"))
    assert dynamic["tls"]["options"]["default"]["minVersion"] == "VersionTLS12"
    assert all(
        r["tls"] == {"certResolver": "letsencrypt"} for r in dynamic["http"]["routers"].values()
    )
    static, dynamic = _traefik(
        _ctx("traefik", proxy__tls="files", proxy__cert_path="/c/c.pem", proxy__key_path="/c/k.pem")
    )
    assert "certificatesResolvers" not in static
    assert dynamic["tls"]["certificates"] == [{"certFile": "/c/c.pem", "keyFile": "/c/k.pem"}]
    assert all(r["tls"] == {} for r in dynamic["http"]["routers"].values())
    static, dynamic = _traefik(_ctx("traefik", proxy__tls="external"))
    assert list(static["entryPoints"]) == ["web"]
    assert "redirections" not in static["entryPoints"]["web"]["http"]
    assert "tls" not in dynamic
    assert all("tls" not in r for r in dynamic["http"]["routers"].values())


def test_traefik_native_paths_and_well_known_server() -> None:
    ctx = _ctx("traefik", deployment__kind="native")
    static, dynamic = _traefik(ctx)
    assert static["providers"]["file"]["filename"] == "/opt/matrix-wizard/traefik/dynamic.yml"
    acme = static["certificatesResolvers"]["letsencrypt"]["acme"]
    assert acme["storage"] == "/var/lib/matrix-wizard/traefik/acme.json"
    assert dynamic["http"]["services"]["wellknown"]["loadBalancer"]["servers"] == [
        {"url": traefik.wellknown_url(ctx)}
    ]


# --- Synapse workers: every proxy sends each worker its paths --------------------------------

WORKERS: dict[str, Any] = {"homeserver__workers": True, "database": "postgresql"}


def _workers_ctx(proxy_kind: str, cores: int = 16, **sets: Any) -> RenderContext:
    answers = answers_for(proxy=proxy_kind, **WORKERS, **sets)
    return context_for(answers, facts_with(ram_gib=32, cores=cores))


def _braced(text: str, opener: str) -> str:
    """Return the block that opens with the first `opener ... {`, brace-matched."""
    start = text.index(opener)
    depth, index = 0, text.index("{", start)
    while True:
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return text[start : index + 1]
        index += 1


@pytest.mark.parametrize("proxy_kind", PROXIES)
def test_without_workers_no_proxy_routes_to_one(proxy_kind: str) -> None:
    text = _text(_ctx(proxy_kind, database="postgresql"))
    assert "worker" not in text.lower()
    assert "8102" not in text


def test_nginx_gives_each_route_an_upstream_balanced_as_the_table_says() -> None:
    ctx = _workers_ctx("nginx", deployment__kind="native")
    conf = _text(ctx)
    for route in worker_routes.routes(ctx):
        upstream = _braced(conf, f"upstream matrix_worker_{route.name.replace('-', '_')} ")
        assert re.findall(r"server (\S+);", upstream) == list(route.upstreams)
        directive = nginx.BALANCING[route.balance][0]
        if directive:  # before keepalive, as nginx requires
            assert upstream.index(f"    {directive};\n") < upstream.index("keepalive")
        else:
            assert "hash" not in upstream, route.name
    assert "hash $matrix_access_token consistent;" in _braced(conf, "upstream matrix_worker_sync ")
    token_map = _braced(conf, "map $http_authorization $matrix_access_token")
    assert "default $arg_access_token;" in token_map
    assert '"~^Bearer (?<matrix_bearer_token>.+)$" $matrix_bearer_token;' in token_map
    assert "hash $remote_addr consistent;" in _braced(
        conf, "upstream matrix_worker_federation_send "
    )


def test_nginx_nests_the_worker_locations_in_matrix_so_they_keep_its_headers_and_limit() -> None:
    ctx = _workers_ctx("nginx")
    conf = _text(ctx)
    [_, homeserver, _] = _server_blocks(conf)
    matrix = _braced(homeserver, 'location ^~ "/_matrix/"')
    nested = re.findall(r'location ~ "([^"]+)" \{\s+proxy_pass http://(\w+);\s+\}', matrix)
    expected = [
        (pattern, f"matrix_worker_{served.route.name.replace('-', '_')}")
        for served in worker_routes.site_routes(ctx, sites(ctx)[0])
        for pattern in served.patterns
    ]
    assert nested == expected
    assert len(re.findall(r"location ~ ", conf)) == len(expected)  # nowhere else
    assert "proxy_set_header" not in matrix.split("# Synapse workers")[1]  # inherited
    assert matrix.index("client_max_body_size") < matrix.index("location ~ ")


def test_nginx_routes_federation_to_workers_only_where_other_servers_connect() -> None:
    conf = _text(_workers_ctx("nginx", domain__delegation="srv"))
    [_, homeserver, server_name] = _server_blocks(conf)
    assert "/_matrix/federation/" not in homeserver
    assert "matrix_worker_sync" in homeserver
    assert "matrix_worker_sync" not in server_name
    assert "matrix_worker_federation_send" in server_name


def test_caddy_sends_each_route_to_its_workers_before_the_main_process() -> None:
    ctx = _workers_ctx("caddy", deployment__kind="native")
    caddyfile = _text(ctx)
    matrix = _braced(caddyfile, "handle @matrix")
    for served in worker_routes.site_routes(ctx, sites(ctx)[0]):
        matcher = "@worker_" + served.route.name.replace("-", "_")
        assert f'{matcher} path_regexp "{served.regex}"' in matrix
        handle = _braced(matrix, f"handle {matcher} ")
        assert f"reverse_proxy {' '.join(served.route.upstreams)} {{" in handle
        for option in caddy.BALANCING[served.route.balance][0]:
            assert option in handle
        assert "header_up X-Real-IP {remote_host}" in handle
        assert matrix.index(handle) < matrix.index("\t\thandle {\n")
    sync = _braced(matrix, "handle @worker_sync ")
    assert "lb_policy header X-Matrix-Access-Token" in sync
    assert "header_up -X-Matrix-Access-Token" in sync
    assert "default {http.request.uri.query.access_token}" in sync
    assert "lb_policy ip_hash" in _braced(matrix, "handle @worker_federation_send ")
    assert matrix.index("max_size") < matrix.index("@worker_")


def test_caddy_behind_another_proxy_trusts_it_on_the_worker_routes_too() -> None:
    matrix = _braced(_text(_workers_ctx("caddy", proxy__tls="external")), "handle @matrix")
    assert matrix.count("trusted_proxies private_ranges") == matrix.count("reverse_proxy ")


def _worker_routers(dynamic: dict[str, Any]) -> dict[str, Any]:
    routers = dynamic["http"]["routers"]
    return {name: router for name, router in routers.items() if "-worker-" in name}


def test_traefik_worker_routers_outrank_the_catch_all_and_keep_its_middlewares() -> None:
    ctx = _workers_ctx("traefik", deployment__kind="native")
    _, dynamic = _traefik(ctx)
    catch_all = dynamic["http"]["routers"]["homeserver-matrix"]
    routers = _worker_routers(dynamic)
    assert routers
    for name, router in routers.items():
        for key in ("entryPoints", "middlewares", "tls"):
            assert router[key] == catch_all[key], (name, key)
        assert router["priority"] > len(catch_all["rule"])
        assert router["rule"].startswith("Host(`matrix.example.com`) && PathRegexp(`")
    services = dynamic["http"]["services"]
    for route in worker_routes.routes(ctx):
        if route.name == "sync":
            continue
        service = services[f"worker-{route.name}"]["loadBalancer"]
        assert service["servers"] == [{"url": f"http://{u}"} for u in route.upstreams]
    assert services["worker-federation-send"]["loadBalancer"]["strategy"] == "hrw"
    assert "strategy" not in services["worker-federation-reader"]["loadBalancer"]


def test_traefik_splits_sync_by_the_tokens_last_character_with_the_first_as_fallback() -> None:
    ctx = _workers_ctx("traefik", deployment__kind="native")
    _, dynamic = _traefik(ctx)
    sync = next(route for route in worker_routes.routes(ctx) if route.name == "sync")
    routers = {
        name: router
        for name, router in _worker_routers(dynamic).items()
        if name.startswith("homeserver-matrix-worker-sync")
    }
    fallback = routers.pop("homeserver-matrix-worker-sync")
    assert fallback["service"] == "worker-sync-1"
    assert len(routers) == len(sync.upstreams) == 4
    services = dynamic["http"]["services"]
    taken: list[str] = []
    for part, (name, router) in enumerate(sorted(routers.items()), start=1):
        assert name == f"homeserver-matrix-worker-sync-{part}"
        assert router["priority"] > fallback["priority"]
        assert router["service"] == f"worker-sync-{part}"
        assert services[router["service"]]["loadBalancer"]["servers"] == [
            {"url": f"http://{sync.upstreams[part - 1]}"}
        ]
        header, query = re.findall(r"`(\^Bearer \.\*\[[^`]+\]\$|\[[^`]+\]\$)`", router["rule"])
        assert header == f"^Bearer .*{query}"
        taken += [c for c in traefik.TOKEN_ALPHABET if re.fullmatch(query, c)]
    assert sorted(taken) == sorted(traefik.TOKEN_ALPHABET)  # each character to one worker


def test_traefik_with_one_sync_worker_needs_no_split() -> None:
    _, dynamic = _traefik(_workers_ctx("traefik", cores=2))
    sync = {n: r for n, r in _worker_routers(dynamic).items() if "worker-sync" in n}
    assert list(sync) == ["homeserver-matrix-worker-sync"]
    assert "HeaderRegexp" not in sync["homeserver-matrix-worker-sync"]["rule"]
    assert sync["homeserver-matrix-worker-sync"]["service"] == "worker-sync"


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7])
def test_the_token_classes_split_the_alphabet_about_evenly(count: int) -> None:
    classes = traefik.token_classes(count)
    sizes = [sum(1 for c in traefik.TOKEN_ALPHABET if re.fullmatch(cls, c)) for cls in classes]
    assert sum(sizes) == len(traefik.TOKEN_ALPHABET)
    assert max(sizes) - min(sizes) <= 1
