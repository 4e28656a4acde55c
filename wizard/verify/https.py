"""HTTPS requests for doctor: to a chosen address with the host name as SNI, over the stdlib."""

import http.client
import socket
import ssl
from dataclasses import dataclass
from typing import Any

TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Reply:
    """An HTTPS answer: status, headers with lower-case names, body, and what TLS negotiated."""

    status: int
    headers: dict[str, str]
    body: bytes
    tls_version: str | None
    certificate: dict[str, Any]


class _Connection(http.client.HTTPSConnection):
    """An HTTPS connection that may reach another address but sends the host name as SNI."""

    def __init__(self, host: str, port: int, address: str, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=TIMEOUT_SECONDS, context=context)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


def tls_context(verify: bool, ca_file: str | None = None) -> ssl.SSLContext:
    """Return a client TLS context: the system's trust store and ca_file, or no verification."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def get(
    address: str, port: int, tls_name: str, host_header: str, path: str, context: ssl.SSLContext
) -> Reply:
    """GET path from address:port over TLS, with tls_name as SNI and the given Host header."""
    connection = _Connection(tls_name, port, address, context)
    try:
        connection.request("GET", path, headers={"Host": host_header})
        # Read TLS details now: the connection drops its socket once a closing answer arrives.
        sock = connection.sock
        version = sock.version() if isinstance(sock, ssl.SSLSocket) else None
        certificate = sock.getpeercert() if isinstance(sock, ssl.SSLSocket) else None
        response = connection.getresponse()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return Reply(response.status, headers, response.read(), version, dict(certificate or {}))
    finally:
        connection.close()


def certificate_names(address: str, port: int, tls_name: str, ca_file: str | None) -> list[str]:
    """Return the names a trusted certificate covers, read without checking it against tls_name."""
    context = tls_context(verify=True, ca_file=ca_file)
    context.check_hostname = False  # the chain is still verified: only the name is not compared
    with (
        socket.create_connection((address, port), TIMEOUT_SECONDS) as raw,
        context.wrap_socket(raw, server_hostname=tls_name) as tls,
    ):
        certificate = tls.getpeercert() or {}
    alternatives = certificate.get("subjectAltName", ())
    return [str(pair[1]) for pair in alternatives if pair[0] in ("DNS", "IP Address")]
