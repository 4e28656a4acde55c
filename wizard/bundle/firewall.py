"""firewall.sh: open exactly the ports the deployment uses, with ufw or else nftables, kept."""

from dataclasses import dataclass
from typing import Literal

from wizard.bundle import calls, shell
from wizard.bundle.context import RenderContext
from wizard.bundle.model import EXECUTABLE, Bundle, File

FIREWALL_SCRIPT = "firewall.sh"

Protocol = Literal["tcp", "udp"]


@dataclass(frozen=True)
class PortRule:
    """One inbound port (or range of ports) the host firewall opens, and why."""

    port: int
    protocol: Protocol
    purpose: str
    last_port: int | None = None

    @property
    def ports(self) -> str:
        """Return the port, or the range written first-last."""
        return f"{self.port}-{self.last_port}" if self.last_port else str(self.port)


def open_ports(ctx: RenderContext) -> list[PortRule]:
    """Return every inbound port the deployment needs, in a stable order, without repeats."""
    ports = ctx.ports
    rules = [
        PortRule(ctx.answers.firewall.ssh_port, "tcp", "ssh"),
        PortRule(ports.http, "tcp", "http"),
        PortRule(ports.https, "tcp", "https"),
    ]
    if ctx.federation_port != ports.https:
        rules.append(PortRule(ctx.federation_port, "tcp", "federation"))
    if ctx.answers.calls.turn:
        turn_ports = [(ports.turn, "turn")]
        if calls.turn_tls(ctx):
            turn_ports.append((ports.turns, "turn-tls"))
        for port, purpose in turn_ports:
            rules += [PortRule(port, "tcp", purpose), PortRule(port, "udp", purpose)]
        relay = ctx.answers.calls
        rules.append(PortRule(relay.relay_min_port, "udp", "turn-relay", relay.relay_max_port))
    if ctx.answers.calls.matrix_rtc:
        rules += [
            PortRule(ctx.answers.calls.rtc_tcp_port, "tcp", "livekit-media"),
            PortRule(ctx.answers.calls.rtc_udp_port, "udp", "livekit-media"),
        ]
    unique: dict[tuple[str, Protocol], PortRule] = {}
    for rule in rules:
        unique.setdefault((rule.ports, rule.protocol), rule)
    return list(unique.values())


def render(ctx: RenderContext) -> Bundle:
    """Return firewall.sh when a host firewall is wanted."""
    if not ctx.answers.firewall.enabled:
        return {}
    rows = [(rule.ports, rule.protocol, rule.purpose) for rule in open_ports(ctx)]
    values = {
        "rules": shell.table(rows),
        "ssh_port": shell.word(ctx.answers.firewall.ssh_port),
        "container_dns": "1" if ctx.compose else "0",
    }
    text = shell.fragment("firewall.sh", values)
    return {FIREWALL_SCRIPT: File(text, EXECUTABLE)}
