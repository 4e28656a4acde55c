"""How others find the homeserver: /.well-known/matrix files and the DNS records to create."""

import json
from dataclasses import dataclass
from typing import Any

from wizard.answers import validators
from wizard.answers.model import Delegation, TlsMode
from wizard.bundle import mas, matrix_rtc
from wizard.bundle.context import RenderContext
from wizard.bundle.model import Bundle, File

WELLKNOWN_SERVER = "server"
WELLKNOWN_CLIENT = "client"
WELLKNOWN_BUNDLE_DIR = "well-known/matrix"
DNS_RECORDS_FILE = "dns-records.txt"
DNS_TTL = 3600
IPV4_PLACEHOLDER = "<public IPv4 address of this server>"
IPV6_PLACEHOLDER = "<public IPv6 address of this server>"
RTC_FOCI = "org.matrix.msc4143.rtc_foci"


@dataclass(frozen=True)
class DnsRecord:
    """One DNS record to create at the domain's DNS provider."""

    name: str
    type: str
    value: str
    purpose: str
    optional: bool = False

    def zone_line(self) -> str:
        """Return the record as a zone-file line."""
        return f"{self.name}. {DNS_TTL} IN {self.type} {self.value}"


def delegation_applies(ctx: RenderContext) -> bool:
    """Return whether servers look up delegation at all: not for an explicit port."""
    return ":" not in ctx.server_name


def client_base_url(ctx: RenderContext) -> str:
    """Return the homeserver's public URL as clients want it: without a trailing slash."""
    return ctx.public_baseurl.rstrip("/")


def wellknown_documents(ctx: RenderContext) -> dict[str, dict[str, Any]]:
    """Return the /.well-known/matrix documents the server_name host serves, by file name.

    `server` is written only for well-known delegation: with SRV or none a server file would
    override the SRV record or point where servers go anyway. `client` is written whenever
    people's user IDs name a host other than the homeserver, because clients find the
    homeserver from the user ID through this file alone (they never read SRV records).
    """
    documents: dict[str, dict[str, Any]] = {}
    delegation = ctx.answers.domain.delegation
    if delegation is Delegation.WELL_KNOWN and delegation_applies(ctx):
        documents[WELLKNOWN_SERVER] = {"m.server": ctx.federation_endpoint}
    calls = ctx.answers.calls.matrix_rtc
    if delegation is Delegation.WELL_KNOWN or ctx.server_name_host != ctx.homeserver_host or calls:
        client: dict[str, Any] = {"m.homeserver": {"base_url": client_base_url(ctx)}}
        if calls:
            # MSC4143: where clients find the MatrixRTC backend (Element Call's guide).
            client[RTC_FOCI] = matrix_rtc.foci(ctx)
        documents[WELLKNOWN_CLIENT] = client
    return documents


def _address_records(host: str, purpose: str) -> list[DnsRecord]:
    return [
        DnsRecord(host, "A", IPV4_PLACEHOLDER, purpose),
        DnsRecord(host, "AAAA", IPV6_PLACEHOLDER, f"{purpose} (only if the server has IPv6)", True),
    ]


def dns_records(ctx: RenderContext) -> list[DnsRecord]:
    """Return the DNS records the deployment needs, address records first."""
    hosts = {ctx.server_name_host: "the server_name: user IDs and /.well-known/matrix"}
    hosts.setdefault(ctx.homeserver_host, "the homeserver: clients and federation")
    if ctx.answers.calls.turn and ctx.answers.calls.turn_host:
        hosts.setdefault(ctx.answers.calls.turn_host, "TURN for calls (no CDN or proxy in front)")
    if ctx.answers.domain.element_host:
        hosts.setdefault(ctx.answers.domain.element_host, "Element Web")
    if mas.enabled(ctx):
        hosts.setdefault(mas.host(ctx), "Matrix Authentication Service: sign-up and login")
    records = [
        record
        for host, purpose in hosts.items()
        if not validators.is_ip_address(host)
        for record in _address_records(host, purpose)
    ]
    if ctx.answers.domain.delegation is Delegation.SRV and delegation_applies(ctx):
        target = f"10 0 {ctx.federation_port} {ctx.homeserver_host}."
        records.append(
            DnsRecord(
                f"_matrix-fed._tcp.{ctx.server_name_host}",
                "SRV",
                target,
                "federation delegation; the TLS certificate must also cover the server_name",
            )
        )
    if ctx.answers.proxy.tls is TlsMode.ACME:
        records.extend(
            DnsRecord(
                host, "CAA", '0 issue "letsencrypt.org"', "limit who may issue certificates", True
            )
            for host in dict.fromkeys((ctx.server_name_host, ctx.homeserver_host))
            if not validators.is_ip_address(host)
        )
    return records


def _dns_text(ctx: RenderContext) -> str:
    lines = [
        f"; DNS records for the Matrix server {ctx.server_name}, written by matrix-wizard.",
        f"; Replace {IPV4_PLACEHOLDER} and {IPV6_PLACEHOLDER} with this server's public",
        "; addresses (the wizard does not know them); records marked optional may be left out.",
    ]
    if ctx.answers.domain.delegation is Delegation.SRV and delegation_applies(ctx):
        lines.append(
            "; With SRV delegation other servers connect to the SRV target but check the TLS "
            f"certificate for {ctx.server_name_host}: the certificate must cover that name."
        )
    for record in dns_records(ctx):
        marker = "optional: " if record.optional else ""
        lines.append("")
        lines.append(f"; {marker}{record.purpose}")
        lines.append(record.zone_line())
    return "\n".join(lines) + "\n"


def render(ctx: RenderContext) -> Bundle:
    """Return the well-known documents and the DNS record list."""
    files: Bundle = {
        f"{WELLKNOWN_BUNDLE_DIR}/{name}": File(json.dumps(document, indent=2) + "\n")
        for name, document in wellknown_documents(ctx).items()
    }
    files[DNS_RECORDS_FILE] = File(_dns_text(ctx))
    return files
