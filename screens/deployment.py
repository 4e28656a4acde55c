"""Step 4, Deployment: docker compose or native packages and units, chosen by what the host has."""

from textual.app import ComposeResult
from textual.widgets import Static

from screens.state import Draft, WizardState
from screens.step import StepPane
from screens.widgets.choices import Choices
from screens.widgets.field import Field
from wizard.answers.model import Deployment, Homeserver
from wizard.fit.tiers import DISPLAY_NAMES

DEPLOYMENTS = (
    (Deployment.COMPOSE.value, "docker compose: every service in its own container"),
    (Deployment.NATIVE.value, "native: Debian or Ubuntu packages and systemd units"),
)
NEEDS = {
    Deployment.COMPOSE: "Needs Docker Engine with its compose plugin on the host; apply.sh "
    "stops and says how to install them when they are missing. Images are pinned by release.",
    Deployment.NATIVE: "Needs Debian or Ubuntu with systemd; apply.sh installs the packages "
    "with apt and Synapse in its own virtual environment, and starts systemd units.",
}
HAND_PLACED_BINARY = (
    "Natively, the {name} binary is put in place by hand: apply.sh says where, and nothing "
    "starts until it is there."
)
BUILT_ON_HOST = (
    "Natively, apply.sh builds Dendrite on the machine from its Go module, with Go from the Go "
    "module proxy checked against a pinned sha256; the first apply takes a few minutes."
)


def has_compose(state: WizardState) -> bool | None:
    """Return whether the machine has Docker with compose; None when its tools are unknown."""
    if state.facts is None or not state.facts.tools:
        return None
    tools = state.facts.tools
    return bool(tools.get("docker")) and bool(
        tools.get("docker compose") or tools.get("docker-compose")
    )


def machine_line(state: WizardState) -> str:
    """Return what the machine has for each deployment, or that it is not known."""
    found = has_compose(state)
    if found is None:
        return "The machine's programs are not known: pick the way you mean to run it."
    if found:
        return "This machine has Docker with compose: docker compose is preselected."
    return "This machine has no Docker with compose: native is preselected."


def preselected(state: WizardState) -> Deployment:
    """Return the deployment the answers hold, else the one the machine's programs suggest."""
    chosen = (state.draft.get("deployment") or {}).get("kind")
    if chosen in {kind.value for kind in Deployment}:
        return Deployment(chosen)
    return Deployment.NATIVE if has_compose(state) is False else Deployment.COMPOSE


class DeploymentStep(StepPane):
    """Pick how the bundle runs on the host: in containers, or from packages under systemd."""

    STEP_NAME = "Deployment"
    HELP = "deployment"
    DEPENDS_ON = ("mode", "facts")
    SECTIONS = ("deployment",)
    BUILT_FROM = ("homeserver",)

    def compose_form(self) -> ComposeResult:
        """Lay out what the machine has, the two ways to run it, and what the choice needs."""
        yield Static(machine_line(self.state), id="machine-has", classes="why", markup=False)
        yield Field(
            Choices(DEPLOYMENTS, preselected(self.state).value, id="kind"),
            path="deployment.kind",
        )
        yield Static("", id="needs", classes="why", markup=False)

    def on_mount(self) -> None:
        """Say what the choice needs."""
        self._explain()

    def _kind(self) -> Deployment:
        return Deployment(self.query_one("#kind", Choices).selected or Deployment.COMPOSE.value)

    def _explain(self) -> None:
        kind = self._kind()
        said = NEEDS[kind]
        homeserver = Homeserver(self.view()["homeserver"]["kind"])
        name = DISPLAY_NAMES[homeserver.value]
        if kind is Deployment.NATIVE and homeserver is Homeserver.DENDRITE:
            said += " " + BUILT_ON_HOST
        elif kind is Deployment.NATIVE and homeserver is not Homeserver.SYNAPSE:
            said += " " + HAND_PLACED_BINARY.format(name=name)
        self.query_one("#needs", Static).update(said)

    def form(self) -> Draft:
        """Return the deployment section with the chosen kind; its other settings are kept."""
        return {"deployment": {**self.view()["deployment"], "kind": self._kind().value}}

    def form_changed(self) -> None:
        """Say what the new choice needs, then check it."""
        self._explain()
        self.revalidate()
