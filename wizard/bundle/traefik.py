"""traefik/traefik.yml and traefik/dynamic.yml: entry points, Matrix routers and well-known."""

import copy
from typing import Any

import yaml

from wizard.answers.model import TlsMode
from wizard.bundle import certificates, element_web, mas, matrix_rtc, worker_routes
from wizard.bundle import config_values as check
from wizard.bundle.context import WELLKNOWN_SERVICE, RenderContext
from wizard.bundle.model import Bundle, File
from wizard.bundle.proxy_sites import (
    CORS_HEADERS,
    HSTS_SECONDS,
    WELLKNOWN_PREFIX,
    Mount,
    Site,
    body_limit_bytes,
    federation_on_own_port,
    sites,
    tls_terminated_here,
)
from wizard.bundle.worker_routes import Balance, SiteRoute, WorkerRoute

STATIC_PATH = "traefik/traefik.yml"
DYNAMIC_PATH = "traefik/dynamic.yml"
CONTAINER_DIR = "/etc/traefik"
CONTAINER_ACME_DIR = "/etc/traefik/acme"
CERT_RESOLVER = "letsencrypt"

WEB, WEBSECURE, FEDERATION = "web", "websecure", "federation"
HOMESERVER_SERVICE = "homeserver"
MAS_SERVICE = "mas"
BODY_LIMIT_MIDDLEWARE = "matrix-body-limit"
WELLKNOWN_HEADERS_MIDDLEWARE = "wellknown-headers"
WELLKNOWN_STRIP_MIDDLEWARE = "wellknown-strip"
HSTS_MIDDLEWARE = "hsts"
CALLS_STRIP_MIDDLEWARE = "livekit-strip"
LK_JWT_ROUTE = "lk-jwt-service"
LIVEKIT_ROUTE = "livekit"
# MatrixRTC: the router and service names, and the public path each is reached under.
CALL_ROUTES = {LK_JWT_ROUTE: matrix_rtc.JWT_PREFIX, LIVEKIT_ROUTE: matrix_rtc.SFU_PREFIX}

# Traefik cannot serve files: a small static web server serves the well-known folder as its
# document root (so /matrix/server), and Traefik strips /.well-known before passing requests on.
# Under compose it is the `wellknown` service; natively a loopback server on ports.wellknown.
WELLKNOWN_URL = f"http://{WELLKNOWN_SERVICE}:80"

# Matrix IDs and aliases put %2F, %23, %3F, %25, %3B and %5C in paths; Traefik's newer releases
# reject them unless allowed, and the homeserver must see them unchanged. NUL stays rejected.
ENCODED_CHARACTERS = {
    "allowEncodedSlash": True,
    "allowEncodedBackSlash": True,
    "allowEncodedHash": True,
    "allowEncodedQuestionMark": True,
    "allowEncodedPercent": True,
    "allowEncodedSemicolon": True,
    "allowEncodedNullCharacter": False,
}
# Drop headers whose names alias another (X_Forwarded_For for X-Forwarded-For), as nginx does.
ALIAS_HEADERS_STRATEGY = "delete"
# Traefik 3 stops reading a request after 60 s by default, cutting off slow large uploads.
READ_TIMEOUT = "600s"
# Worker routers outrank the catch-all Matrix router, whose priority is its rule's length (a
# few hundred characters at most); the sync route's split routers outrank its fallback.
WORKER_PRIORITY = 10000
SPLIT_PRIORITY = WORKER_PRIORITY + 1
WORKERS_NOTE = (
    "# The *-worker-* routers send Synapse's workers (and MAS, when chosen) their paths before\n"
    "# the main process's router; with more sync workers than one, the sync route is split by\n"
    "# the access token's last character (Traefik cannot hash a header), so one token always\n"
    "# reaches one worker.\n"
)
# The characters Synapse's access tokens end in: syt_ and mat_ tokens end in a base-62 checksum.
TOKEN_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
PRIVATE_RANGES = [
    "127.0.0.0/8",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "::1/128",
    "fc00::/7",
]


def wellknown_url(ctx: RenderContext) -> str:
    """Return where Traefik reaches the static server of the well-known folder."""
    if ctx.compose:
        return WELLKNOWN_URL
    return f"http://127.0.0.1:{ctx.ports.wellknown}"


def dynamic_config_path(ctx: RenderContext) -> str:
    """Return dynamic.yml as Traefik sees it."""
    return f"{CONTAINER_DIR}/dynamic.yml" if ctx.compose else f"{ctx.install_dir}/{DYNAMIC_PATH}"


def acme_host_dir(ctx: RenderContext) -> str:
    """Return the host folder holding Traefik's ACME account and certificates (acme.json)."""
    return f"{ctx.data_dir}/traefik"


def _acme_storage(ctx: RenderContext) -> str:
    return f"{CONTAINER_ACME_DIR if ctx.compose else acme_host_dir(ctx)}/acme.json"


def container_mounts(ctx: RenderContext) -> list[Mount]:
    """Return what the Traefik container mounts; it writes only its ACME store."""
    mounts = [
        Mount(f"{ctx.install_dir}/{STATIC_PATH}", f"{CONTAINER_DIR}/traefik.yml"),
        Mount(f"{ctx.install_dir}/{DYNAMIC_PATH}", f"{CONTAINER_DIR}/dynamic.yml"),
        Mount(acme_host_dir(ctx), CONTAINER_ACME_DIR, read_only=False),
    ]
    proxy = ctx.answers.proxy
    if proxy.tls is TlsMode.FILES and proxy.cert_path and proxy.key_path:
        mounts.extend(Mount(path, path) for path in (proxy.cert_path, proxy.key_path))
    return mounts


def _entry_point_names(ctx: RenderContext) -> dict[int, str]:
    if not tls_terminated_here(ctx):
        return {ctx.ports.http: WEB}
    names = {ctx.ports.https: WEBSECURE}
    if federation_on_own_port(ctx):
        names[ctx.federation_port] = FEDERATION
    return names


def _matrix_entry_point(port: int, ctx: RenderContext) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "address": f":{port}",
        "http": {
            "encodedCharacters": dict(ENCODED_CHARACTERS),
            "aliasHeadersStrategy": ALIAS_HEADERS_STRATEGY,
        },
        "transport": {"respondingTimeouts": {"readTimeout": READ_TIMEOUT}},
    }
    if not tls_terminated_here(ctx):
        # TLS ends at another proxy: keep the X-Forwarded-* it sends from private addresses.
        entry["forwardedHeaders"] = {"trustedIPs": list(PRIVATE_RANGES)}
    return entry


def static_config(ctx: RenderContext) -> dict[str, Any]:
    """Return traefik.yml as data."""
    names = _entry_point_names(ctx)
    entry_points: dict[str, Any] = {}
    if tls_terminated_here(ctx):
        entry_points[WEB] = {
            "address": f":{ctx.ports.http}",
            "http": {
                "redirections": {"entryPoint": {"to": WEBSECURE, "scheme": "https"}},
                "aliasHeadersStrategy": ALIAS_HEADERS_STRATEGY,
            },
        }
    for port, name in names.items():
        entry_points[name] = _matrix_entry_point(port, ctx)
    config: dict[str, Any] = {
        "global": {"checkNewVersion": False, "sendAnonymousUsage": False},
        "log": {"level": "INFO", "noColor": True},
        "entryPoints": entry_points,
        "providers": {"file": {"filename": dynamic_config_path(ctx), "watch": True}},
    }
    proxy = ctx.answers.proxy
    if proxy.tls is TlsMode.ACME:
        config["certificatesResolvers"] = {
            CERT_RESOLVER: {
                "acme": {
                    "email": proxy.acme_email,
                    "storage": _acme_storage(ctx),
                    "httpChallenge": {"entryPoint": WEB},
                }
            }
        }
    return config


def _router_tls(ctx: RenderContext) -> dict[str, Any] | None:
    tls = ctx.answers.proxy.tls
    if tls is TlsMode.ACME:
        return {"certResolver": CERT_RESOLVER}
    if tls is TlsMode.FILES:
        return {}
    return None


def _rule(host: str, prefixes: tuple[str, ...]) -> str:
    paths = " || ".join(f"PathPrefix(`{check.path(prefix)}`)" for prefix in prefixes)
    return f"Host(`{check.host(host)}`) && ({paths})"


def _char_class(characters: str) -> str:
    """Return a regex character class of the characters, runs of neighbours written as a-z."""
    runs: list[list[str]] = []
    for character in characters:
        if runs and ord(character) == ord(runs[-1][-1]) + 1:
            runs[-1].append(character)
        else:
            runs.append([character])
    parts = [run[0] if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs]
    return "[" + "".join(parts) + "]"


def token_classes(count: int) -> list[str]:
    """Return `count` character classes splitting the tokens' last characters about evenly."""
    size, extra = divmod(len(TOKEN_ALPHABET), count)
    classes, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        classes.append(_char_class(TOKEN_ALPHABET[start:end]))
        start = end
    return classes


def _service_name(route: WorkerRoute, part: int | None = None) -> str:
    return f"worker-{route.name}" if part is None else f"worker-{route.name}-{part}"


def _worker_routers(
    router: dict[str, Any], router_name: str, host: str, served: SiteRoute
) -> dict[str, Any]:
    """Return the routers sending a worker its paths, copies of the site's Matrix router.

    Traefik has no balancer that hashes a header: its hrw strategy hashes the peer address and
    its sticky sessions need a cookie, which Matrix clients do not keep. So with more than one
    sync worker the sync route is split by the access token's last character, read from
    `Authorization: Bearer` or ?access_token=, one router per sync worker: one token always
    reaches the same worker, and Synapse's tokens, which end in a checksum, spread evenly. A
    request whose token ends in another character, or that has none, goes to the first.
    """
    route = served.route
    rule = f"Host(`{check.host(host)}`) && PathRegexp(`{check.regex(served.regex)}`)"

    def copied(rule: str, priority: int, service: str) -> dict[str, Any]:
        return copy.deepcopy(router) | {"rule": rule, "priority": priority, "service": service}

    name = f"{router_name}-worker-{route.name}"
    if route.balance is not Balance.ACCESS_TOKEN or len(route.upstreams) == 1:
        return {name: copied(rule, WORKER_PRIORITY, _service_name(route))}
    routers = {name: copied(rule, WORKER_PRIORITY, _service_name(route, 1))}
    for part, characters in enumerate(token_classes(len(route.upstreams)), start=1):
        token = (
            f"HeaderRegexp(`Authorization`, `^Bearer .*{characters}$`)"
            f" || QueryRegexp(`access_token`, `{characters}$`)"
        )
        routers[f"{name}-{part}"] = copied(
            f"{rule} && ({token})", SPLIT_PRIORITY, _service_name(route, part)
        )
    return routers


def _worker_services(ctx: RenderContext) -> dict[str, Any]:
    """Return a service per worker route, or per sync worker when the sync route is split."""
    services: dict[str, Any] = {}
    for route in worker_routes.routes(ctx):
        urls = [f"http://{check.upstream(upstream)}" for upstream in route.upstreams]
        if route.balance is Balance.ACCESS_TOKEN and len(urls) > 1:
            for part, url in enumerate(urls, start=1):
                services[_service_name(route, part)] = _load_balancer([url])
            continue
        services[_service_name(route)] = _load_balancer(urls)
        if route.balance is Balance.CLIENT_IP:
            # Highest random weight: the peer's address always picks the same worker.
            services[_service_name(route)]["loadBalancer"]["strategy"] = "hrw"
    return services


def _load_balancer(urls: list[str]) -> dict[str, Any]:
    return {"loadBalancer": {"servers": [{"url": url} for url in urls], "passHostHeader": True}}


def _routers(ctx: RenderContext, role: str, site: Site) -> dict[str, Any]:
    names = _entry_point_names(ctx)
    tls = _router_tls(ctx)
    routers: dict[str, Any] = {}
    if site.matrix_prefixes:
        matrix = {
            "rule": _rule(site.host, site.matrix_prefixes),
            "entryPoints": [names[port] for port in site.ports],
            "middlewares": [BODY_LIMIT_MIDDLEWARE],
            "service": HOMESERVER_SERVICE,
        }
        routers[f"{role}-matrix"] = matrix
        for served in worker_routes.site_routes(ctx, site):
            routers |= _worker_routers(matrix, f"{role}-matrix", site.host, served)
    if site.serves_wellknown:
        main_port = ctx.ports.https if tls_terminated_here(ctx) else ctx.ports.http
        routers[f"{role}-wellknown"] = {
            "rule": _rule(site.host, (WELLKNOWN_PREFIX,)),
            "entryPoints": [names[main_port]],
            "middlewares": [WELLKNOWN_HEADERS_MIDDLEWARE, WELLKNOWN_STRIP_MIDDLEWARE],
            "service": WELLKNOWN_SERVICE,
        }
    if site.serves_calls:
        main_port = ctx.ports.https if tls_terminated_here(ctx) else ctx.ports.http
        for name, prefix in CALL_ROUTES.items():
            routers[f"{role}-{name}"] = {
                "rule": _rule(site.host, (prefix,)),
                "entryPoints": [names[main_port]],
                "middlewares": [CALLS_STRIP_MIDDLEWARE],
                "service": name,
            }
    if tls is not None:
        for router in routers.values():
            router["tls"] = dict(tls)
            router["middlewares"].insert(0, HSTS_MIDDLEWARE)
    return routers


def _element_web(ctx: RenderContext) -> dict[str, dict[str, Any]]:
    """Return the routers, middlewares and service of Element Web's container (compose only).

    Natively Traefik has nothing to serve Element Web's files with: the answers refuse that.
    """
    names = _entry_point_names(ctx)
    port = ctx.ports.https if tls_terminated_here(ctx) else ctx.ports.http
    host = check.host(element_web.host(ctx))
    headers = f"{element_web.SERVICE}-headers"
    no_cache = f"{element_web.SERVICE}-no-cache"
    router: dict[str, Any] = {
        "rule": f"Host(`{host}`)",
        "entryPoints": [names[port]],
        "middlewares": [headers],
        "service": element_web.SERVICE,
    }
    no_cache_rule = f"{router['rule']} && PathRegexp(`{check.regex(element_web.NO_CACHE_REGEX)}`)"
    routers: dict[str, dict[str, Any]] = {
        element_web.SERVICE: router,
        no_cache: copy.deepcopy(router)
        | {"rule": no_cache_rule, "middlewares": [headers, no_cache]},
    }
    tls = _router_tls(ctx)
    if tls is not None:
        for each in routers.values():
            each["tls"] = dict(tls)
            each["middlewares"] = [HSTS_MIDDLEWARE, *each["middlewares"]]
    # customResponseHeaders replace what the image's own nginx sends under the same names.
    middlewares = {
        headers: {"headers": {"customResponseHeaders": dict(element_web.SECURITY_HEADERS)}},
        no_cache: {"headers": {"customResponseHeaders": {"Cache-Control": element_web.NO_CACHE}}},
    }
    service = _load_balancer([f"http://{check.upstream(element_web.upstream())}"])
    return {
        "routers": routers,
        "middlewares": middlewares,
        "services": {element_web.SERVICE: service},
    }


def _mas_router(ctx: RenderContext) -> dict[str, Any]:
    """Return the router of MAS's own host, every path passed to MAS."""
    tls = _router_tls(ctx)
    main_port = ctx.ports.https if tls_terminated_here(ctx) else ctx.ports.http
    router: dict[str, Any] = {
        "rule": f"Host(`{check.host(mas.host(ctx))}`)",
        "entryPoints": [_entry_point_names(ctx)[main_port]],
        "middlewares": [],
        "service": MAS_SERVICE,
    }
    if tls is not None:
        router["tls"] = dict(tls)
        router["middlewares"].append(HSTS_MIDDLEWARE)
    return {MAS_SERVICE: router}


def dynamic_config(ctx: RenderContext) -> dict[str, Any]:
    """Return dynamic.yml as data: routers, middlewares, services and TLS options."""
    routers: dict[str, Any] = {}
    for role, site in zip(("homeserver", "server-name"), sites(ctx), strict=False):
        routers |= _routers(ctx, role, site)
    middlewares: dict[str, Any] = {
        BODY_LIMIT_MIDDLEWARE: {"buffering": {"maxRequestBodyBytes": body_limit_bytes(ctx)}}
    }
    services: dict[str, Any] = {
        HOMESERVER_SERVICE: _load_balancer([f"http://{ctx.homeserver_upstream}"]),
        **_worker_services(ctx),
    }
    if mas.enabled(ctx):
        routers |= _mas_router(ctx)
        services[MAS_SERVICE] = _load_balancer([f"http://{check.upstream(mas.upstream(ctx))}"])
    if tls_terminated_here(ctx):
        middlewares[HSTS_MIDDLEWARE] = {"headers": {"stsSeconds": HSTS_SECONDS}}
    if any(site.serves_wellknown for site in sites(ctx)):
        headers = {"Content-Type": "application/json", **CORS_HEADERS}
        middlewares[WELLKNOWN_HEADERS_MIDDLEWARE] = {"headers": {"customResponseHeaders": headers}}
        middlewares[WELLKNOWN_STRIP_MIDDLEWARE] = {"stripPrefix": {"prefixes": ["/.well-known"]}}
        services[WELLKNOWN_SERVICE] = {"loadBalancer": {"servers": [{"url": wellknown_url(ctx)}]}}
    if element_web.enabled(ctx):
        element = _element_web(ctx)
        routers |= element["routers"]
        middlewares |= element["middlewares"]
        services |= element["services"]
    if any(site.serves_calls for site in sites(ctx)):
        # Each service sees its own root; Traefik passes WebSocket upgrades on by itself.
        prefixes = [prefix.rstrip("/") for prefix in CALL_ROUTES.values()]
        middlewares[CALLS_STRIP_MIDDLEWARE] = {"stripPrefix": {"prefixes": prefixes}}
        services[LK_JWT_ROUTE] = _load_balancer([f"http://{matrix_rtc.jwt_upstream(ctx)}"])
        services[LIVEKIT_ROUTE] = _load_balancer([f"http://{matrix_rtc.livekit_upstream(ctx)}"])
    config: dict[str, Any] = {
        "http": {"routers": routers, "middlewares": middlewares, "services": services}
    }
    if tls_terminated_here(ctx):
        config["tls"] = {"options": {"default": {"minVersion": "VersionTLS12"}}}
        files = certificates.proxy_certificate_files(ctx)
        if ctx.answers.proxy.tls is TlsMode.FILES and files is not None:
            config["tls"]["certificates"] = [
                {"certFile": check.path(files.chain), "keyFile": check.path(files.key)}
            ]
    return config


def _yaml(header: str, data: dict[str, Any]) -> str:
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def render(ctx: RenderContext) -> Bundle:
    """Return traefik/traefik.yml and traefik/dynamic.yml."""
    host = ctx.homeserver_host
    return {
        STATIC_PATH: File(
            _yaml(
                f"# Traefik static configuration for {host}, written by matrix-wizard.\n",
                static_config(ctx),
            )
        ),
        DYNAMIC_PATH: File(
            _yaml(
                f"# Traefik routes for {host}, written by matrix-wizard: only the Matrix APIs,\n"
                "# /.well-known/matrix and MAS (when chosen) are routed; the admin API and\n"
                "# metrics are not.\n" + (WORKERS_NOTE if worker_routes.routes(ctx) else ""),
                dynamic_config(ctx),
            )
        ),
    }
