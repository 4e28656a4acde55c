"""Step 5, Domain: the server_name (which cannot change), the homeserver host and delegation."""

from textual.app import ComposeResult
from textual.widgets import Input, Static

from screens import validation
from screens.state import Draft
from screens.step import StepPane
from screens.widgets.choices import Choices
from screens.widgets.entry import Entry
from screens.widgets.field import Field
from wizard.answers.model import Delegation, default_homeserver_host
from wizard.answers.validators import normalise_server_name

CANNOT_CHANGE = (
    "The server_name cannot change later: every account and room carries it. "
    "Pick the domain you mean to keep."
)
DELEGATIONS = (
    (Delegation.WELL_KNOWN.value, "well-known"),
    (Delegation.SRV.value, "SRV record"),
    (Delegation.NONE.value, "none"),
)
CONSEQUENCES = "\n".join(
    (
        "well-known: servers read server_name's /.well-known/matrix/server (the bundle has it)",
        "SRV: a DNS record points servers to the host; the certificate must cover server_name",
        "none: server_name itself is the homeserver host, federating on port 8448",
    )
)


def derived_host(server_name: str) -> str:
    """Return the homeserver host the answers file derives from a server_name, or ""."""
    try:
        name, _ = normalise_server_name(server_name)
    except ValueError:
        return ""
    return default_homeserver_host(name)


def user_id_preview(server_name: str) -> str:
    """Return how a user ID looks with this server_name, or why it cannot be shown."""
    try:
        name, _ = normalise_server_name(server_name)
    except ValueError:
        return "Your user IDs will look like @you:<server_name>"
    return f"Your user IDs will look like @you:{name}"


class DomainStep(StepPane):
    """Ask for the server_name, the homeserver host, the delegation and an Element Web host."""

    STEP_NAME = "Domain"
    HELP = "domain"
    SECTIONS = ("domain",)
    BUILT_FROM = ()

    def compose_form(self) -> ComposeResult:
        """Lay out the four answers, the preview and the warning."""
        domain = self.view()["domain"]
        server_name = str(domain.get("server_name") or "")
        self._auto_host = derived_host(server_name)
        yield Field(
            Entry(
                server_name,
                id="server-name",
                placeholder="example.com",
                validators=[validation.server_name()],
            ),
            path="domain.server_name",
        )
        yield Static(user_id_preview(server_name), id="preview", markup=False)
        yield Static(CANNOT_CHANGE, id="cannot-change")
        yield Field(
            Entry(
                str(domain.get("homeserver_host") or self._auto_host),
                id="homeserver-host",
                placeholder="matrix.example.com",
                validators=[validation.host_name()],
            ),
            path="domain.homeserver_host",
            why="the host clients and other servers connect to",
        )
        yield Field(
            Choices(
                DELEGATIONS,
                str(domain.get("delegation") or "well-known"),
                id="delegation",
                horizontal=True,
            ),
            path="domain.delegation",
            why=CONSEQUENCES,
        )
        yield Field(
            Entry(
                str(domain.get("element_host") or ""),
                id="element-host",
                placeholder="element.example.com (optional)",
                validators=[validation.host_name(optional=True)],
            ),
            path="domain.element_host",
            why="optional: serves Element Web here, on a host of its own",
        )

    def _value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value.strip()

    def form(self) -> Draft:
        """Return the domain section as entered."""
        return {
            "domain": {
                "server_name": self._value("server-name"),
                "homeserver_host": self._value("homeserver-host"),
                "delegation": self.query_one("#delegation", Choices).selected or "well-known",
                "element_host": self._value("element-host") or None,
            }
        }

    def form_changed(self) -> None:
        """Update the preview, follow the host while it is the derived one, and check again."""
        server_name = self._value("server-name")
        self.query_one("#preview", Static).update(user_id_preview(server_name))
        host = self.query_one("#homeserver-host", Input)
        new_auto = derived_host(server_name)
        if host.value.strip() in ("", self._auto_host) and host.value != new_auto:
            with self.prevent(Input.Changed):
                host.value = new_auto
        self._auto_host = new_auto
        self.revalidate()
