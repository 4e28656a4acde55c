"""Doctor's federation discovery check: follow the server_name as a remote homeserver does.

It walks the spec's steps (wizard.verify.discovery) over the network, then asks the endpoint it
found for the federation version and the server keys with the certificate verified, and on a
failure says what was found, what the bundle intended, and how to put it right.
"""

import http.client
import json
import ssl
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from wizard.answers.model import Delegation
from wizard.bundle.context import RenderContext
from wizard.bundle.discovery import delegation_applies
from wizard.verify import https
from wizard.verify.discovery import (
    Endpoint,
    WellKnown,
    find_endpoint,
    parse_m_server,
    parse_server_name,
)
from wizard.verify.lookup import DnsError, Lookup
from wizard.verify.results import DoctorResult

CHECK = "federation discovery"
WELLKNOWN_PATH = "/.well-known/matrix/server"
VERSION_PATH = "/_matrix/federation/v1/version"
KEYS_PATH = "/_matrix/key/v2/server"
HTTPS_PORT = 443
MAX_REDIRECTS = 5
_REDIRECTS = {301, 302, 303, 307, 308}
# OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH: the chain is trusted but names another host.
_HOSTNAME_MISMATCH = 62


@dataclass(frozen=True)
class Probe:
    """How the check reaches the network: its DNS lookup, an extra CA, and whether to verify."""

    lookup: Lookup
    ca_file: str | None
    verify: bool

    @cached_property
    def context(self) -> ssl.SSLContext:
        """Return the TLS context of every request of the check."""
        return https.tls_context(self.verify, self.ca_file)


class _Unreachable(Exception):
    """Nothing answered at any address of a host on a port."""


class _TlsFailed(Exception):
    """A TLS handshake failed at one address: the address and the error."""

    def __init__(self, address: str, error: ssl.SSLError) -> None:
        super().__init__(str(error))
        self.address = address
        self.error = error


def _request(
    probe: Probe, host: str, port: int, tls_name: str, host_header: str, path: str
) -> https.Reply:
    """GET path from host:port, trying each of its addresses until one answers."""
    addresses = probe.lookup.addresses(host)
    if not addresses:
        raise _Unreachable(f"{host} has no A or AAAA record at {probe.lookup.describe()}")
    refused = []
    for address in addresses:
        try:
            return https.get(address, port, tls_name, host_header, path, probe.context)
        except ssl.SSLError as error:
            raise _TlsFailed(address, error) from None
        except OSError as error:
            refused.append(f"{address}: {error.strerror or error}")
    raise _Unreachable("; ".join(refused))


def _reason(error: Exception) -> str:
    """Return why a TLS or HTTP exchange failed, in a few words."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return str(error.verify_message)
    if isinstance(error, ssl.SSLError):
        return str(error.reason or error)
    return str(error) or type(error).__name__


def fetch_wellknown(probe: Probe, host: str) -> WellKnown:
    """Return what https://host/.well-known/matrix/server delegates to, following redirects."""
    url = f"https://{host}{WELLKNOWN_PATH}"
    first = url
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        name, port = parts.hostname or host, parts.port or HTTPS_PORT
        header = name if port == HTTPS_PORT else f"{name}:{port}"
        try:
            reply = _request(probe, name, port, name, header, parts.path or "/")
        except _Unreachable as error:
            return WellKnown(first, None, f"nothing answers at {url}: {error}")
        except _TlsFailed as failed:
            return WellKnown(first, None, f"{url}: TLS failed: {_reason(failed.error)}")
        except http.client.HTTPException as error:
            return WellKnown(first, None, f"{url} answers, but not HTTP: {_reason(error)}")
        location = reply.headers.get("location", "")
        if reply.status not in _REDIRECTS or not location.startswith("https://"):
            break
        url = location
    else:
        return WellKnown(first, None, f"{first} redirects more than {MAX_REDIRECTS} times")
    if reply.status != 200:
        return WellKnown(first, None, f"{url} answers {reply.status}")
    try:
        return WellKnown(first, parse_m_server(json.loads(reply.body)))
    except ValueError as error:
        return WellKnown(first, None, f"{url} is ignored: {error}")


def _missing_delegation(ctx: RenderContext, tried: str) -> str:
    """Return what the bundle meant servers to find before they fell back to 8448, and the fix."""
    serves = f"the bundle serves federation at {ctx.federation_endpoint}"
    delegation = ctx.answers.domain.delegation
    if delegation is Delegation.WELL_KNOWN:
        return (
            f"{serves} and delegates to it with https://{ctx.server_name_host}{WELLKNOWN_PATH}, "
            "which servers did not get: serve the bundle's well-known/matrix/server there"
        )
    if delegation is Delegation.SRV:
        return (
            f"{serves} and delegates to it with the SRV record "
            f"_matrix-fed._tcp.{ctx.server_name_host}, which servers did not find: create it "
            "as dns-records.txt says"
        )
    return f"{serves} without delegation, so servers try {tried}: serve federation there"


def _fix(ctx: RenderContext, endpoint: Endpoint) -> str:
    """Return where the bundle serves federation and how to make servers reach it from here."""
    serves = f"the bundle serves federation at {ctx.federation_endpoint}"
    if endpoint.source == "well-known" and endpoint.wellknown is not None:
        return (
            f"{serves}: set m.server in {endpoint.wellknown.url} to "
            f'"{ctx.federation_endpoint}", or open port {endpoint.port} on {endpoint.host}'
        )
    if endpoint.srv is not None:
        return (
            f"{serves} (dns-records.txt): point {endpoint.srv.name} at {ctx.homeserver_host} "
            f"port {ctx.federation_port}, or open port {endpoint.port} on {endpoint.srv.target}"
        )
    if endpoint.source == "default" and delegation_applies(ctx):
        return _missing_delegation(ctx, f"{endpoint.host}:{endpoint.port}")
    return f"{serves}: open port {endpoint.port} on {endpoint.host}, or fix the server_name"


def _certificate_problem(probe: Probe, endpoint: Endpoint, failed: _TlsFailed) -> str:
    """Return what is wrong with the certificate at the endpoint, and which name it must cover."""
    where = f"{endpoint.host}:{endpoint.port}"
    error = failed.error
    if not isinstance(error, ssl.SSLCertVerificationError):
        return (
            f"{where} answers, but not with TLS ({_reason(error)}): another service listens "
            "there, or TLS is not set up on that port"
        )
    if error.verify_code != _HOSTNAME_MISMATCH:
        return (
            f"the certificate at {where} is not trusted ({_reason(error)}): use one from a public "
            "CA (for a private federation, give its CA with --ca-file)"
        )
    try:
        names = https.certificate_names(
            failed.address, endpoint.port, endpoint.tls_name, probe.ca_file
        )
    except (OSError, ssl.SSLError):
        names = []
    covered = ", ".join(names) if names else "other names"
    srv_note = (
        f" (with SRV the certificate must cover {endpoint.tls_name}, not the target "
        f"{endpoint.srv.target})"
        if endpoint.srv is not None and endpoint.srv.target != endpoint.tls_name
        else ""
    )
    return (
        f"the certificate at {where} covers {covered}, but servers require "
        f"{endpoint.tls_name}{srv_note}: get a certificate that covers {endpoint.tls_name}"
    )


def _json(reply: https.Reply) -> Any:
    try:
        return json.loads(reply.body)
    except ValueError:
        return None


def _check_endpoint(ctx: RenderContext, probe: Probe, endpoint: Endpoint) -> DoctorResult:
    """Ask the endpoint for its version and keys, and say what servers will make of it."""
    where = f"{endpoint.host}:{endpoint.port}"
    address = (endpoint.host, endpoint.port, endpoint.tls_name, endpoint.host_header)
    try:
        version = _request(probe, *address, VERSION_PATH)
        keys = _request(probe, *address, KEYS_PATH)
    except _Unreachable as error:
        reason = f"nothing answers at {where} ({error}); {_fix(ctx, endpoint)}"
        return DoctorResult(CHECK, "failed", f"{endpoint.how}; {reason}")
    except _TlsFailed as failed:
        problem = _certificate_problem(probe, endpoint, failed)
        return DoctorResult(CHECK, "failed", f"{endpoint.how}; {problem}")
    except http.client.HTTPException as error:
        reason = f"{where} answers, but not HTTP ({_reason(error)}); {_fix(ctx, endpoint)}"
        return DoctorResult(CHECK, "failed", f"{endpoint.how}; {reason}")
    document = _json(version)
    server = document.get("server") if isinstance(document, dict) else None
    if version.status != 200 or not isinstance(server, dict):
        reason = (
            f"{where} answers {version.status} on {VERSION_PATH}: no Matrix federation API "
            f"there; {_fix(ctx, endpoint)}"
        )
        return DoctorResult(CHECK, "failed", f"{endpoint.how}; {reason}")
    key_document = _json(keys)
    keys_for = key_document.get("server_name") if isinstance(key_document, dict) else None
    if keys_for != ctx.server_name:
        found = f"the keys of {keys_for}" if isinstance(keys_for, str) else "no server keys"
        reason = (
            f"{where} serves {found} on {KEYS_PATH}, not those of {ctx.server_name}: "
            f"servers reject it; {_fix(ctx, endpoint)}"
        )
        return DoctorResult(CHECK, "failed", f"{endpoint.how}; {reason}")
    described = " ".join(str(server.get(key, "")) for key in ("name", "version")).strip()
    if not probe.verify:
        return DoctorResult(
            CHECK,
            "unverified",
            f"{endpoint.how}; certificate names not verified (--insecure); {described} answers",
        )
    return DoctorResult(
        CHECK,
        "passed",
        f"{endpoint.how}; certificate valid for {endpoint.tls_name}; {described} answers",
    )


def check_federation_discovery(ctx: RenderContext, probe: Probe) -> DoctorResult:
    """Check that servers following the spec from the server_name reach this homeserver."""
    try:
        server_name = parse_server_name(ctx.server_name)
        endpoint = find_endpoint(
            server_name, lambda host: fetch_wellknown(probe, host), probe.lookup.srv
        )
        return _check_endpoint(ctx, probe, endpoint)
    except DnsError as error:
        return DoctorResult(CHECK, "failed", f"{error}: servers cannot follow the records either")
    except ValueError as error:
        return DoctorResult(CHECK, "failed", f"the server_name {error}")
