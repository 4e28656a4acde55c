"""doctor's federation discovery against a real DNS server (dnsmasq) and real nginx over TLS.

Each test starts dnsmasq on a free loopback port with the A and SRV records of its case, and
nginx on a loopback address of its own (127.x.y.z), so that the well-known can sit on port 443
and the default federation port 8448 can be used as the spec fixes them, beside other runs.
Certificates come from a private CA made in the test, trusted through --ca-file. Proven: the
path the check follows through real DNS answers and real TLS, and what it says for each mistake.
Not proven: a real remote homeserver agreeing (none runs here); IPv6 endpoints.
"""

import datetime
import json
import random
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dns.exception
import dns.resolver
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.bundle_support import answers_for, context_for
from tests.conftest import require_program, run_cli
from tests.integration.proxy_runtime import free_port, nginx_command, running
from tests.waiting import wait_until
from wizard.answers.model import dump_answers
from wizard.bundle.context import RenderContext
from wizard.verify.federation_discovery import Probe, check_federation_discovery
from wizard.verify.lookup import Lookup
from wizard.verify.results import DoctorResult

pytestmark = pytest.mark.integration

SERVER_NAME = "example.test"
HOMESERVER = "matrix.example.test"
VERSION = {"server": {"name": "Synapse", "version": "1.163.2"}}
WELLKNOWN = "/.well-known/matrix/server"
VERSION_PATH = "/_matrix/federation/v1/version"
KEYS_PATH = "/_matrix/key/v2/server"


def _keys(server_name: str) -> dict[str, object]:
    return {"server_name": server_name, "verify_keys": {"ed25519:a": {"key": "AAAA"}}}


HOMESERVER_ROUTES = {VERSION_PATH: VERSION, KEYS_PATH: _keys(SERVER_NAME)}


class Authority:
    """A private CA that issues server certificates for the names a test asks for."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "doctor test CA")])
        self.certificate = (
            self._builder(name, name, self.key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, key_cert_sign=True, crl_sign=True,
                    content_commitment=False, key_encipherment=False, data_encipherment=False,
                    key_agreement=False, encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )  # fmt: skip
        self.pem = folder / "ca.pem"
        self.pem.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))

    def _builder(
        self, subject: x509.Name, issuer: x509.Name, public: ec.EllipticCurvePublicKey
    ) -> x509.CertificateBuilder:
        now = datetime.datetime.now(datetime.UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        )

    def issue(self, names: tuple[str, ...]) -> tuple[Path, Path]:
        """Return the certificate and key files of a server certificate for the names."""
        stem = self.folder / "-".join(names)
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
        authority_key = x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key())
        certificate = (
            self._builder(subject, self.certificate.subject, key.public_key())
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .add_extension(authority_key, critical=False)
            .sign(self.key, hashes.SHA256())
        )
        cert, key_file = stem.with_suffix(".crt"), stem.with_suffix(".key")
        cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return cert, key_file


@dataclass(frozen=True)
class Site:
    """One TLS server block of nginx: the name it answers (SNI), its port, its certificate."""

    name: str
    port: int
    routes: dict[str, object]
    certificate_names: tuple[str, ...] = ()

    def block(self, address: str, authority: Authority) -> str:
        """Return the nginx server block, every route a JSON answer."""
        cert, key = authority.issue(self.certificate_names or (self.name,))
        locations = "".join(
            f"    location = {path} {{ default_type application/json; "
            f"return 200 '{json.dumps(body)}'; }}\n"
            for path, body in self.routes.items()
        )
        return (
            f"server {{\n    listen {address}:{self.port} ssl;\n    server_name {self.name};\n"
            f"    ssl_certificate {cert};\n    ssl_certificate_key {key};\n{locations}}}\n"
        )


@dataclass
class World:
    """The case: sites served by nginx, SRV records in DNS, and the bundle's intent."""

    sites: list[Site]
    srv: dict[str, tuple[str, int]] = field(default_factory=dict)
    delegation: str = "well-known"
    federation_port: int = 8448


def _loopback_address() -> str:
    """Return a loopback address of this test's own, where ports 443 and 8448 are free."""
    while True:
        address = f"127.{random.randint(64, 250)}.{random.randint(1, 250)}.{random.randint(2, 250)}"
        with socket.socket() as probe:
            try:
                probe.bind((address, 443))
                probe.close()
                with socket.socket() as other:
                    other.bind((address, 8448))
            except OSError:
                continue
        return address


def _answers(port: int) -> bool:
    """Return whether dnsmasq on the port answers an A query."""
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port, resolver.lifetime = ["127.0.0.1"], port, 0.5
    try:
        resolver.resolve(SERVER_NAME, "A")
    except dns.exception.DNSException:
        return False
    return True


def _can_connect(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class Running:
    """What a test talks to: the loopback address, the name server's port, the CA file."""

    address: str
    dns_port: int
    ca_file: Path

    def probe(self, verify: bool = True, ca: bool = True) -> Probe:
        """Return the check's network access: this DNS server, and the CA when asked."""
        ca_file = str(self.ca_file) if ca else None
        return Probe(Lookup(("127.0.0.1", self.dns_port)), ca_file, verify)


@contextmanager
def _world(tmp_path: Path, world: World) -> Iterator[Running]:
    """Run dnsmasq and nginx for the case, and stop both afterwards."""
    dnsmasq = require_program("dnsmasq")
    address, dns_port = _loopback_address(), free_port()
    authority = Authority(tmp_path)
    site = tmp_path / "site.conf"
    site.write_text("".join(s.block(address, authority) for s in world.sites))
    records = [f"--srv-host={name},{host},{port}" for name, (host, port) in world.srv.items()]
    dns_command = [
        dnsmasq, "--no-daemon", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
        "--pid-file=", f"--port={dns_port}", "--listen-address=127.0.0.1", "--bind-interfaces",
        "--log-facility=-", "--local=/test/", f"--address=/{SERVER_NAME}/{address}", *records,
    ]  # fmt: skip
    with ExitStack() as stack:
        dns_process = stack.enter_context(running(dns_command, tmp_path / "dnsmasq.log"))
        nginx = stack.enter_context(running(nginx_command(tmp_path, site), tmp_path / "nginx.log"))
        wait_until(lambda: dns_process.poll() is None and _answers(dns_port), "dnsmasq to answer")
        ports = {s.port for s in world.sites}
        wait_until(
            lambda: nginx.poll() is None and all(_can_connect(address, p) for p in ports),
            f"nginx on {sorted(ports)}",
        )
        yield Running(address, dns_port, authority.pem)


def _context(world: World) -> RenderContext:
    answers = answers_for(
        server_name=SERVER_NAME,
        domain__delegation=world.delegation,
        proxy__federation_port=world.federation_port,
    )
    return context_for(answers)


def _check(tmp_path: Path, world: World, verify: bool = True, ca: bool = True) -> DoctorResult:
    with _world(tmp_path, world) as run:
        return check_federation_discovery(_context(world), run.probe(verify, ca))


def _delegating(m_server: str, *endpoints: Site) -> World:
    return World([Site(SERVER_NAME, 443, {WELLKNOWN: {"m.server": m_server}}), *endpoints])


def test_well_known_delegation_that_works_passes_with_the_path_taken(tmp_path: Path) -> None:
    world = _delegating(f"{HOMESERVER}:8448", Site(HOMESERVER, 8448, HOMESERVER_ROUTES))
    result = _check(tmp_path, world)
    assert (result.status, result.reason) == (
        "passed",
        "example.test delegates to matrix.example.test:8448 (.well-known); "
        "certificate valid for matrix.example.test; Synapse 1.163.2 answers",
    )


def test_a_well_known_naming_a_closed_port_says_where_the_bundle_serves_and_how_to_fix(
    tmp_path: Path,
) -> None:
    world = _delegating(f"{HOMESERVER}:8449", Site(HOMESERVER, 8448, HOMESERVER_ROUTES))
    result = _check(tmp_path, world)
    assert result.status == "failed"
    assert result.reason.startswith("example.test delegates to matrix.example.test:8449")
    assert "nothing answers at matrix.example.test:8449" in result.reason
    assert "Connection refused" in result.reason
    assert "the bundle serves federation at matrix.example.test:8448" in result.reason
    url = "https://example.test/.well-known/matrix/server"
    assert f'set m.server in {url} to "matrix.example.test:8448"' in result.reason
    assert result.reason.endswith("or open port 8449 on matrix.example.test")


def test_a_well_known_naming_the_port_of_another_server_says_whose_keys_answer(
    tmp_path: Path,
) -> None:
    other = Site(HOMESERVER, 8449, {VERSION_PATH: VERSION, KEYS_PATH: _keys("other.test")})
    world = _delegating(f"{HOMESERVER}:8449", Site(HOMESERVER, 8448, HOMESERVER_ROUTES), other)
    result = _check(tmp_path, world)
    assert result.status == "failed"
    assert "matrix.example.test:8449 serves the keys of other.test" in result.reason
    assert "not those of example.test: servers reject it" in result.reason
    assert 'to "matrix.example.test:8448"' in result.reason


def test_a_certificate_for_the_wrong_name_says_what_it_covers_and_what_is_required(
    tmp_path: Path,
) -> None:
    wrong = Site(HOMESERVER, 8448, HOMESERVER_ROUTES, ("chat.example.test",))
    result = _check(tmp_path, _delegating(f"{HOMESERVER}:8448", wrong))
    assert result.status == "failed"
    assert result.reason == (
        "example.test delegates to matrix.example.test:8448 (.well-known); the certificate at "
        "matrix.example.test:8448 covers chat.example.test, but servers require "
        "matrix.example.test: get a certificate that covers matrix.example.test"
    )


def test_with_srv_a_certificate_for_the_target_only_is_named_as_the_mistake(
    tmp_path: Path,
) -> None:
    world = World(
        [Site(SERVER_NAME, 443, {}), Site(HOMESERVER, 8448, HOMESERVER_ROUTES)],
        srv={f"_matrix-fed._tcp.{SERVER_NAME}": (HOMESERVER, 8448)},
        delegation="srv",
    )
    result = _check(tmp_path, world)
    assert result.status == "failed"
    assert "SRV _matrix-fed._tcp.example.test points to matrix.example.test:8448" in result.reason
    assert "covers matrix.example.test, but servers require example.test" in result.reason
    assert "not the target matrix.example.test" in result.reason


def test_an_srv_record_pointing_at_a_closed_port_names_the_record_and_the_bundles_port(
    tmp_path: Path,
) -> None:
    homeserver = Site(HOMESERVER, 8448, HOMESERVER_ROUTES, (SERVER_NAME, HOMESERVER))
    world = World(
        [Site(SERVER_NAME, 443, {}), homeserver],
        srv={f"_matrix-fed._tcp.{SERVER_NAME}": (HOMESERVER, 8449)},
        delegation="srv",
    )
    result = _check(tmp_path, world)
    assert result.status == "failed"
    assert "answers 404" in result.reason  # no well-known, so servers go on to SRV
    assert "SRV _matrix-fed._tcp.example.test points to matrix.example.test:8449" in result.reason
    assert "nothing answers at matrix.example.test:8449" in result.reason
    assert "the bundle serves federation at matrix.example.test:8448" in result.reason
    assert result.reason.endswith(
        "point _matrix-fed._tcp.example.test at matrix.example.test port 8448, "
        "or open port 8449 on matrix.example.test"
    )


def test_an_srv_record_that_works_passes_and_the_certificate_covers_the_server_name(
    tmp_path: Path,
) -> None:
    homeserver = Site(HOMESERVER, 8448, HOMESERVER_ROUTES, (SERVER_NAME, HOMESERVER))
    world = World(
        [Site(SERVER_NAME, 443, {}), homeserver],
        srv={f"_matrix-fed._tcp.{SERVER_NAME}": (HOMESERVER, 8448)},
        delegation="srv",
    )
    result = _check(tmp_path, world)
    assert result.status == "passed", result.reason
    assert "certificate valid for example.test; Synapse 1.163.2 answers" in result.reason


def test_a_private_ca_is_trusted_only_through_ca_file(tmp_path: Path) -> None:
    world = _delegating(f"{HOMESERVER}:8448", Site(HOMESERVER, 8448, HOMESERVER_ROUTES))
    result = _check(tmp_path, world, ca=False)
    assert result.status == "failed"
    # The well-known's certificate is not trusted either, so servers ignore it and fall back.
    assert "no .well-known" in result.reason
    assert "give its CA with --ca-file" in result.reason


def test_insecure_follows_the_path_but_reports_names_unverified(tmp_path: Path) -> None:
    wrong = Site(HOMESERVER, 8448, HOMESERVER_ROUTES, ("chat.example.test",))
    result = _check(tmp_path, _delegating(f"{HOMESERVER}:8448", wrong), verify=False, ca=False)
    assert (result.status, result.reason) == (
        "unverified",
        "example.test delegates to matrix.example.test:8448 (.well-known); "
        "certificate names not verified (--insecure); Synapse 1.163.2 answers",
    )


def test_the_command_runs_the_check_with_resolver_and_ca_file(tmp_path: Path) -> None:
    world = _delegating(f"{HOMESERVER}:8449", Site(HOMESERVER, 8448, HOMESERVER_ROUTES))
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "answers.yaml").write_text(dump_answers(_context(world).answers), encoding="utf-8")
    with _world(tmp_path, world) as run:
        options = ("--resolver", f"127.0.0.1:{run.dns_port}", "--ca-file", str(run.ca_file))
        done = run_cli("doctor", str(bundle), *options, "--connect", run.address, "--json")
        without_resolver = run_cli("doctor", str(bundle), "--connect", run.address, "--json")
    assert done.returncode == 1, done.stderr
    found = {result["check"]: result for result in json.loads(done.stdout)}
    assert found["federation discovery"]["status"] == "failed"
    assert "nothing answers at matrix.example.test:8449" in found["federation discovery"]["reason"]
    assert found["well-known server"]["status"] == "failed"  # it names 8449, the bundle 8448
    checks = {result["check"] for result in json.loads(without_resolver.stdout)}
    assert "federation discovery" not in checks  # --connect alone: DNS is not set yet


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (("--resolver", "ns 1"), "--resolver 'ns 1' is not a host name"),
        (("--resolver", "127.0.0.1:99999"), "not a number from 1 to 65535"),
        (("--ca-file", "/nonexistent/ca.pem"), "--ca-file /nonexistent/ca.pem: No such file"),
        (("--ca-file", "answers.yaml"), "give a PEM file of CA certificates"),
    ],
)
def test_bad_options_are_one_line_without_a_traceback(
    tmp_path: Path, options: tuple[str, str], words: str
) -> None:
    (tmp_path / "answers.yaml").write_text(dump_answers(answers_for()), encoding="utf-8")
    chosen = tuple(str(tmp_path / o) if o == "answers.yaml" else o for o in options)
    done = run_cli("doctor", str(tmp_path), *chosen)
    assert done.returncode == 2
    assert words in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_missing_well_known_says_servers_fell_back_to_8448_and_what_to_serve(
    tmp_path: Path,
) -> None:
    homeserver = Site(HOMESERVER, 443, HOMESERVER_ROUTES)
    world = World([Site(SERVER_NAME, 443, {}), homeserver], federation_port=443)
    result = _check(tmp_path, world)
    assert result.status == "failed"
    assert "the bundle serves federation at matrix.example.test:443" in result.reason
    assert result.reason.startswith(
        "no .well-known (https://example.test/.well-known/matrix/server answers 404); "
        "no SRV record for example.test: port 8448; nothing answers at example.test:8448"
    )
    assert result.reason.endswith("serve the bundle's well-known/matrix/server there")
