"""A real ACME server for the journey tests: Pebble, Let's Encrypt's test CA, built with Go.

Pebble speaks the ACME protocol certbot speaks and validates HTTP-01 challenges for real, by
fetching each token from the name's address. Its names resolve through pebble-challtestsrv, a
DNS server that answers every A query with 127.0.0.1; Pebble's `httpPort` is the port the
box's port 80 is published on, so a validation reaches the box as it would reach a VPS. The
directory is served over TLS with a certificate from a CA the test makes and the box trusts.
Both programs are built once per machine from the Go module proxy and kept.
"""

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import require_program
from tests.e2e.support import Programs, free_ports, programs_in
from tests.waiting import wait_until

PEBBLE_MODULE = "github.com/letsencrypt/pebble/v2"
PEBBLE_VERSION = "v2.10.3"
PROGRAMS = Path.home() / ".cache" / "matrix-wizard-tests" / f"pebble-{PEBBLE_VERSION}"


@dataclass(frozen=True)
class Acme:
    """A running ACME server: its directory URL and the CA its TLS certificate comes from."""

    directory: str
    ca: Path


def pebble_programs() -> Path:
    """Build pebble and pebble-challtestsrv once, and return the folder that holds them."""
    if not (PROGRAMS / "pebble-challtestsrv").is_file():
        go = require_program("go")
        for command in ("pebble", "pebble-challtestsrv"):
            subprocess.run(
                [go, "install", f"{PEBBLE_MODULE}/cmd/{command}@{PEBBLE_VERSION}"],
                env={**os.environ, "GOBIN": str(PROGRAMS)},
                capture_output=True,
                check=True,
                timeout=900,
            )
    return PROGRAMS


def openssl(*args: str) -> None:
    """Run the openssl CLI."""
    subprocess.run(["openssl", *args], capture_output=True, check=True, timeout=60)


def tls_files(folder: Path, address: str) -> tuple[Path, Path, Path]:
    """Make a CA and a certificate for the address signed by it; return CA, cert and key."""
    ca, ca_key = folder / "acme-ca.pem", folder / "acme-ca-key.pem"
    cert, key, request = folder / "acme.pem", folder / "acme-key.pem", folder / "acme.csr"
    openssl(
        *("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
        *("-subj", "/CN=test ACME CA", "-keyout", str(ca_key), "-out", str(ca)),
    )
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        f"/CN={address}",
        "-keyout",
        str(key),
        "-out",
        str(request),
    )
    extensions = folder / "acme.ext"
    extensions.write_text(f"subjectAltName=IP:{address}\n", encoding="ascii")
    openssl(
        *("x509", "-req", "-in", str(request), "-CA", str(ca), "-CAkey", str(ca_key)),
        *("-CAcreateserial", "-days", "2", "-extfile", str(extensions), "-out", str(cert)),
    )
    return ca, cert, key


def directory_answers(url: str, ca: Path) -> bool:
    """Return whether the ACME directory answers over TLS with the test CA."""
    done = subprocess.run(
        ["curl", "-fsS", "--max-time", "5", "--cacert", str(ca), url],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


@contextmanager
def running_acme(folder: Path, address: str, http_port: int) -> Iterator[Acme]:
    """Run pebble-challtestsrv and Pebble, validating HTTP-01 on 127.0.0.1:http_port."""
    programs = pebble_programs()
    ca, cert, key = tls_files(folder, address)
    dns, management, acme, acme_management = free_ports(4)
    config = folder / "pebble.json"
    settings = {
        "listenAddress": f"0.0.0.0:{acme}",
        "managementListenAddress": f"127.0.0.1:{acme_management}",
        "certificate": str(cert),
        "privateKey": str(key),
        "httpPort": http_port,
        "tlsPort": 5001,
        "ocspResponderURL": "",
        "externalAccountBindingRequired": False,
    }
    config.write_text(json.dumps({"pebble": settings}), encoding="utf-8")
    directory = f"https://{address}:{acme}/dir"
    with programs_in(folder) as started:
        start_dns(started, programs, dns, management)
        pebble = started.start(
            "pebble",
            [str(programs / "pebble"), "-config", str(config), "-dnsserver", f"127.0.0.1:{dns}"],
            # No pause before validating, and no nonce refused at random: the test waits for
            # states, not for Pebble's chosen delays.
            env={"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"},
        )
        wait_until(
            lambda: directory_answers(directory, ca) or pebble.process.poll() is not None,
            "Pebble's directory",
        )
        assert pebble.process.poll() is None, pebble.describe()
        yield Acme(directory, ca)


def start_dns(started: Programs, programs: Path, dns: int, management: int) -> None:
    """Start pebble-challtestsrv answering every A query with 127.0.0.1 and nothing else."""
    started.start(
        "challtestsrv",
        [
            str(programs / "pebble-challtestsrv"),
            *("-dnsserver", f"127.0.0.1:{dns}", "-management", f"127.0.0.1:{management}"),
            *("-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""),
            *("-http01", "", "-https01", "", "-tlsalpn01", "", "-doh", ""),
        ],
    )
