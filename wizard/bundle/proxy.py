"""The reverse proxy: render the chosen proxy's files and say which ports it opens."""

from collections.abc import Callable

from wizard.answers.model import ProxyKind
from wizard.bundle import caddy, nginx, traefik
from wizard.bundle.context import RenderContext
from wizard.bundle.model import Bundle
from wizard.bundle.proxy_sites import Mount, federation_on_own_port, tls_terminated_here

RENDERERS: dict[ProxyKind, Callable[[RenderContext], Bundle]] = {
    ProxyKind.NGINX: nginx.render,
    ProxyKind.CADDY: caddy.render,
    ProxyKind.TRAEFIK: traefik.render,
}

MOUNTS: dict[ProxyKind, Callable[[RenderContext], list[Mount]]] = {
    ProxyKind.NGINX: nginx.container_mounts,
    ProxyKind.CADDY: caddy.container_mounts,
    ProxyKind.TRAEFIK: traefik.container_mounts,
}


def render(ctx: RenderContext) -> Bundle:
    """Return the files of the proxy the answers chose."""
    return RENDERERS[ctx.answers.proxy.kind](ctx)


def public_ports(ctx: RenderContext) -> list[tuple[int, str]]:
    """Return (port, protocol) for exactly the ports the proxy listens on publicly.

    With TLS here: HTTP (redirects and ACME challenges), HTTPS, and 8448 when federation has
    its own port; Caddy also answers HTTP/3 over UDP on its TLS ports. With TLS ending at
    another proxy: the plain HTTP port only.
    """
    if not tls_terminated_here(ctx):
        return [(ctx.ports.http, "tcp")]
    tls_ports = [ctx.ports.https]
    if federation_on_own_port(ctx):
        tls_ports.append(ctx.federation_port)
    ports = [(ctx.ports.http, "tcp")] + [(port, "tcp") for port in tls_ports]
    if ctx.answers.proxy.kind is ProxyKind.CADDY:
        ports += [(port, "udp") for port in tls_ports]
    return ports


def container_mounts(ctx: RenderContext) -> list[Mount]:
    """Return the host paths the proxy's container mounts under compose."""
    return MOUNTS[ctx.answers.proxy.kind](ctx)
