"""A real OpenSSH server on a loopback port, in a private mount namespace that spares the host.

Inside the namespace only: a tmpfs on /run (sshd needs /run/sshd), copies of /etc/passwd,
/etc/shadow and /etc/group that add two test users, an /etc/sudoers.d giving one of them
passwordless sudo, and a small tmpfs for full-disk tests. Host and client keys are made for
each test session; nothing outside the server's temporary folder is changed.
"""

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from tests.conftest import require_program
from tests.waiting import LIMIT, wait_until
from wizard.ssh.known_hosts import fingerprint_of, known_hosts_name

READY_TIMEOUT = LIMIT
# What sshd logs when a connection ends, whether refused before login or closed after it.
CONNECTION_ENDED = re.compile(r"Connection (closed|reset) by|Closing connection to")
SMALL_DISK = "256k"
CLIENT_KEY_TYPES = ("ed25519", "ecdsa", "rsa")
KEY_PASSPHRASE = "correct horse battery staple"


@dataclass(frozen=True)
class TestUser:
    """A user that exists only inside the server's namespace."""

    name: str
    uid: int
    home: Path
    password: str | None = None


def _keygen(path: Path, kind: str, passphrase: str = "") -> Path:
    """Make one key pair with ssh-keygen and return the private key's path."""
    extra = ["-b", "3072"] if kind == "rsa" else []
    subprocess.run(
        [
            "ssh-keygen",
            "-q",
            "-t",
            kind,
            *extra,
            "-N",
            passphrase,
            "-C",
            path.name,
            "-f",
            str(path),
        ],
        check=True,
        timeout=60,
    )
    return path


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _password_hash(password: str) -> str:
    done = subprocess.run(
        ["openssl", "passwd", "-6", "-stdin"],
        input=password,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return done.stdout.strip()


class SshServer:
    """One sshd, its keys, its test users and its log; restartable with a new host key."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_port()
        self.etc = base / "etc"
        self.keys = base / "keys"
        self.authorized = base / "authorized"
        self.small = base / "small"
        self.root_only = base / "root-only"
        self.log_path = base / "sshd.log"
        for folder in (self.etc, self.keys, self.authorized, self.small, self.root_only):
            folder.mkdir(mode=0o755)
        self.host_key = _keygen(self.etc / "host_ed25519", "ed25519")
        self.client_keys = {
            kind: _keygen(self.keys / f"id_{kind}", kind) for kind in CLIENT_KEY_TYPES
        }
        self.encrypted_key = _keygen(self.keys / "id_encrypted", "ed25519", KEY_PASSPHRASE)
        self.stranger_key = _keygen(self.keys / "id_stranger", "ed25519")
        self.password_user = TestUser(
            "mwtest", 47001, base / "home" / "mwtest", secrets.token_urlsafe(12)
        )
        self.sudo_user = TestUser("mwsudo", 47002, base / "home" / "mwsudo")
        self._write_users()
        self._authorize()
        self._write_config()
        self.process: subprocess.Popen[bytes] | None = None

    def _write_users(self) -> None:
        users = (self.password_user, self.sudo_user)
        passwd = Path("/etc/passwd").read_text(encoding="utf-8")
        shadow = Path("/etc/shadow").read_text(encoding="utf-8")
        group = Path("/etc/group").read_text(encoding="utf-8")
        for user in users:
            user.home.mkdir(parents=True, mode=0o755)
            os.chown(user.home, user.uid, user.uid)
            passwd += (
                f"{user.name}:x:{user.uid}:{user.uid}:matrix-wizard test:{user.home}:/bin/sh\n"
            )
            hashed = _password_hash(user.password) if user.password else "*"
            shadow += f"{user.name}:{hashed}:19000:0:99999:7:::\n"
            group += f"{user.name}:x:{user.uid}:\n"
        (self.etc / "passwd").write_text(passwd, encoding="utf-8")
        (self.etc / "group").write_text(group, encoding="utf-8")
        shadow_file = self.etc / "shadow"
        shadow_file.write_text(shadow, encoding="utf-8")
        shadow_file.chmod(0o600)
        sudoers = self.etc / "sudoers.d"
        sudoers.mkdir(mode=0o755)
        rule = sudoers / "mwsudo"
        rule.write_text(f"{self.sudo_user.name} ALL=(ALL) NOPASSWD: ALL\n", encoding="utf-8")
        rule.chmod(0o440)

    def _authorize(self) -> None:
        public = [
            Path(f"{key}.pub").read_text(encoding="utf-8")
            for key in (*self.client_keys.values(), self.encrypted_key)
        ]
        for user in ("root", self.password_user.name, self.sudo_user.name):
            (self.authorized / user).write_text("".join(public), encoding="utf-8")

    def _write_config(self) -> None:
        (self.etc / "sshd_config").write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {self.host_key}",
                    "PidFile none",
                    "UsePAM no",
                    "StrictModes no",
                    "PermitRootLogin prohibit-password",
                    "PasswordAuthentication yes",
                    "KbdInteractiveAuthentication no",
                    "PubkeyAuthentication yes",
                    f"AuthorizedKeysFile {self.authorized}/%u",
                    "Subsystem sftp internal-sftp",
                    "LogLevel VERBOSE",
                    "MaxStartups 100",
                    "MaxAuthTries 20",
                    "",
                ]
            ),
            encoding="utf-8",
        )

    def _namespace_script(self) -> str:
        etc = self.etc
        return " && ".join(
            [
                "mount -t tmpfs tmpfs /run",
                "mkdir /run/sshd",
                f"mount --bind {etc}/passwd /etc/passwd",
                f"mount --bind {etc}/shadow /etc/shadow",
                f"mount --bind {etc}/group /etc/group",
                f"mkdir -p /etc/sudoers.d && mount --bind {etc}/sudoers.d /etc/sudoers.d",
                f"mount -t tmpfs -o size={SMALL_DISK},mode=0777 tmpfs {self.small}",
                f"exec /usr/sbin/sshd -D -e -f {etc}/sshd_config",
            ]
        )

    def start(self) -> None:
        """Start sshd and wait until it sends its banner."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    "unshare",
                    "--mount",
                    "--propagation",
                    "private",
                    "sh",
                    "-c",
                    self._namespace_script(),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited: {self.log_path.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    if probe.recv(4).startswith(b"SSH-"):
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"sshd did not start: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        """Stop sshd and its sessions, and wait for it."""
        if self.process is None:
            return
        for child in self.session_processes():
            child.kill()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def restart(self, *, new_host_key: bool = False) -> None:
        """Restart sshd on the same port, with a newly made host key if asked."""
        self.stop()
        if new_host_key:
            self.host_key.unlink()
            Path(f"{self.host_key}.pub").unlink()
            _keygen(self.host_key, "ed25519")
        self.start()

    def session_processes(self) -> list[psutil.Process]:
        """Return the processes sshd started for connections (one tree per connection)."""
        if self.process is None:
            return []
        try:
            return psutil.Process(self.process.pid).children()
        except psutil.NoSuchProcess:
            return []

    def remote_path(self, path: Path) -> Path:
        """Return where a path inside the server's namespace can be read from the host."""
        assert self.process is not None
        return Path(f"/proc/{self.process.pid}/root") / path.relative_to("/")

    @property
    def host_public(self) -> tuple[str, str]:
        """Return the host key's type and base64 text."""
        key_type, encoded = Path(f"{self.host_key}.pub").read_text(encoding="utf-8").split()[:2]
        return key_type, encoded

    @property
    def fingerprint(self) -> str:
        """Return the host key's SHA256 fingerprint, as ssh shows it."""
        import base64

        return fingerprint_of(base64.b64decode(self.host_public[1]))

    @property
    def known_hosts_line(self) -> str:
        """Return the known_hosts line for this server as it is now."""
        key_type, encoded = self.host_public
        return f"{known_hosts_name('127.0.0.1', self.port)} {key_type} {encoded}\n"

    def log_text(self) -> str:
        """Return what sshd has logged so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_of_ended_connection(self, since: int) -> str:
        """Wait until a connection made after a log offset has ended, and return the log since."""

        def ended() -> str:
            log = self.log_text()[since:]
            return log if CONNECTION_ENDED.search(log) else ""

        return wait_until(ended, "sshd to log the end of the connection")

    def log_offset(self) -> int:
        """Return the log's current length, to count what happens after."""
        return len(self.log_text())


def start_server() -> Iterator[SshServer]:
    """Make, start, and at the end stop and delete one server."""
    for program in ("sshd", "ssh-keygen", "unshare", "openssl"):
        require_program(program)
    if os.geteuid() != 0:
        pytest.skip("the SSH tests start sshd in a mount namespace, which needs root")
    base = Path(tempfile.mkdtemp(prefix="mw-sshd-"))
    base.chmod(0o755)
    server = SshServer(base)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def sshd() -> Iterator[SshServer]:
    """Yield the OpenSSH server shared by the whole test session."""
    yield from start_server()
