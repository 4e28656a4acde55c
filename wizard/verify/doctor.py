"""Post-install checks of a live server from outside: discovery, the APIs, what stays private, TLS.

Only the standard library speaks to the server (http.client over ssl, as urllib does), so the
checks run wherever matrix-wizard runs. Every check passes, fails with the reason, or, for a
certificate the person asked not to verify, is reported as unverified.
"""

import http.client
import json
import socket
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from wizard.answers.model import Homeserver, load_answers_file
from wizard.answers.secret_store import Secrets
from wizard.bundle import discovery, element_web, mas, matrix_rtc, monitoring, proxy_sites
from wizard.bundle.context import RenderContext
from wizard.errors import UsageError
from wizard.units import counted
from wizard.verify import https
from wizard.verify.federation_discovery import Probe, check_federation_discovery
from wizard.verify.https import Reply
from wizard.verify.lookup import Lookup, parse_resolver
from wizard.verify.results import DoctorResult as DoctorResult  # its callers import it here

EXPIRY_MARGIN_DAYS = 14
ACCEPTED_TLS_VERSIONS = ("TLSv1.2", "TLSv1.3")
# An admin endpoint of each homeserver that answers when the proxy forwards it.
ADMIN_PATHS = {
    Homeserver.SYNAPSE: "/_synapse/admin/v1/server_version",
    Homeserver.DENDRITE: "/_dendrite/admin/registrationTokens",
}
METRICS_PATHS = {
    Homeserver.SYNAPSE: monitoring.SYNAPSE_METRICS_PATH,
    Homeserver.DENDRITE: monitoring.DENDRITE_METRICS_PATH,
}
# Matrix errors that show a request reached the homeserver and only lacked a token.
_REACHED_ERRCODES = {"M_MISSING_TOKEN", "M_UNKNOWN_TOKEN", "M_FORBIDDEN"}


@dataclass(frozen=True)
class Target:
    """Where the checks go: host names and ports, an address to use instead of DNS, TLS trust."""

    homeserver_host: str
    https_port: int
    federation_host: str
    federation_port: int
    server_name_host: str
    connect: str | None
    verify: bool
    resolver: tuple[str, int] | None = None
    ca_file: str | None = None


def fetch(target: Target, host: str, port: int, path: str) -> Reply:
    """GET https://host:port/path, connecting to the target's address when one is given."""
    context = https.tls_context(target.verify, target.ca_file)
    return https.get(target.connect or host, port, host, _host_header(host, port), path, context)


def _host_header(host: str, port: int) -> str:
    return host if port == 443 else f"{host}:{port}"


def _url(host: str, port: int, path: str) -> str:
    return f"https://{_host_header(host, port)}{path}"


_REQUEST_ERRORS = (OSError, http.client.HTTPException)


def _failure(error: Exception) -> str:
    """Return why a request failed, in a line."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"the certificate is not trusted: {error.verify_message}"
    if isinstance(error, ssl.SSLError):
        return f"TLS failed: {error.reason or error}"
    if isinstance(error, socket.gaierror):
        return "the name does not resolve (set DNS, or give --connect ADDRESS)"
    return str(error) or type(error).__name__


def _json(reply: Reply) -> Any:
    try:
        return json.loads(reply.body)
    except ValueError:
        return None


def check_wellknown(target: Target, name: str, expected: dict[str, Any]) -> DoctorResult:
    """Check one /.well-known/matrix document: 200, the bundle's JSON, JSON type and CORS."""
    check = f"well-known {name}"
    path = f"/.well-known/matrix/{name}"
    url = _url(target.server_name_host, target.https_port, path)
    try:
        reply = fetch(target, target.server_name_host, target.https_port, path)
    except _REQUEST_ERRORS as error:
        return DoctorResult(check, "failed", f"{url}: {_failure(error)}")
    problems = []
    if reply.status != 200:
        problems.append(f"answers {reply.status}, not 200")
    content_type = reply.headers.get("content-type", "")
    if not content_type.startswith("application/json"):
        problems.append(f"Content-Type is {content_type or 'missing'}, not application/json")
    if reply.headers.get("access-control-allow-origin") != "*":
        problems.append("Access-Control-Allow-Origin is not *: web clients cannot read it")
    document = _json(reply)
    if reply.status == 200 and document != expected:
        problems.append(f"holds {reply.body[:200]!r}, not {json.dumps(expected)}")
    if problems:
        return DoctorResult(check, "failed", f"{url}: " + "; ".join(problems))
    return DoctorResult(check, "passed", f"{url} serves {json.dumps(expected)}")


def check_client_versions(target: Target) -> DoctorResult:
    """Check that the client-server API answers /_matrix/client/versions."""
    check = "client API"
    path = "/_matrix/client/versions"
    url = _url(target.homeserver_host, target.https_port, path)
    try:
        reply = fetch(target, target.homeserver_host, target.https_port, path)
    except _REQUEST_ERRORS as error:
        return DoctorResult(check, "failed", f"{url}: {_failure(error)}")
    document = _json(reply)
    versions = document.get("versions") if isinstance(document, dict) else None
    if reply.status != 200 or not isinstance(versions, list) or not versions:
        return DoctorResult(check, "failed", f"{url} answers {reply.status} without versions")
    return DoctorResult(check, "passed", f"{url} lists {counted(len(versions), 'spec version')}")


def check_federation_version(target: Target) -> DoctorResult:
    """Check that the federation API answers /_matrix/federation/v1/version on its port."""
    check = "federation API"
    path = "/_matrix/federation/v1/version"
    host, port = target.federation_host, target.federation_port
    url = _url(host, port, path)
    try:
        reply = fetch(target, host, port, path)
    except _REQUEST_ERRORS as error:
        return DoctorResult(check, "failed", f"{url}: {_failure(error)}")
    document = _json(reply)
    server = document.get("server") if isinstance(document, dict) else None
    if reply.status != 200 or not isinstance(server, dict):
        return DoctorResult(check, "failed", f"{url} answers {reply.status} without a server")
    described = " ".join(str(server.get(key, "")) for key in ("name", "version")).strip()
    return DoctorResult(check, "passed", f"{url} answers: {described}")


def check_element_web(ctx: RenderContext, target: Target) -> DoctorResult:
    """Check Element Web's config.json: the bundle's JSON, its security headers, not cached."""
    check = "Element Web"
    host, port, path = element_web.host(ctx), target.https_port, "/config.json"
    url = _url(host, port, path)
    try:
        reply = fetch(target, host, port, path)
    except _REQUEST_ERRORS as error:
        return DoctorResult(check, "failed", f"{url}: {_failure(error)}")
    if reply.status != 200:
        return DoctorResult(check, "failed", f"{url} answers {reply.status}, not 200")
    problems = [
        f"{name} is {reply.headers.get(name.lower()) or 'missing'}, not {value}"
        for name, value in element_web.SECURITY_HEADERS.items()
        if reply.headers.get(name.lower()) != value
    ]
    if reply.headers.get("cache-control") != element_web.NO_CACHE:
        problems.append("Cache-Control is not no-cache: browsers may keep an old config.json")
    document = _json(reply)
    expected = element_web.config_document(ctx)["default_server_config"]
    if not isinstance(document, dict) or document.get("default_server_config") != expected:
        problems.append(f"does not point at this server: {json.dumps(expected)}")
    if problems:
        return DoctorResult(check, "failed", f"{url}: " + "; ".join(problems))
    return DoctorResult(check, "passed", f"{url} points at this server, with its headers")


def check_call_service(target: Target) -> DoctorResult:
    """Check that lk-jwt-service answers its health check through the proxy's /livekit/jwt/."""
    check = "calls: lk-jwt-service"
    path = f"{matrix_rtc.JWT_PREFIX}healthz"
    url = _url(target.homeserver_host, target.https_port, path)
    try:
        reply = fetch(target, target.homeserver_host, target.https_port, path)
    except _REQUEST_ERRORS as error:
        return DoctorResult(check, "failed", f"{url}: {_failure(error)}")
    if reply.status != 200:
        return DoctorResult(check, "failed", f"{url} answers {reply.status}, not 200")
    return DoctorResult(check, "passed", f"{url} answers 200")


def check_not_public(target: Target, check: str, path: str) -> DoctorResult:
    """Check that a path the proxy must not forward answers 404 or 403 on every public port."""
    ports = dict.fromkeys(
        [
            (target.homeserver_host, target.https_port),
            (target.federation_host, target.federation_port),
        ]
    )
    seen = []
    for host, port in ports:
        url = _url(host, port, path)
        try:
            reply = fetch(target, host, port, path)
        except _REQUEST_ERRORS as error:
            return DoctorResult(check, "failed", f"{url}: {_failure(error)}")
        document = _json(reply)
        errcode = document.get("errcode") if isinstance(document, dict) else None
        if reply.status not in (403, 404) or errcode in _REACHED_ERRCODES:
            return DoctorResult(
                check, "failed", f"{url} answers {reply.status}: it reaches the homeserver"
            )
        seen.append(f"{url} answers {reply.status}")
    return DoctorResult(check, "passed", "; ".join(seen))


def check_tls(target: Target, host: str, port: int) -> DoctorResult:
    """Check the certificate is valid for the host and not expiring soon, and TLS is 1.2+."""
    check = f"TLS {host}:{port}"
    try:
        reply = fetch(target, host, port, "/")
    except _REQUEST_ERRORS as error:
        return DoctorResult(check, "failed", _failure(error))
    version = reply.tls_version or "unknown"
    if version not in ACCEPTED_TLS_VERSIONS:
        return DoctorResult(check, "failed", f"negotiated {version}; TLS 1.2 or newer is needed")
    if not target.verify:
        return DoctorResult(
            check,
            "unverified",
            f"negotiated {version}; the certificate was not verified (--insecure)",
        )
    expires = ssl.cert_time_to_seconds(str(reply.certificate["notAfter"]))
    days = (expires - time.time()) / 86400
    if days < EXPIRY_MARGIN_DAYS:
        return DoctorResult(
            check,
            "failed",
            f"the certificate expires in {counted(round(days), 'day')}: renew it now",
        )
    return DoctorResult(
        check,
        "passed",
        f"valid for {host}, negotiated {version}, expires in {counted(round(days), 'day')}",
    )


def target_for(
    ctx: RenderContext,
    url: str | None,
    connect: str | None,
    verify: bool,
    *,
    resolver: str | None = None,
    ca_file: str | None = None,
) -> Target:
    """Return where to check: the bundle's public URL, or another one, with the bundle's ports."""
    parts = urlsplit(url or ctx.public_baseurl)
    if parts.scheme != "https" or not parts.hostname:
        raise UsageError(
            f"{url!r} is not an https:// URL", "give the homeserver's URL, such as https://host"
        )
    try:
        https_port = parts.port or 443
    except ValueError:
        raise UsageError(f"{url!r} has a bad port", "give a port from 1 to 65535") from None
    host = parts.hostname
    on_homeserver = proxy_sites.federation_host(ctx) == ctx.homeserver_host
    federation_port = https_port if ctx.federation_port == ctx.ports.https else ctx.federation_port
    server_name_host = ctx.server_name_host if ctx.server_name_host != ctx.homeserver_host else host
    return Target(
        homeserver_host=host,
        https_port=https_port,
        federation_host=host if on_homeserver else ctx.server_name_host,
        federation_port=federation_port,
        server_name_host=server_name_host,
        connect=connect,
        verify=verify,
        resolver=parse_resolver(resolver) if resolver is not None else None,
        ca_file=_checked_ca_file(ca_file),
    )


def _checked_ca_file(ca_file: str | None) -> str | None:
    """Return the --ca-file path once it has loaded as PEM CA certificates."""
    if ca_file is None:
        return None
    try:
        https.tls_context(verify=True, ca_file=ca_file)
    except (OSError, ssl.SSLError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise UsageError(
            f"--ca-file {ca_file}: {reason}", "give a PEM file of CA certificates"
        ) from None
    return ca_file


def check_mas(target: Target, host: str, issuer: str) -> DoctorResult:
    """Check that MAS serves its OpenID discovery document, naming the bundle's issuer."""
    check = "authentication service"
    path = "/.well-known/openid-configuration"
    url = _url(host, target.https_port, path)
    try:
        reply = fetch(target, host, target.https_port, path)
    except _REQUEST_ERRORS as error:
        return DoctorResult(check, "failed", f"{url}: {_failure(error)}")
    document = _json(reply)
    found = document.get("issuer") if isinstance(document, dict) else None
    if reply.status != 200 or found != issuer:
        return DoctorResult(
            check, "failed", f"{url} answers {reply.status} with issuer {found!r}, not {issuer!r}"
        )
    return DoctorResult(check, "passed", f"{url} names the issuer {issuer}")


def follows_discovery(target: Target) -> bool:
    """Return whether discovery runs: it follows DNS, so not with --connect alone (no DNS yet)."""
    return target.connect is None or target.resolver is not None


def run_checks(ctx: RenderContext, target: Target) -> list[DoctorResult]:
    """Run every check that applies to the deployment, in the order a person reads them."""
    results = [
        check_wellknown(target, name, document)
        for name, document in discovery.wellknown_documents(ctx).items()
    ]
    results += [check_client_versions(target), check_federation_version(target)]
    if matrix_rtc.enabled(ctx):
        results.append(check_call_service(target))
    if follows_discovery(target):
        probe = Probe(Lookup(target.resolver), target.ca_file, target.verify)
        results.append(check_federation_discovery(ctx, probe))
    admin = ADMIN_PATHS.get(ctx.homeserver)
    if admin:
        results.append(check_not_public(target, "admin API not public", admin))
    metrics = METRICS_PATHS.get(ctx.homeserver)
    if metrics:
        results.append(check_not_public(target, "metrics not public", metrics))
    hosts = [
        (target.homeserver_host, target.https_port),
        (target.federation_host, target.federation_port),
    ]
    if element_web.enabled(ctx):
        results.append(check_element_web(ctx, target))
        hosts.append((element_web.host(ctx), target.https_port))
    if mas.enabled(ctx):
        results.append(check_mas(target, mas.host(ctx), mas.public_base(ctx)))
        hosts.append((mas.host(ctx), target.https_port))
    endpoints = dict.fromkeys(hosts)
    results += [check_tls(target, host, port) for host, port in endpoints]
    return results


def doctor(
    bundle_dir: Path,
    url: str | None = None,
    connect: str | None = None,
    insecure: bool = False,
    *,
    resolver: str | None = None,
    ca_file: str | None = None,
) -> list[DoctorResult]:
    """Check the live server a bundle describes, from its answers.yaml."""
    if not (bundle_dir / "answers.yaml").is_file():
        raise UsageError(
            f"{bundle_dir} holds no answers.yaml",
            "give the bundle folder matrix-wizard generate wrote (or its copy on the server)",
        )
    answers, _ = load_answers_file(bundle_dir / "answers.yaml")
    # The checks read names and ports only: no secret of the bundle is needed or read.
    ctx = RenderContext(answers=answers, facts=None, secrets=Secrets())
    target = target_for(ctx, url, connect, verify=not insecure, resolver=resolver, ca_file=ca_file)
    return run_checks(ctx, target)
