"""Which TLS certificate the stack uses, where its files are, and which names it must cover."""

from dataclasses import dataclass

from wizard.answers.model import ProxyKind, TlsMode
from wizard.bundle import layout
from wizard.bundle.context import RenderContext


@dataclass(frozen=True)
class CertificateFiles:
    """The certificate chain and private key, as host paths."""

    chain: str
    key: str


def uses_certbot(ctx: RenderContext) -> bool:
    """Return whether apply.sh obtains the certificate with certbot (nginx with ACME)."""
    return ctx.answers.proxy.kind is ProxyKind.NGINX and ctx.answers.proxy.tls is TlsMode.ACME


def certbot_live_dir(ctx: RenderContext) -> str:
    """Return the host folder where certbot keeps the current certificate of the homeserver host."""
    return f"{layout.letsencrypt_dir(ctx)}/live/{ctx.homeserver_host}"


def host_certificate_files(ctx: RenderContext) -> CertificateFiles | None:
    """Return the certificate files on the host, or None when the proxy keeps its own."""
    proxy = ctx.answers.proxy
    if uses_certbot(ctx):
        live = certbot_live_dir(ctx)
        return CertificateFiles(f"{live}/fullchain.pem", f"{live}/privkey.pem")
    if proxy.tls is TlsMode.FILES and proxy.cert_path and proxy.key_path:
        return CertificateFiles(ctx.host_path(proxy.cert_path), ctx.host_path(proxy.key_path))
    return None


def proxy_copy_dir(ctx: RenderContext) -> str | None:
    """Return where apply.sh copies the certificate for a native proxy that runs as its own user.

    Caddy and Traefik run as their own users, which may not read the key where the person keeps
    it (root's, mode 0600, as certbot and most CAs leave it); nginx reads it as root.
    """
    own_user = ctx.answers.proxy.kind in (ProxyKind.CADDY, ProxyKind.TRAEFIK)
    if ctx.compose or not own_user or host_certificate_files(ctx) is None:
        return None
    return f"{layout.service_dir(ctx, ctx.answers.proxy.kind.value)}/certificates"


def proxy_certificate_files(ctx: RenderContext) -> CertificateFiles | None:
    """Return the certificate files as the proxy process sees them.

    Under compose they are mounted unprefixed; a native Caddy or Traefik reads apply.sh's copy.
    """
    files = host_certificate_files(ctx)
    copies = proxy_copy_dir(ctx)
    if copies is not None:
        return CertificateFiles(f"{copies}/fullchain.pem", f"{copies}/privkey.pem")
    if files is None or not ctx.compose:
        return files
    prefix = ctx.answers.deployment.prefix
    return CertificateFiles(files.chain.removeprefix(prefix), files.key.removeprefix(prefix))
