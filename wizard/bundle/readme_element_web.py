"""The README's Element Web section: where it is served, from what, and what is trusted."""

from wizard.answers.model import TlsMode
from wizard.bundle import element_web, versions
from wizard.bundle.context import RenderContext


def _code(*lines: str) -> list[str]:
    return ["```sh", *lines, "```", ""]


def _source(ctx: RenderContext) -> list[str]:
    """Return where Element Web's files come from, and how to check them."""
    if ctx.compose:
        return [
            f"The `{element_web.SERVICE}` container runs Element's official image "
            f"`{versions.ELEMENT_WEB_IMAGE}` with `{element_web.CONFIG_FILE}` mounted as its "
            "`config.json`; the proxy forwards the host to it and adds the headers below.",
            "",
        ]
    tarball = element_web.tarball_url()
    return [
        f"apply.sh unpacks Element Web {versions.ELEMENT_WEB_VERSION} into "
        f"`{element_web.web_root(ctx)}`, which the proxy serves; `/config.json` is "
        f"`{element_web.CONFIG_FILE}` of this folder. It downloads {tarball} over HTTPS: no "
        "checksum of it is pinned here, so what is trusted is GitHub and its TLS certificate. "
        "apply.sh prints the tarball's sha256. Element signs each release: to check it first, "
        "fetch the tarball and its `.asc` signature yourself, verify it against Element's key "
        "(https://packages.element.io/element-release-key.asc; compare its fingerprint with one "
        "you trust from another source), and give apply.sh the file:",
        "",
        *_code(
            f"curl -fLO {tarball} -fLO {tarball}.asc",
            "curl -fsSL https://packages.element.io/element-release-key.asc | gpg --import",
            f"gpg --verify {element_web.release_name()}.tar.gz.asc",
            f"sudo ./apply.sh --element-web-tarball=$PWD/{element_web.release_name()}.tar.gz",
        ),
    ]


def readme_section(ctx: RenderContext) -> list[str]:
    """Return the section, or nothing when Element Web is not served."""
    if not element_web.enabled(ctx):
        return []
    certificate = []
    if ctx.answers.proxy.tls is TlsMode.FILES:
        certificate = [
            f"The certificate files given must cover `{element_web.host(ctx)}` too.",
            "",
        ]
    return [
        "## Element Web",
        "",
        f"Element Web opens at {element_web.url(ctx.answers)}, on a host of its own: Element "
        "advises against serving it from the homeserver's host. It signs in to this server by "
        "default and lets people choose another.",
        "",
        *_source(ctx),
        *certificate,
        "Every answer carries the headers Element Web's README asks for (X-Frame-Options, "
        "X-Content-Type-Options, X-XSS-Protection, Content-Security-Policy frame-ancestors); "
        "`index.html`, `version`, `config*.json` and `i18n/` are sent with "
        "`Cache-Control: no-cache`, so a new release or a changed `config.json` loads on the "
        "next visit.",
        "",
    ]
