"""DNS for federation discovery: SRV and address records, from the system or one name server."""

import ipaddress
import socket

import dns.exception
import dns.rdtypes.IN.SRV
import dns.resolver

from wizard.errors import UsageError
from wizard.verify.discovery import ServerName, SrvRecord, parse_server_name

DNS_PORT = 53
LIFETIME_SECONDS = 10.0
# Answers that mean the record does not exist, as opposed to a name server that failed.
_ABSENT = (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer)


class DnsError(Exception):
    """A lookup that got no answer at all (a timeout, a failing name server), not "no record"."""


def parse_resolver(text: str) -> tuple[str, int]:
    """Return the address (or host name) and port of a --resolver ADDRESS[:PORT] value."""
    try:
        return str(ipaddress.IPv6Address(text)), DNS_PORT
    except ValueError:
        pass
    try:
        name = parse_server_name(text)
    except ValueError as error:
        raise UsageError(
            f"--resolver {error}", "give a name server's address, such as 192.0.2.53 or ns1:5353"
        ) from None
    return name.host, name.port or DNS_PORT


class Lookup:
    """Ask one name server (given as --resolver), or the system's resolver when none is given."""

    def __init__(self, server: tuple[str, int] | None) -> None:
        self._server = server
        try:
            self._resolver = dns.resolver.Resolver(configure=server is None)
        except dns.resolver.NoResolverConfiguration:
            raise UsageError(
                "this machine has no DNS resolver configured (/etc/resolv.conf)",
                "give --resolver ADDRESS",
            ) from None
        self._resolver.lifetime = LIFETIME_SECONDS
        if server is not None:
            host, port = server
            self._resolver.nameservers = [_server_address(host)]
            self._resolver.port = port

    def describe(self) -> str:
        """Return which resolver answers, for messages."""
        if self._server is None:
            return "the system's resolver"
        host, port = self._server
        return f"the name server {ServerName(host, port)}"

    def _ask(self, name: str, kind: str) -> dns.resolver.Answer | None:
        try:
            return self._resolver.resolve(name, kind, search=False)
        except _ABSENT:
            return None
        except dns.exception.DNSException as error:
            raise DnsError(f"{self.describe()} gave no answer for {kind} {name}: {error}") from None

    def srv(self, name: str) -> list[SrvRecord]:
        """Return the SRV records of a name, the one servers try first first."""
        answer = self._ask(name, "SRV")
        rows = [row for row in answer or () if isinstance(row, dns.rdtypes.IN.SRV.SRV)]
        rows.sort(key=lambda row: (row.priority, -row.weight))
        records = [SrvRecord(name, row.target.to_text().rstrip("."), row.port) for row in rows]
        return [record for record in records if record.target]  # "." means: no service here

    def addresses(self, host: str) -> list[str]:
        """Return the IP addresses a host name resolves to (an IP literal is its own address)."""
        if ServerName(host, None).is_ip:
            return [host]
        if self._server is None:
            return _system_addresses(host)
        found: list[str] = []
        failures: list[DnsError] = []
        for kind in ("A", "AAAA"):
            try:
                found += [row.to_text() for row in self._ask(host, kind) or ()]
            except DnsError as error:
                failures.append(error)
        if failures and not found:
            raise failures[0]
        return found  # servers connect with the addresses they got, whatever failed besides


def _system_addresses(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _server_address(host: str) -> str:
    """Return the IP address of the --resolver name server, looking up a host name once."""
    addresses = _system_addresses(host)
    if not addresses:
        raise UsageError(
            f"--resolver {host} does not resolve", "give the name server's IP address instead"
        )
    return addresses[0]
