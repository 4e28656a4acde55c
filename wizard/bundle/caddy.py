"""caddy/Caddyfile: automatic or given TLS, the Matrix routes, /.well-known/matrix, 404 else."""

import textwrap

from wizard.answers.model import TlsMode
from wizard.bundle import certificates, element_web, mas, matrix_rtc, worker_routes
from wizard.bundle import config_values as check
from wizard.bundle.context import CONTAINER_WELLKNOWN_DIR, RenderContext
from wizard.bundle.model import Bundle, File
from wizard.bundle.proxy_sites import (
    CORS_HEADERS,
    HSTS_VALUE,
    Mount,
    Site,
    body_limit_bytes,
    sites,
    tls_terminated_here,
)
from wizard.bundle.templates import fill
from wizard.bundle.worker_routes import Balance, SiteRoute

TEMPLATE = "Caddyfile"
BUNDLE_PATH = "caddy/Caddyfile"
CONTAINER_CONFIG_PATH = "/etc/caddy/Caddyfile"
CONTAINER_DATA_DIR = "/data"

# The header the sync matcher puts the access token in, for `lb_policy header` to hash.
TOKEN_HEADER = "X-Matrix-Access-Token"
# How each worker route picks a worker: Caddy's reverse_proxy options and what they do. The
# native Caddy is Debian's 2.6, which has no client_ip policy: ip_hash hashes the peer address.
BALANCING: dict[Balance, tuple[list[str], str]] = {
    Balance.ROUND_ROBIN: (["lb_policy round_robin"], "round robin"),
    Balance.ACCESS_TOKEN: (
        [f"lb_policy header {TOKEN_HEADER}", f"header_up -{TOKEN_HEADER}"],
        "by access token, so one token always reaches the same worker",
    ),
    Balance.CLIENT_IP: (
        ["lb_policy ip_hash"],
        "by the peer's address, so one remote server always reaches the same worker",
    ),
    Balance.FIRST: ([], "one worker, so every request for a room reaches the same one"),
}

# The admin API stays on loopback (ports.caddy_admin): `caddy reload` and the packaged service
# need it, and a container's loopback is its own. Tests that run several Caddys pass admin="off".


def data_host_dir(ctx: RenderContext) -> str:
    """Return where Caddy keeps its certificates and ACME account on the host under compose."""
    return f"{ctx.data_dir}/caddy"


def container_mounts(ctx: RenderContext) -> list[Mount]:
    """Return what the Caddy container mounts; it writes only its certificate store."""
    mounts = [
        Mount(f"{ctx.install_dir}/{BUNDLE_PATH}", CONTAINER_CONFIG_PATH),
        Mount(f"{ctx.install_dir}/well-known", CONTAINER_WELLKNOWN_DIR),
        Mount(data_host_dir(ctx), CONTAINER_DATA_DIR, read_only=False),
    ]
    proxy = ctx.answers.proxy
    if proxy.tls is TlsMode.FILES and proxy.cert_path and proxy.key_path:
        mounts.extend(Mount(path, path) for path in (proxy.cert_path, proxy.key_path))
    return mounts


def _global_options(ctx: RenderContext, admin: str) -> str:
    proxy = ctx.answers.proxy
    lines = [f"admin {admin}"]
    if proxy.tls is TlsMode.ACME and proxy.acme_email:
        lines.append(f"email {check.email(proxy.acme_email)}")
    lines.append(f"http_port {check.port(ctx.ports.http)}")
    if tls_terminated_here(ctx):
        lines.append(f"https_port {check.port(ctx.ports.https)}")
    else:
        lines.append("auto_https off")
    return "".join(f"\t{line}\n" for line in lines)


def _addresses(ctx: RenderContext, site: Site) -> str:
    host = check.host(site.host)
    if not tls_terminated_here(ctx):
        return f"http://{host}"
    return ", ".join(
        host if port == ctx.ports.https else f"{host}:{check.port(port)}" for port in site.ports
    )


def _tls(ctx: RenderContext) -> str:
    proxy = ctx.answers.proxy
    if not tls_terminated_here(ctx):
        return ""
    files = ""
    paths = certificates.proxy_certificate_files(ctx)
    if proxy.tls is TlsMode.FILES and paths is not None:
        files = " ".join(check.quoted(check.path(p)) for p in (paths.chain, paths.key)) + " "
    return fill(TEMPLATE, "tls", certificate_files=files, hsts=check.quoted(HSTS_VALUE))


def _reverse_proxy(ctx: RenderContext, upstreams: tuple[str, ...], options: list[str]) -> str:
    return fill(
        TEMPLATE,
        "reverse_proxy" if tls_terminated_here(ctx) else "reverse_proxy_behind_proxy",
        upstream=" ".join(check.upstream(upstream) for upstream in upstreams),
        options="".join(f"\t\t\t{option}\n" for option in options),
    )


def _worker(ctx: RenderContext, served: SiteRoute) -> str:
    route = served.route
    options, note = BALANCING[route.balance]
    return fill(
        TEMPLATE,
        "worker",
        matcher="worker_" + route.name.replace("-", "_"),
        regex=check.quoted_regex(served.regex),
        route=route.name,
        note=note,
        token=fill(TEMPLATE, "token_map") if route.balance is Balance.ACCESS_TOKEN else "",
        reverse_proxy=textwrap.indent(_reverse_proxy(ctx, route.upstreams, options), "\t"),
    )


def _matrix(ctx: RenderContext, site: Site) -> str:
    if not site.matrix_prefixes:
        return ""
    main = _reverse_proxy(ctx, (ctx.homeserver_upstream,), [])
    served = worker_routes.site_routes(ctx, site)
    if served:
        # Named handle blocks are tried in order and the one without a matcher last, so a
        # worker's paths never reach the main process.
        main = "".join(
            [
                fill(TEMPLATE, "workers"),
                *(_worker(ctx, route) for route in served),
                fill(TEMPLATE, "main_process", reverse_proxy=textwrap.indent(main, "\t")),
            ]
        )
    return fill(
        TEMPLATE,
        "matrix",
        paths=" ".join(check.path(prefix) + "*" for prefix in site.matrix_prefixes),
        body_limit=body_limit_bytes(ctx),
        reverse_proxy=main,
    )


def _calls(ctx: RenderContext, site: Site) -> str:
    if not site.serves_calls:
        return ""
    return fill(
        TEMPLATE,
        "calls",
        jwt_proxy=_reverse_proxy(ctx, (matrix_rtc.jwt_upstream(ctx),), []),
        sfu_proxy=_reverse_proxy(ctx, (matrix_rtc.livekit_upstream(ctx),), []),
    )


def _wellknown(ctx: RenderContext, site: Site) -> str:
    if not site.serves_wellknown:
        return ""
    headers = "".join(
        fill(TEMPLATE, "header", name=name, value=check.quoted(value))
        for name, value in CORS_HEADERS.items()
    )
    return fill(
        TEMPLATE,
        "wellknown",
        wellknown_dir=check.quoted(check.path(ctx.wellknown_dir) + "/matrix"),
        cors_headers=headers,
    )


def _site(ctx: RenderContext, site: Site) -> str:
    return fill(
        TEMPLATE,
        "site",
        host=check.host(site.host),
        purpose=site.purpose,
        addresses=_addresses(ctx, site),
        tls=_tls(ctx),
        matrix=_matrix(ctx, site),
        calls=_calls(ctx, site),
        wellknown=_wellknown(ctx, site),
    )


def _element_site(ctx: RenderContext) -> str:
    """Return the site of Element Web: its files natively, the container under compose."""
    host = check.host(element_web.host(ctx))
    if ctx.compose:
        serve = fill(TEMPLATE, "element_proxy", upstream=check.upstream(element_web.upstream()))
        how = "served by its container"
    else:
        serve = fill(
            TEMPLATE,
            "element_files",
            config_dir=check.quoted(check.path(f"{ctx.install_dir}/{element_web.BUNDLE_DIR}")),
            web_root=check.quoted(check.path(element_web.web_root(ctx))),
        )
        how = "the release's files, which apply.sh puts in place"
    headers = "".join(
        fill(TEMPLATE, "element_header", name=name, value=check.quoted_header(value))
        for name, value in element_web.SECURITY_HEADERS.items()
    )
    return fill(
        TEMPLATE,
        "element_site",
        host=host,
        how=how,
        addresses=host if tls_terminated_here(ctx) else f"http://{host}",
        tls=_tls(ctx),
        headers=headers,
        defer=fill(TEMPLATE, "element_defer") if ctx.compose else "",
        no_cache_paths=check.quoted_regex(element_web.NO_CACHE_REGEX),
        no_cache=check.quoted(element_web.NO_CACHE),
        serve=serve,
    )


def _mas_site(ctx: RenderContext) -> str:
    """Return the site of MAS's own host, everything passed to MAS."""
    name = check.host(mas.host(ctx))
    return fill(
        TEMPLATE,
        "mas_site",
        host=name,
        addresses=name if tls_terminated_here(ctx) else f"http://{name}",
        tls=_tls(ctx),
        reverse_proxy=_reverse_proxy(ctx, (mas.upstream(ctx),), []),
    )


def admin_address(ctx: RenderContext) -> str:
    """Return where Caddy's admin API listens: loopback, on the answers' port."""
    return f"localhost:{check.port(ctx.ports.caddy_admin)}"


def render_caddyfile(ctx: RenderContext, admin: str | None = None) -> str:
    """Return the text of caddy/Caddyfile; `admin` overrides where Caddy's admin API listens."""
    admin = admin or admin_address(ctx)
    if admin != "off":
        check.upstream(admin)
    text = fill(
        TEMPLATE,
        "file",
        homeserver_host=check.host(ctx.homeserver_host),
        global_options=_global_options(ctx, admin),
        sites="".join(_site(ctx, site) for site in sites(ctx))
        + (_element_site(ctx) if element_web.enabled(ctx) else "")
        + (_mas_site(ctx) if mas.enabled(ctx) else ""),
    )
    return text.rstrip("\n") + "\n"


def render(ctx: RenderContext) -> Bundle:
    """Return caddy/Caddyfile."""
    return {BUNDLE_PATH: File(render_caddyfile(ctx))}
