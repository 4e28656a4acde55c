"""Fixtures for the SSH tests: the server, a person's ~/.ssh that knows it, and a test bundle."""

from pathlib import Path

import pytest

from tests.ssh.sshd_server import SshServer, sshd
from wizard.bundle.model import EXECUTABLE, PRIVATE, PUBLIC, Bundle, File
from wizard.deliver.targets import write_bundle
from wizard.ssh.connection import ConnectOptions
from wizard.ssh.target import SshTarget, resolve_target

__all__ = ["sshd"]

NO_AGENT = ConnectOptions(use_agent=False)
APPLY_STATUS = 7


@pytest.fixture
def ssh_dir(tmp_path: Path, sshd: SshServer) -> Path:
    """Return a ~/.ssh folder whose known_hosts holds the server's key."""
    folder = tmp_path / "dot-ssh"
    folder.mkdir(mode=0o700)
    (folder / "known_hosts").write_text(sshd.known_hosts_line, encoding="utf-8")
    return folder


def target_for(
    sshd: SshServer, ssh_dir: Path, user: str = "root", key: Path | None = None
) -> SshTarget:
    """Return the target for a user of the test server, trying one key (ed25519 by default)."""
    return resolve_target(
        f"{user}@127.0.0.1:{sshd.port}",
        identity=key or sshd.client_keys["ed25519"],
        ssh_dir=ssh_dir,
    )


def make_bundle(folder: Path, marker: str, *, big: int = 0) -> Path:
    """Write a small bundle with the wizard's own writer: a secret, a subfolder and apply.sh."""
    files: Bundle = {
        "apply.sh": File(
            "#!/bin/sh\n"
            f'echo "applying {marker} as $(id -u) in $(pwd)"\n'
            'echo "a warning on stderr" >&2\n'
            f"exit {APPLY_STATUS}\n",
            EXECUTABLE,
        ),
        "secrets.yaml": File(f"password: {marker}-secret\n", PRIVATE),
        "config/homeserver.yaml": File(f"server_name: {marker}.example.com\n", PUBLIC),
    }
    if big:
        files["media/big.bin"] = File("x" * big, PUBLIC)
    write_bundle(files, folder)
    return folder
