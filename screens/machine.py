"""Step 2, Machine: probe this machine, reach one over SSH, or describe one for planning."""

import getpass
import re
from dataclasses import replace

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, LoadingIndicator, Select, Static

from screens import validation
from screens.draft import machine_section
from screens.messages import ConnectRequested, ProbeRequested
from screens.remote import RemoteTarget
from screens.state import Draft, Mode, WizardState
from screens.step import StepPane
from screens.widgets.choices import Choices
from screens.widgets.entry import Entry
from screens.widgets.facts_table import FactsTable
from screens.widgets.field import Field
from wizard.answers import validators
from wizard.answers.model import Problem
from wizard.errors import UsageError, quoted
from wizard.probe.facts import DiskKind, HostFacts
from wizard.probe.profile import describe_machine, list_profiles, load_profile
from wizard.units import format_cores, format_size, parse_cores, parse_size

DEFAULT_DATA_PATH = "/var/lib"
_USER = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")
# One label, as a Host of ~/.ssh/config or a name in /etc/hosts may be.
_ALIAS = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,62})$")


def _host_problem(host: str) -> str | None:
    """Return what is wrong with the host to connect to, or None."""
    if not host:
        return "give the machine's address or name, or a Host of your ~/.ssh/config"
    if validators.is_ip_address(host):
        return None
    try:
        ascii_host = validators.to_ascii_hostname(host)[0]
        if "." in ascii_host:
            validators.check_dns_name(ascii_host)
        elif not _ALIAS.match(ascii_host):
            return f"{host!r} is not a host name: use letters, digits and hyphens"
    except ValueError as error:
        return str(error)
    return None


SOURCES = (("profile", "a profile of a common plan"), ("hand", "its figures"))
DISK_KINDS = (("ssd", "SSD"), ("hdd", "HDD"), ("unknown", "not sure"))


def _profile_label(name: str) -> str:
    profile = next(profile for profile in list_profiles() if profile.name == name)
    return (
        f"{profile.name}: {format_cores(profile.cores)}, {format_size(profile.ram)} RAM, "
        f"{format_size(profile.disk)} {profile.disk_kind.value}"
    )


class MachineStep(StepPane):
    """Learn the machine the bundle is for, and show its facts."""

    STEP_NAME = "Machine"
    HELP = "machine"
    DEPENDS_ON = ("mode", "facts")
    SECTIONS = ("machine",)

    def __init__(
        self, state: WizardState, *, position: int, count: int, earlier: tuple[str, ...]
    ) -> None:
        super().__init__(state, position=position, count=count, earlier=earlier)
        self.facts: HostFacts | None = state.facts
        self.busy = False
        self.busy_doing = ""
        self.failure: Problem | None = None
        self._entry_problems: list[Problem] = []
        self._probed_path: str | None = state.machine_form.get("probed")

    def _value(self, key: str, default: str = "") -> str:
        return self.state.machine_form.get(key, default)

    # --- Layout -------------------------------------------------------------------------------

    def compose_form(self) -> ComposeResult:
        """Lay out the form for the mode, then the facts."""
        mode = self.state.mode
        if mode is Mode.LOCAL:
            yield from self._compose_local()
        elif mode is Mode.REMOTE:
            yield from self._compose_remote()
        else:
            yield from self._compose_plan()
        yield FactsTable(self.facts, id="facts")

    def _compose_local(self) -> ComposeResult:
        yield Static(
            "The probe reads this machine's CPU, RAM, disk, system, rights, ports in use and "
            "tools. It changes nothing.",
            classes="why",
        )
        yield Field(
            Entry(
                self._value("data_path", DEFAULT_DATA_PATH),
                id="data-path",
                validators=[validation.absolute_path()],
            ),
            path="local.data_path",
            why="where the homeserver keeps its data; the disk there is measured",
        )
        yield from self._action_row(
            ("Probe again", "probe", "Read this machine's facts again"),
            (
                "Measure disk",
                "measure",
                "Time random reads at the data folder to tell SSD from HDD: a few seconds, "
                "with a test file written there and removed",
            ),
        )

    def _compose_remote(self) -> ComposeResult:
        yield Static(
            "The wizard connects over SSH and reads the machine in one round trip. "
            "Your SSH agent and keys are used; nothing is changed there yet.",
            classes="why",
        )
        yield Field(
            Entry(self._value("host"), id="host", placeholder="vps.example.com"),
            path="remote.host",
            why="an address, a name, or a Host of your ~/.ssh/config",
        )
        yield Field(
            Entry(self._value("port"), id="port", placeholder="22, or as ~/.ssh/config says"),
            path="remote.port",
        )
        yield Field(
            Entry(
                self._value("user"),
                id="user",
                placeholder=f"{getpass.getuser()}, or as ~/.ssh/config says",
            ),
            path="remote.user",
            why="a fresh server is usually reached as root",
        )
        yield Field(
            Entry(self._value("key_file"), id="key-file", placeholder="~/.ssh/id_ed25519"),
            path="remote.key_file",
            why="optional: without it, the agent and your default keys are tried",
        )
        yield from self._action_row(("Connect", "connect", "Connect and read the machine's facts"))

    def _action_row(self, *buttons: tuple[str, str, str]) -> ComposeResult:
        """Lay out the buttons, each with its label, id and tooltip, then the progress."""
        with Horizontal(classes="action-row"):
            for label, button_id, tooltip in buttons:
                button = Button(label, id=button_id, compact=True)
                button.tooltip = tooltip
                yield button
            yield LoadingIndicator(id="busy")
            yield Static("", id="machine-status", markup=False)

    def _compose_plan(self) -> ComposeResult:
        source = self._value("source", "profile")
        names = [profile.name for profile in list_profiles()]
        chosen = self._value("profile", "vps-4g" if "vps-4g" in names else names[0])
        yield Field(
            Choices(SOURCES, source, id="source", horizontal=True),
            path="plan.source",
        )
        with Vertical(id="by-profile"):
            yield Field(
                Select(
                    [(_profile_label(name), name) for name in names],
                    value=chosen,
                    allow_blank=False,
                    id="profile",
                    compact=True,
                ),
                path="plan.profile",
            )
        with Vertical(id="by-hand"):
            yield Field(
                Entry(self._value("cores"), id="cores", placeholder="2"),
                path="plan.cores",
            )
            yield Field(
                Entry(
                    self._value("ram"), id="ram", placeholder="4G", validators=[validation.size()]
                ),
                path="plan.ram",
                why="such as 512M, 4G or 4GiB (all powers of 1024)",
            )
            yield Field(
                Entry(
                    self._value("disk"),
                    id="disk",
                    placeholder="60G",
                    validators=[validation.size()],
                ),
                path="plan.disk",
            )
            yield Field(
                Choices(DISK_KINDS, self._value("kind", "ssd"), id="kind", horizontal=True),
                path="plan.kind",
            )

    def on_mount(self) -> None:
        """Lay out the planning form."""
        if self.state.mode not in (Mode.LOCAL, Mode.REMOTE):
            self._plan_changed()
        self._show_busy()

    def arrived(self) -> None:
        """Start probing this machine if it has not been probed."""
        if self.state.mode is Mode.LOCAL and self.facts is None:
            self._start_probe()
            self._show_busy()

    # --- Entries ------------------------------------------------------------------------------

    def _input(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value.strip()

    def machine_form(self) -> dict[str, str]:
        """Return what was entered, to keep when going back and forth."""
        mode = self.state.mode
        form: dict[str, str] = {}
        if mode is Mode.LOCAL:
            form["data_path"] = self._input("data-path")
        elif mode is Mode.REMOTE:
            for key, widget_id in (
                ("host", "host"),
                ("port", "port"),
                ("user", "user"),
                ("key_file", "key-file"),
            ):
                form[key] = self._input(widget_id)
        else:
            form["source"] = self.query_one("#source", Choices).selected or "profile"
            profile = self.query_one("#profile", Select).value
            form["profile"] = profile if isinstance(profile, str) else ""
            for key in ("cores", "ram", "disk"):
                form[key] = self._input(key)
            form["kind"] = self.query_one("#kind", Choices).selected or "unknown"
        if self._probed_path is not None:
            form["probed"] = self._probed_path
        return form

    def form(self) -> Draft:
        """Return the machine section that follows from the facts, once there are facts."""
        if self.facts is None:
            return {}
        return {"machine": machine_section(self.facts)}

    def form_changed(self) -> None:
        """Recompute a planned machine as it is typed; check the step again."""
        if self.state.mode not in (Mode.LOCAL, Mode.REMOTE):
            self._plan_changed()
        elif self.state.mode is Mode.REMOTE:
            self._entry_problems = self._remote_problems()
        self.revalidate()

    def _plan_changed(self) -> None:
        by_hand = (self.query_one("#source", Choices).selected or "profile") == "hand"
        self.query_one("#by-profile").display = not by_hand
        self.query_one("#by-hand").display = by_hand
        self._entry_problems = []
        facts: HostFacts | None = None
        if by_hand:
            facts = self._described()
        else:
            name = self.query_one("#profile", Select).value
            if isinstance(name, str):
                facts = load_profile(name)
        if facts != self.facts:
            self.facts = facts
            self.query_one(FactsTable).show(facts)

    def _described(self) -> HostFacts | None:
        sizes: dict[str, int] = {}
        for key in ("ram", "disk"):
            text = self._input(key)
            if not text:
                self._entry_problems.append(
                    Problem(path=f"plan.{key}", message="give a size, such as 4G")
                )
                continue
            try:
                sizes[key] = parse_size(text)
            except UsageError as error:
                self._entry_problems.append(Problem(path=f"plan.{key}", message=str(error)))
        try:
            cores = parse_cores(self._input("cores"))
        except UsageError as error:
            self._entry_problems.append(Problem(path="plan.cores", message=str(error)))
            return None
        if self._entry_problems:
            return None
        kind = DiskKind(self.query_one("#kind", Choices).selected or "unknown")
        return describe_machine(cores, sizes["ram"], sizes["disk"], kind)

    def _remote_problems(self) -> list[Problem]:
        problems = []
        host = self._input("host")
        host_problem = _host_problem(host)
        if host_problem:
            problems.append(Problem(path="remote.host", message=host_problem))
        port = self._input("port")
        if port and not validators.is_port(port):
            problems.append(
                Problem(path="remote.port", message=f"{quoted(port)} is not a port: use 1 to 65535")
            )
        user = self._input("user")
        if user and not _USER.match(user):
            problems.append(
                Problem(path="remote.user", message="give a user name such as root or admin")
            )
        return problems

    def given(self, path: str) -> bool:
        """Return whether the entry at path (such as plan.cores) held something when shown."""
        return bool(self.state.machine_form.get(path.rpartition(".")[2]))

    def step_problems(self) -> list[Problem]:
        """Return what stands between the person and the facts of the machine."""
        problems = list(self._entry_problems)
        if self.failure is not None:
            problems.append(self.failure)
        if self.busy:
            problems.append(Problem(path="", message=f"{self.busy_doing}..."))
        elif self.facts is None and not problems:
            problems.append(Problem(path="", message=self._missing_facts()))
        elif self.state.mode is Mode.LOCAL and self._probed_path not in (
            None,
            self._input("data-path"),
        ):
            problems.append(
                Problem(
                    path="local.data_path",
                    message="the data folder changed: press Enter or Probe again to measure it",
                )
            )
        return problems

    def _missing_facts(self) -> str:
        if self.state.mode is Mode.REMOTE:
            return "connect to read the machine's facts"
        if self.state.mode is Mode.LOCAL:
            return "probe this machine to go on"
        return "describe the machine to go on"

    # --- Probing and connecting ---------------------------------------------------------------

    def _start_probe(self, *, measure_disk: bool = False) -> None:
        path = self._input("data-path") or DEFAULT_DATA_PATH
        self.busy = True
        self.failure = None
        self._probed_path = path
        if measure_disk:
            self.busy_doing = f"measuring the disk at {path}"
            self.query_one("#machine-status", Static).update(f"Measuring the disk at {path}...")
        else:
            self.busy_doing = "reading the machine's facts"
        self.post_message(ProbeRequested(path, measure_disk=measure_disk))

    def _start_connect(self) -> None:
        self._entry_problems = self._remote_problems()
        if self._entry_problems:
            self.revalidate()
            return
        key_file = self._input("key-file") or None
        port = self._input("port")
        target = RemoteTarget(
            host=self._input("host"),
            port=int(port) if port else None,
            user=self._input("user") or None,
            key_file=key_file,
        )
        self.busy = True
        self.busy_doing = "reading the machine's facts"
        self.failure = None
        self.facts = None
        self.query_one("#machine-status", Static).update(f"Connecting to {target.host}...")
        self.post_message(ConnectRequested(target))

    def _show_busy(self) -> None:
        for indicator in self.query("#busy"):
            indicator.display = self.busy
        for button in self.query(".action-row Button"):
            button.disabled = self.busy
        self.revalidate()

    @on(Button.Pressed, "#probe")
    def _probe_pressed(self) -> None:
        self._start_probe()
        self._show_busy()

    @on(Button.Pressed, "#measure")
    def _measure_pressed(self) -> None:
        self._start_probe(measure_disk=True)
        self._show_busy()

    @on(Input.Submitted, "#data-path")
    def _data_path_submitted(self, event: Input.Submitted) -> None:
        # Facts read for the folder shown: Enter goes on, as from any field; else it probes.
        if self.valid:
            return
        event.prevent_default()
        self._start_probe()
        self._show_busy()

    @on(Button.Pressed, "#connect")
    def _connect_pressed(self) -> None:
        self._start_connect()
        self._show_busy()

    def facts_arrived(self, facts: HostFacts) -> None:
        """Show the facts a worker found."""
        self.busy = False
        self.failure = None
        self.facts = facts
        for status in self.query("#machine-status"):
            if isinstance(status, Static):
                status.update("")
        self.query_one(FactsTable).show(facts)
        self._show_busy()

    def work_failed(self, message: str) -> None:
        """Show why probing or connecting failed, beside the field to change."""
        self.busy = False
        self.facts = None
        path = "local.data_path" if self.state.mode is Mode.LOCAL else "remote.host"
        self.failure = Problem(path=path, message=message)
        for status in self.query("#machine-status"):
            if isinstance(status, Static):
                status.update("")
        self.query_one(FactsTable).show(None)
        self._show_busy()
        self.call_after_refresh(self._keep_action_in_view)

    def _keep_action_in_view(self) -> None:
        """Scroll the Probe or Connect button back into view, below a reason of many lines."""
        for button in self.query(".action-row Button"):
            button.scroll_visible(animate=False)

    # --- Handing back -------------------------------------------------------------------------

    def hand_back(self, state: WizardState) -> WizardState:
        """Return the state with the facts, the machine section and the entries."""
        state = super().hand_back(state)
        remote_host = self._input("host") if self.state.mode is Mode.REMOTE else None
        return replace(
            state, facts=self.facts, machine_form=self.machine_form(), remote_host=remote_host
        )

    def keep_entries(self, state: WizardState) -> WizardState:
        """Return the state with the entries kept, and the facts if there are any."""
        return replace(state, facts=self.facts, machine_form=self.machine_form())
