"""The Matrix server-discovery algorithm (server-server API, "Resolving server names"), no I/O.

A remote homeserver turns a server_name into the host and port it connects to, the name the
certificate there must cover, and the Host header it sends. The lookups are passed in, so that
doctor runs them over the network and the tests run them from tables.
"""

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

DEFAULT_PORT = 8448
# The SRV services, in the order servers ask for them: the second is deprecated but still read.
SRV_SERVICES = ("_matrix-fed._tcp", "_matrix._tcp")
_DNS_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,253}[A-Za-z0-9])?$")

Source = Literal["ip", "port", "well-known", "srv", "default"]


@dataclass(frozen=True)
class ServerName:
    """A server name split into its host (IPv6 without brackets) and its port, if it names one."""

    host: str
    port: int | None

    @property
    def is_ip(self) -> bool:
        """Return whether the host is an IP literal rather than a DNS name."""
        return ":" in self.host or _is_ipv4(self.host)

    @property
    def bracketed(self) -> str:
        """Return the host as it is written in front of a port: IPv6 in brackets."""
        return f"[{self.host}]" if ":" in self.host else self.host

    def __str__(self) -> str:
        return self.bracketed if self.port is None else f"{self.bracketed}:{self.port}"


@dataclass(frozen=True)
class SrvRecord:
    """One SRV record: its own name and the target host and port it points to."""

    name: str
    target: str
    port: int


@dataclass(frozen=True)
class WellKnown:
    """What https://host/.well-known/matrix/server gave: its m.server, or why servers ignore it."""

    url: str
    m_server: ServerName | None
    problem: str = ""


@dataclass(frozen=True)
class Endpoint:
    """Where discovery leads: host and port, the certificate name, the Host header, and how."""

    host: str
    port: int
    tls_name: str
    host_header: str
    source: Source
    how: str
    wellknown: WellKnown | None = None
    srv: SrvRecord | None = None


def _is_ipv4(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


def _is_ipv6(host: str) -> bool:
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        return False
    return True


def parse_server_name(text: str) -> ServerName:
    """Return the host and port of a server name (or m.server value), else raise ValueError."""
    if text.startswith("["):
        inside, bracket, rest = text[1:].partition("]")
        if not bracket or not _is_ipv6(inside) or (rest and not rest.startswith(":")):
            raise ValueError(f"{text!r} is not [IPv6 address] or [IPv6 address]:port")
        host, port_text = inside, (rest[1:] if rest else None)
    else:
        host, colon, after = text.partition(":")
        port_text = after if colon else None
        if not (_DNS_NAME.match(host) or _is_ipv4(host)):
            raise ValueError(f"{text!r} is not a host name, IP address or host:port")
    if port_text is None:
        return ServerName(host, None)
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"{text!r} has a port that is not a number from 1 to 65535")
    return ServerName(host, int(port_text))


def parse_m_server(document: object) -> ServerName:
    """Return the server name a well-known document delegates to, else raise ValueError."""
    if not isinstance(document, dict):
        raise ValueError("it is not a JSON object")
    value = document.get("m.server")
    if not isinstance(value, str):
        raise ValueError("it holds no m.server string")
    return parse_server_name(value)


def _explicit(
    name: ServerName, source: Source, how: str, wellknown: WellKnown | None = None
) -> Endpoint:
    """Return the endpoint of a name whose port is fixed: the one it names, else 8448."""
    port = name.port or DEFAULT_PORT
    return Endpoint(name.host, port, name.host, str(name), source, how, wellknown)


def _by_srv(
    name: ServerName, srv: Callable[[str], list[SrvRecord]], how: str, wellknown: WellKnown | None
) -> Endpoint:
    """Return the endpoint of a host without a port: its SRV record, else port 8448."""
    for service in SRV_SERVICES:
        records = srv(f"{service}.{name.host}")
        if records:
            record = records[0]
            return Endpoint(
                record.target,
                record.port,
                name.host,
                name.host,
                "srv",
                f"{how}SRV {record.name} points to {record.target}:{record.port}",
                wellknown,
                record,
            )
    return Endpoint(
        name.host,
        DEFAULT_PORT,
        name.host,
        name.host,
        "default",
        f"{how}no SRV record for {name.host}: port {DEFAULT_PORT}",
        wellknown,
    )


def find_endpoint(
    server_name: ServerName,
    wellknown: Callable[[str], WellKnown],
    srv: Callable[[str], list[SrvRecord]],
) -> Endpoint:
    """Follow the spec's steps from a server_name to the endpoint a remote server connects to."""
    if server_name.is_ip:
        return _explicit(server_name, "ip", f"{server_name} is an IP address")
    if server_name.port is not None:
        return _explicit(server_name, "port", f"{server_name} names its port")
    found = wellknown(server_name.host)
    delegated = found.m_server
    if delegated is None:
        return _by_srv(server_name, srv, f"no .well-known ({found.problem}); ", found)
    via = f"{server_name} delegates to {delegated} (.well-known)"
    if delegated.is_ip or delegated.port is not None:
        return _explicit(delegated, "well-known", via, found)
    return _by_srv(delegated, srv, f"{via}; ", found)
