"""A private certificate authority made by the tests, as a closed federation would have one."""

import subprocess
from dataclasses import dataclass
from pathlib import Path

DAYS = "90"  # longer than doctor's renewal margin


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


@dataclass(frozen=True)
class PrivateCa:
    """The CA's certificate and key, and the folder its certificates are issued into."""

    folder: Path
    certificate: Path
    key: Path

    def issue(self, name: str, hosts: list[str]) -> tuple[Path, Path]:
        """Issue a server certificate for the hosts; return its chain (with the CA) and key."""
        key, request = self.folder / f"{name}.key", self.folder / f"{name}.csr"
        leaf, chain = self.folder / f"{name}.pem", self.folder / f"{name}-chain.pem"
        names = ",".join(f"DNS:{host}" for host in hosts)
        extensions = self.folder / f"{name}.ext"
        extensions.write_text(
            f"subjectAltName={names}\nextendedKeyUsage=serverAuth\n"
            "basicConstraints=critical,CA:FALSE\n",
            encoding="utf-8",
        )
        _openssl(
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            f"/CN={hosts[0]}",
            "-keyout",
            str(key),
            "-out",
            str(request),
        )
        _openssl(
            "x509",
            "-req",
            "-in",
            str(request),
            "-CA",
            str(self.certificate),
            "-CAkey",
            str(self.key),
            "-CAcreateserial",
            "-days",
            DAYS,
            "-extfile",
            str(extensions),
            "-out",
            str(leaf),
        )
        chain.write_bytes(leaf.read_bytes() + self.certificate.read_bytes())
        return chain, key


def make_ca(folder: Path) -> PrivateCa:
    """Make a new CA in folder."""
    folder.mkdir(parents=True, exist_ok=True)
    certificate, key = folder / "ca.pem", folder / "ca.key"
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        DAYS,
        "-subj",
        "/CN=matrix-wizard test federation CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-keyout",
        str(key),
        "-out",
        str(certificate),
    )
    return PrivateCa(folder, certificate, key)
