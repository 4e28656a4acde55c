"""Step 8, Extras: media, calls, sign-up, encryption, limits, backups, firewall and monitoring."""

from collections.abc import Callable, Iterator
from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Checkbox, Input, Static

from screens import validation
from screens.state import Draft
from screens.step import StepPane
from screens.widgets.choices import Choices
from screens.widgets.entry import Entry
from screens.widgets.field import Field
from screens.widgets.onoff import OnOff
from wizard.answers.model import EncryptionDefault, RateLimits, RegistrationMode

MEDIA = (("local", "local disk"), ("s3", "S3-compatible bucket"))
REGISTRATION = (
    (RegistrationMode.CLOSED.value, "closed"),
    (RegistrationMode.TOKEN.value, "by token"),
    (RegistrationMode.OPEN.value, "open"),
)
ENCRYPTION = (
    (EncryptionDefault.ALL.value, "all new rooms"),
    (EncryptionDefault.INVITE.value, "invite-only rooms"),
    (EncryptionDefault.OFF.value, "off"),
)
RATE_LIMITS = (
    (RateLimits.STRICT.value, "strict"),
    (RateLimits.NORMAL.value, "normal"),
    (RateLimits.RELAXED.value, "relaxed"),
)
EXTRAS_SECTIONS = (
    "media",
    "calls",
    "auth",
    "registration",
    "encryption",
    "rate_limits",
    "backups",
    "firewall",
    "monitoring",
)


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _optional_entries(view: dict[str, Any]) -> dict[str, str]:
    """Return the text each entry of the bucket and TURN groups starts with, by widget id."""
    s3: dict[str, Any] = view["media"].get("s3") or {}
    return {
        "s3-bucket": _text(s3.get("bucket")),
        "s3-endpoint": _text(s3.get("endpoint") or "https://s3.amazonaws.com"),
        "s3-region": _text(s3.get("region") or "us-east-1"),
        "s3-key-id": _text(s3.get("access_key_id")),
        "turn-host": _text(view["calls"].get("turn_host")),
        "external-ip": _text(view["calls"].get("external_ip")),
        "rtc-tcp-port": _text(view["calls"].get("rtc_tcp_port")),
        "rtc-udp-port": _text(view["calls"].get("rtc_udp_port")),
    }


class ExtrasStep(StepPane):
    """Every extra with a sensible default and one line of why."""

    STEP_NAME = "Extras"
    HELP = "extras"
    SECTIONS = EXTRAS_SECTIONS
    BUILT_FROM = ()

    def compose_form(self) -> ComposeResult:
        """Lay out one group per extra."""
        view = self.view()
        media, calls = view["media"], view["calls"]
        yield Static("Media", classes="heading")
        yield Field(
            Choices(MEDIA, str(media.get("backend")), id="media-backend", horizontal=True),
            path="media.backend",
            why="local disk is simple; a bucket grows without bounds",
        )
        yield Field(
            Entry(_text(media.get("max_upload_mb")), id="max-upload"),
            path="media.max_upload_mb",
            why="larger uploads are refused by the proxy and the homeserver",
        )
        with Vertical(id="s3"):
            if media.get("backend") == "s3":
                yield from self._s3_fields()
        yield Static("Calls", classes="heading")
        yield Field(
            OnOff(bool(calls.get("turn")), id="turn"),
            path="calls.turn",
            why="lets voice and video calls through NAT; opens UDP ports",
        )
        with Vertical(id="turn-fields"):
            if calls.get("turn"):
                yield from self._turn_fields()
        yield Field(
            OnOff(bool(calls.get("matrix_rtc")), id="matrix-rtc"),
            path="calls.matrix_rtc",
            why="Element Call group calls: runs LiveKit; opens two ports",
        )
        with Vertical(id="rtc-fields"):
            if calls.get("matrix_rtc"):
                yield from self._rtc_fields()
        yield Static("People and rooms", classes="heading")
        yield Field(
            OnOff(bool(view["auth"].get("mas")), id="mas"),
            path="auth.mas",
            why="MAS: the sign-up and login Element X needs; Synapse on PostgreSQL",
        )
        yield Field(
            Choices(
                REGISTRATION,
                str(view["registration"].get("mode")),
                id="registration",
                horizontal=True,
            ),
            path="registration.mode",
            why="closed or by token keeps spam accounts out",
        )
        yield Field(
            Choices(
                ENCRYPTION,
                str(view["encryption"].get("by_default")),
                id="encryption",
                horizontal=True,
            ),
            path="encryption.by_default",
            why="end-to-end encryption for new rooms, as the overview advises",
        )
        yield Field(
            Choices(
                RATE_LIMITS,
                str(view["rate_limits"].get("preset")),
                id="rate-limits",
                horizontal=True,
            ),
            path="rate_limits.preset",
            why="pushes back on login guessing and message floods",
        )
        yield Static("Operations", classes="heading")
        yield Field(
            OnOff(bool(view["backups"].get("enabled")), id="backups"),
            path="backups.enabled",
            why="database dumps and media copies, kept for a number of days",
        )
        with Vertical(id="backup-fields"):
            yield Field(
                Entry(
                    _text(view["backups"].get("path")),
                    id="backup-path",
                    validators=[validation.absolute_path()],
                ),
                path="backups.path",
            )
            yield Field(
                Entry(_text(view["backups"].get("keep_days")), id="keep-days"),
                path="backups.keep_days",
            )
        yield Field(
            OnOff(bool(view["firewall"].get("enabled")), id="firewall"),
            path="firewall.enabled",
            why="opens exactly the ports in use and refuses the rest",
        )
        with Vertical(id="firewall-fields"):
            yield Field(
                Entry(_text(view["firewall"].get("ssh_port")), id="ssh-port"),
                path="firewall.ssh_port",
                why="kept open so you are not locked out",
            )
        yield Field(
            OnOff(bool(view["monitoring"].get("prometheus")), id="prometheus"),
            path="monitoring.prometheus",
            why="scrapes the homeserver's metrics, never on a public route",
        )
        yield Field(
            OnOff(bool(view["monitoring"].get("grafana")), id="grafana"),
            path="monitoring.grafana",
            why="dashboards over Prometheus",
        )

    def _s3_fields(self) -> Iterator[Field]:
        """Return the bucket's fields, filled from the answers the step was built from."""
        start = _optional_entries(self.view())
        yield Field(
            Entry(start["s3-bucket"], id="s3-bucket", validators=[validation.bucket()]),
            path="media.s3.bucket",
        )
        yield Field(
            Entry(start["s3-endpoint"], id="s3-endpoint", validators=[validation.url()]),
            path="media.s3.endpoint",
        )
        yield Field(Entry(start["s3-region"], id="s3-region"), path="media.s3.region")
        yield Field(
            Entry(start["s3-key-id"], id="s3-key-id"),
            path="media.s3.access_key_id",
            why="the secret key goes in secrets.yaml (s3_secret_access_key), never here",
        )

    def _turn_fields(self) -> Iterator[Field]:
        """Return the TURN server's fields, filled from the answers the step was built from."""
        yield Field(
            Entry(
                _optional_entries(self.view())["turn-host"],
                id="turn-host",
                placeholder="empty: turn.<server_name>",
                validators=[validation.host_name(optional=True)],
            ),
            path="calls.turn_host",
        )

    def _rtc_fields(self) -> Iterator[Field]:
        """Return the fields of MatrixRTC calls: the address LiveKit gives clients, its ports."""
        start = _optional_entries(self.view())
        yield Field(
            Entry(
                start["external-ip"],
                id="external-ip",
                placeholder="such as 203.0.113.10",
                validators=[validation.host_address(optional=True)],
            ),
            path="calls.external_ip",
            why="the address clients send media to; LiveKit never guesses it",
        )
        yield Field(Entry(start["rtc-tcp-port"], id="rtc-tcp-port"), path="calls.rtc_tcp_port")
        yield Field(Entry(start["rtc-udp-port"], id="rtc-udp-port"), path="calls.rtc_udp_port")

    def on_mount(self) -> None:
        """Show the fields that apply to the switches."""
        self._arrange()

    def _on(self, widget_id: str) -> bool:
        return self.query_one(f"#{widget_id}", Checkbox).value

    def _choice(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Choices).selected or ""

    def _value(self, widget_id: str) -> str:
        """Return an entry's text; one still being built has the text it starts with."""
        entry = next(iter(self.query(f"#{widget_id}").results(Input)), None)
        if entry is None:
            return _optional_entries(self.view())[widget_id].strip()
        return entry.value.strip()

    def _arrange(self) -> None:
        self._show_group("#s3", self._choice("media-backend") == "s3", self._s3_fields)
        self._show_group("#turn-fields", self._on("turn"), self._turn_fields)
        self._show_group("#rtc-fields", self._on("matrix-rtc"), self._rtc_fields)
        self.query_one("#backup-fields").display = self._on("backups")
        self.query_one("#firewall-fields").display = self._on("firewall")

    def _show_group(
        self, selector: str, shown: bool, fields: Callable[[], Iterator[Field]]
    ) -> None:
        """Show or hide a group of fields, building them the first time they are shown.

        The bucket, TURN and group-call fields are off by default; most people never see them.
        """
        group = self.query_one(selector)
        if shown and not group.children:
            group.mount_all(fields())
        group.display = shown

    def form(self) -> Draft:
        """Return every extra's section as entered."""
        view = self.view()
        backend = self._choice("media-backend")
        s3 = (
            {
                "bucket": self._value("s3-bucket"),
                "endpoint": self._value("s3-endpoint"),
                "region": self._value("s3-region"),
                "access_key_id": self._value("s3-key-id"),
            }
            if backend == "s3"
            else None
        )
        turn = self._on("turn")
        rtc = self._on("matrix-rtc")
        rtc_answers = (
            {
                "external_ip": self._value("external-ip") or None,
                "rtc_tcp_port": self._value("rtc-tcp-port"),
                "rtc_udp_port": self._value("rtc-udp-port"),
            }
            if rtc
            else {}
        )
        return {
            "media": {
                **view["media"],
                "backend": backend,
                "max_upload_mb": self._value("max-upload"),
                "s3": s3,
            },
            "calls": {
                **view["calls"],
                "turn": turn,
                "turn_host": (self._value("turn-host") or None) if turn else None,
                "matrix_rtc": rtc,
                **rtc_answers,
            },
            "auth": {**view["auth"], "mas": self._on("mas")},
            "registration": {"mode": self._choice("registration")},
            "encryption": {"by_default": self._choice("encryption")},
            "rate_limits": {"preset": self._choice("rate-limits")},
            "backups": {
                "enabled": self._on("backups"),
                "path": self._value("backup-path"),
                "keep_days": self._value("keep-days"),
            },
            "firewall": {"enabled": self._on("firewall"), "ssh_port": self._value("ssh-port")},
            "monitoring": {
                "prometheus": self._on("prometheus"),
                "grafana": self._on("grafana"),
            },
        }

    def form_changed(self) -> None:
        """Show the fields that apply, then check again."""
        self._arrange()
        self.revalidate()
