"""nginx/matrix.conf: TLS, the Matrix routes, /.well-known/matrix, and 404 for all else."""

from wizard.answers.model import ProxyKind, TlsMode
from wizard.bundle import calls, certificates, element_web, layout, mas, matrix_rtc, worker_routes
from wizard.bundle import config_values as check
from wizard.bundle.context import CONTAINER_WELLKNOWN_DIR, RenderContext
from wizard.bundle.model import Bundle, File
from wizard.bundle.proxy_sites import (
    CORS_HEADERS,
    HSTS_VALUE,
    MATRIX_PREFIX,
    Mount,
    Site,
    body_limit_bytes,
    sites,
    tls_terminated_here,
)
from wizard.bundle.templates import fill
from wizard.bundle.worker_routes import Balance, WorkerRoute
from wizard.units import MIB

TEMPLATE = "nginx-matrix.conf"
BUNDLE_PATH = "nginx/matrix.conf"
LETSENCRYPT_DIR = "/etc/letsencrypt"
CONTAINER_ACME_WEBROOT = "/var/www/acme"
CONTAINER_CONFIG_PATH = "/etc/nginx/conf.d/default.conf"
# How each worker upstream picks a worker: nginx's directive and what it does, for a comment.
# The access token comes from the token_map section's map; a hash with `consistent` keeps most
# keys on their worker when a worker is added or removed.
BALANCING: dict[Balance, tuple[str, str]] = {
    Balance.ROUND_ROBIN: ("", "round robin"),
    Balance.ACCESS_TOKEN: (
        "hash $matrix_access_token consistent",
        "by access token, so one token always reaches the same worker",
    ),
    Balance.CLIENT_IP: (
        "hash $remote_addr consistent",
        "by the peer's address, so one remote server always reaches the same worker",
    ),
    Balance.FIRST: ("", "one worker, so every request for a room reaches the same one"),
}


def certbot_needed(ctx: RenderContext) -> bool:
    """Return whether certbot must obtain the certificate nginx uses."""
    return ctx.answers.proxy.kind is ProxyKind.NGINX and ctx.answers.proxy.tls is TlsMode.ACME


def certbot_domains(ctx: RenderContext) -> list[str]:
    """Return every name certbot's certificate may cover, the homeserver host first."""
    return [ctx.homeserver_host, *(name for name, _ in certificate_names(ctx))]


def certificate_names(ctx: RenderContext) -> list[tuple[str, str]]:
    """Return the names certbot's certificate may cover beyond the homeserver host, with why.

    Each is asked for only when DNS points it here (apply.sh checks): the server_name may be
    hosted elsewhere, serving the well-known files itself, and the TURN host may not exist yet.
    """
    names: dict[str, str] = {}
    for site in sites(ctx)[1:]:
        names[site.host] = "federation" if site.matrix_prefixes else "wellknown"
    if calls.turn_tls(ctx):
        names.setdefault(calls.turn_host(ctx), "turn")
    if element_web.enabled(ctx):
        names.setdefault(element_web.host(ctx), "element")
    if mas.enabled(ctx):
        names.setdefault(mas.host(ctx), "mas")
    names.pop(ctx.homeserver_host, None)
    return list(names.items())


def certificate_name(ctx: RenderContext) -> str:
    """Return certbot's --cert-name: the folder under live/ that holds the certificate."""
    return ctx.homeserver_host


def letsencrypt_host_dir(ctx: RenderContext) -> str:
    """Return certbot's configuration folder on the host (its --config-dir)."""
    return ctx.host_path(LETSENCRYPT_DIR)


def _letsencrypt_dir(ctx: RenderContext) -> str:
    return LETSENCRYPT_DIR if ctx.compose else letsencrypt_host_dir(ctx)


def _acme_webroot(ctx: RenderContext) -> str:
    return CONTAINER_ACME_WEBROOT if ctx.compose else layout.acme_webroot_dir(ctx)


def certificate_files(ctx: RenderContext) -> tuple[str, str] | None:
    """Return the certificate and key as nginx reads them, or None when TLS ends elsewhere."""
    proxy = ctx.answers.proxy
    if proxy.tls is TlsMode.ACME:
        live = f"{_letsencrypt_dir(ctx)}/live/{certificate_name(ctx)}"
        return f"{live}/fullchain.pem", f"{live}/privkey.pem"
    files = certificates.proxy_certificate_files(ctx)
    if proxy.tls is TlsMode.FILES and files is not None:
        return files.chain, files.key
    return None


def container_mounts(ctx: RenderContext) -> list[Mount]:
    """Return what the nginx container mounts, all read-only."""
    mounts = [
        Mount(f"{ctx.install_dir}/{BUNDLE_PATH}", CONTAINER_CONFIG_PATH),
        Mount(f"{ctx.install_dir}/well-known", CONTAINER_WELLKNOWN_DIR),
    ]
    if ctx.answers.proxy.tls is TlsMode.ACME:
        mounts.append(Mount(letsencrypt_host_dir(ctx), LETSENCRYPT_DIR))
        mounts.append(Mount(layout.acme_webroot_dir(ctx), CONTAINER_ACME_WEBROOT))
    files = certificate_files(ctx)
    if ctx.answers.proxy.tls is TlsMode.FILES and files:
        mounts.extend(Mount(path, path) for path in files)
    return mounts


def _size(limit: int) -> str:
    """Return a body size as nginx writes it: whole mebibytes as NM, otherwise bytes."""
    return f"{limit // MIB}M" if limit % MIB == 0 else str(limit)


def http2_directive(ctx: RenderContext) -> bool:
    """Return whether the nginx that reads the config knows `http2 on;` (1.25.1 and later).

    The compose image is nginx 1.28, where `listen ... http2` is deprecated; natively it is the
    distribution's (Debian 12: 1.22, Ubuntu 24.04: 1.24), which knows only the listen option.
    """
    return ctx.compose


def _listen(ctx: RenderContext, port: int, secure: bool) -> str:
    options = ""
    if secure:
        options = " ssl" if http2_directive(ctx) else " ssl http2"
    port = check.port(port)
    lines = [f"    listen {port}{options};"]
    if not ctx.compose:  # a container may have no IPv6; Docker forwards IPv6 to it anyway
        lines.append(f"    listen [::]:{port}{options};")
    return "\n".join(lines)


def _tls(ctx: RenderContext) -> str:
    files = certificate_files(ctx)
    if files is None:
        return ""
    certificate, key = files
    return fill(
        TEMPLATE,
        "tls",
        http2="    http2 on;\n" if http2_directive(ctx) else "",
        certificate=check.quoted(check.path(certificate)),
        certificate_key=check.quoted(check.path(key)),
        hsts=_hsts(ctx, "    "),
    )


def _hsts(ctx: RenderContext, indent: str) -> str:
    """Return the HSTS header line, or nothing when TLS ends at another proxy."""
    if not tls_terminated_here(ctx):
        return ""
    return fill(TEMPLATE, "hsts", indent=indent, value=check.quoted(HSTS_VALUE))


def _upstream_name(route: WorkerRoute) -> str:
    return "matrix_worker_" + route.name.replace("-", "_")


def _workers(ctx: RenderContext) -> str:
    """Return the worker upstreams, and the access-token map the sync upstream hashes on."""
    found = worker_routes.routes(ctx)
    if not found:
        return ""
    parts = [fill(TEMPLATE, "workers")]
    if any(route.balance is Balance.ACCESS_TOKEN for route in found):
        parts.append(fill(TEMPLATE, "token_map"))
    for route in found:
        directive, note = BALANCING[route.balance]
        parts.append(
            fill(
                TEMPLATE,
                "worker_upstream",
                route=route.name,
                note=note,
                upstream_name=_upstream_name(route),
                balance=f"    {directive};\n" if directive else "",
                servers="".join(
                    fill(TEMPLATE, "worker_server", upstream=check.upstream(upstream))
                    for upstream in route.upstreams
                ),
            )
        )
    return "".join(parts)


def _calls_upstreams(ctx: RenderContext) -> str:
    """Return the upstreams of lk-jwt-service and LiveKit when calls use MatrixRTC."""
    if not matrix_rtc.enabled(ctx):
        return ""
    return fill(
        TEMPLATE,
        "calls_upstreams",
        jwt_upstream=check.upstream(matrix_rtc.jwt_upstream(ctx)),
        sfu_upstream=check.upstream(matrix_rtc.livekit_upstream(ctx)),
    )


def _worker_locations(ctx: RenderContext, site: Site) -> str:
    """Return the regex locations nested in /_matrix/ that send a worker its requests."""
    found = worker_routes.site_routes(ctx, site)
    if not found:
        return ""
    locations = [
        fill(
            TEMPLATE,
            "worker_location",
            pattern=check.quoted_regex(pattern),
            upstream_name=_upstream_name(served.route),
        )
        for served in found
        for pattern in served.patterns
    ]
    return fill(TEMPLATE, "worker_locations") + "".join(locations)


def _locations(ctx: RenderContext, site: Site) -> str:
    here = tls_terminated_here(ctx)
    parts = [
        fill(
            TEMPLATE,
            "matrix_location",
            prefix=check.quoted(check.path(prefix)),
            forwarded_for="$remote_addr" if here else "$proxy_add_x_forwarded_for",
            forwarded_proto="$scheme" if here else "https",
            body_limit=_size(body_limit_bytes(ctx)),
            worker_locations=_worker_locations(ctx, site) if prefix == MATRIX_PREFIX else "",
        )
        for prefix in site.matrix_prefixes
    ]
    if site.serves_calls:
        parts.append(
            fill(
                TEMPLATE,
                "calls_locations",
                forwarded_for="$remote_addr" if here else "$proxy_add_x_forwarded_for",
                forwarded_proto="$scheme" if here else "https",
            )
        )
    if site.serves_wellknown:
        headers = "".join(
            fill(TEMPLATE, "cors_header", name=name, value=check.quoted(value))
            for name, value in CORS_HEADERS.items()
        )
        parts.append(
            fill(
                TEMPLATE,
                "wellknown_location",
                wellknown_dir=check.quoted(check.path(ctx.wellknown_dir) + "/matrix/"),
                hsts=_hsts(ctx, "        "),
                cors_headers=headers,
            )
        )
    return "".join(parts)


def _site_server(ctx: RenderContext, site: Site) -> str:
    host = check.host(site.host)
    return fill(
        TEMPLATE,
        "site_server",
        host=host,
        purpose=site.purpose,
        listen="\n".join(_listen(ctx, port, tls_terminated_here(ctx)) for port in site.ports),
        server_name=host,
        tls=_tls(ctx),
        locations=_locations(ctx, site),
    )


def _element_headers(ctx: RenderContext) -> str:
    """Return Element Web's headers, HSTS with them: a location's add_header drops the server's."""
    lines = [_hsts(ctx, "        ")]
    lines += [
        fill(TEMPLATE, "element_header", name=name, value=check.quoted_header(value))
        for name, value in element_web.SECURITY_HEADERS.items()
    ]
    return "".join(lines)


def _element_server(ctx: RenderContext) -> str:
    """Return the server of Element Web: its files natively, the container under compose."""
    host = check.host(element_web.host(ctx))
    port = ctx.ports.https if tls_terminated_here(ctx) else ctx.ports.http
    no_cache = fill(
        TEMPLATE, "element_header", name="Cache-Control", value=check.quoted(element_web.NO_CACHE)
    )
    if ctx.compose:
        # The image's own nginx sets some of these headers too: the proxy's replace them.
        serve = fill(TEMPLATE, "element_proxy") + "".join(
            fill(TEMPLATE, "element_hidden_header", name=name)
            for name in element_web.SECURITY_HEADERS
        )
        no_cache = fill(TEMPLATE, "element_hidden_header", name="Cache-Control") + no_cache
        config, root = serve, ""
        upstream = fill(TEMPLATE, "element_upstream", upstream=element_web.upstream())
        how = "served by its container"
    else:
        serve = ""
        config = fill(
            TEMPLATE,
            "element_config_file",
            config_file=check.quoted(check.path(element_web.config_host_path(ctx))),
        )
        web_root = check.quoted(check.path(element_web.web_root(ctx)))
        root = fill(TEMPLATE, "element_root", web_root=web_root)
        upstream = ""
        how = "the release's files, which apply.sh puts in place"
    return fill(
        TEMPLATE,
        "element_server",
        host=host,
        how=how,
        upstream=upstream,
        listen=_listen(ctx, port, tls_terminated_here(ctx)),
        tls=_tls(ctx),
        root=root,
        config=config,
        serve=serve,
        headers=_element_headers(ctx),
        no_cache=no_cache,
        no_cache_paths=check.quoted_regex(element_web.NO_CACHE_REGEX),
    )


def _mas_server(ctx: RenderContext) -> str:
    """Return the server block of MAS's own host, everything passed to MAS."""
    here = tls_terminated_here(ctx)
    port = ctx.ports.https if here else ctx.ports.http
    return fill(
        TEMPLATE,
        "mas_server",
        host=check.host(mas.host(ctx)),
        listen=_listen(ctx, port, here),
        tls=_tls(ctx),
        upstream=check.upstream(mas.upstream(ctx)),
        forwarded_proto="$scheme" if here else "https",
    )


def _redirect_server(ctx: RenderContext) -> str:
    acme = ctx.answers.proxy.tls is TlsMode.ACME
    challenge = ""
    if acme:
        challenge = fill(
            TEMPLATE, "acme_challenge", webroot=check.quoted(check.path(_acme_webroot(ctx)))
        )
    https = check.port(ctx.ports.https)
    return fill(
        TEMPLATE,
        "redirect_server",
        acme_note=" and answers certbot's challenges" if acme else "",
        listen=_listen(ctx, ctx.ports.http, secure=False),
        # Every name certbot may ask for: its renewals fetch each name's challenge here.
        server_names=" ".join(check.host(host) for host in certbot_domains(ctx)),
        acme_challenge=challenge,
        https_port_suffix="" if https == 443 else f":{https}",
    )


def render_config(ctx: RenderContext) -> str:
    """Return the text of nginx/matrix.conf."""
    servers = [_redirect_server(ctx)] if tls_terminated_here(ctx) else []
    servers.extend(_site_server(ctx, site) for site in sites(ctx))
    if element_web.enabled(ctx):
        servers.append(_element_server(ctx))
    if mas.enabled(ctx):
        servers.append(_mas_server(ctx))
    text = fill(
        TEMPLATE,
        "file",
        homeserver_host=check.host(ctx.homeserver_host),
        upstream=check.upstream(ctx.homeserver_upstream),
        calls_upstreams=_calls_upstreams(ctx),
        workers=_workers(ctx),
        servers="".join(servers),
    )
    return text.rstrip("\n") + "\n"


def render(ctx: RenderContext) -> Bundle:
    """Return nginx/matrix.conf."""
    return {BUNDLE_PATH: File(render_config(ctx))}
