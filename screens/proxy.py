"""Step 7, Proxy and TLS: nginx, Caddy or Traefik; where certificates come from; federation port."""

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input

from screens import validation
from screens.state import Draft
from screens.step import StepPane
from screens.widgets.choices import Choices
from screens.widgets.entry import Entry
from screens.widgets.field import Field
from wizard.answers.model import ProxyKind, TlsMode

PROXIES = (
    (ProxyKind.NGINX.value, "nginx"),
    (ProxyKind.CADDY.value, "Caddy"),
    (ProxyKind.TRAEFIK.value, "Traefik"),
)
TLS_MODES = (
    (TlsMode.ACME.value, "ACME: certificates from Let's Encrypt, renewed on their own"),
    (TlsMode.FILES.value, "files: certificates already on the host"),
    (TlsMode.EXTERNAL.value, "external: TLS ends in front of this proxy (a load balancer)"),
)
FEDERATION_PORTS = (
    ("8448", "8448: the Matrix default, one more port open"),
    ("443", "443: through delegation, no extra port"),
)


class ProxyStep(StepPane):
    """Pick the proxy, the source of certificates and the federation port."""

    STEP_NAME = "Proxy and TLS"
    HELP = "proxy"
    SECTIONS = ("proxy",)
    BUILT_FROM = ()

    def compose_form(self) -> ComposeResult:
        """Lay out the proxy, TLS and federation choices with the fields each needs."""
        proxy = self.view()["proxy"]
        yield Field(
            Choices(PROXIES, str(proxy.get("kind")), id="kind", horizontal=True),
            path="proxy.kind",
            why="all three serve only the Matrix routes; the admin API stays private",
        )
        yield Field(
            Choices(TLS_MODES, str(proxy.get("tls")), id="tls"),
            path="proxy.tls",
        )
        with Vertical(id="acme"):
            yield Field(
                Entry(
                    str(proxy.get("acme_email") or ""),
                    id="acme-email",
                    validators=[validation.email()],
                ),
                path="proxy.acme_email",
                why="where expiry notices go",
            )
        with Vertical(id="tls-files"):
            yield Field(
                Entry(
                    str(proxy.get("cert_path") or ""),
                    id="cert-path",
                    placeholder="/etc/ssl/matrix/fullchain.pem",
                    validators=[validation.absolute_path(optional=True)],
                ),
                path="proxy.cert_path",
            )
            yield Field(
                Entry(
                    str(proxy.get("key_path") or ""),
                    id="key-path",
                    placeholder="/etc/ssl/matrix/privkey.pem",
                    validators=[validation.absolute_path(optional=True)],
                ),
                path="proxy.key_path",
            )
        yield Field(
            Choices(FEDERATION_PORTS, str(proxy.get("federation_port")), id="federation"),
            path="proxy.federation_port",
        )

    def on_mount(self) -> None:
        """Show the fields the certificate choice needs."""
        self._arrange()

    def _tls(self) -> str:
        return self.query_one("#tls", Choices).selected or TlsMode.ACME.value

    def _arrange(self) -> None:
        tls = self._tls()
        self.query_one("#acme").display = tls == TlsMode.ACME.value
        self.query_one("#tls-files").display = tls == TlsMode.FILES.value

    def _value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value.strip()

    def form(self) -> Draft:
        """Return the proxy section as entered, keeping settings not on screen.

        Fields of the other certificate choices are left out.
        """
        tls = self._tls()
        port = self.query_one("#federation", Choices).selected or "8448"
        return {
            "proxy": {
                **self.view()["proxy"],
                "kind": self.query_one("#kind", Choices).selected or ProxyKind.NGINX.value,
                "tls": tls,
                "acme_email": self._value("acme-email") if tls == TlsMode.ACME.value else None,
                "cert_path": (self._value("cert-path") or None)
                if tls == TlsMode.FILES.value
                else None,
                "key_path": (self._value("key-path") or None)
                if tls == TlsMode.FILES.value
                else None,
                "federation_port": int(port),
            }
        }

    def form_changed(self) -> None:
        """Show the fields that apply, then check again."""
        self._arrange()
        self.revalidate()
