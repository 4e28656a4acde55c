"""One SSH connection made with paramiko: strict host keys, timeouts, and a log of each login try.

The socket is opened here (with TCP_NODELAY, which paramiko leaves off and which costs about
40 ms a request otherwise), the host key is checked against the person's known_hosts before
anything is sent, and every channel opened is counted, so a caller can prove a job took one.
"""

import codecs
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

import paramiko

from wizard.errors import WizardError
from wizard.ssh.auth import authenticate
from wizard.ssh.known_hosts import (
    HostKeyCheck,
    Verdict,
    check_host_key,
    preferred_key_types,
    remember_host_key,
)
from wizard.ssh.target import SshTarget
from wizard.ssh.timeouts import Timeouts

DEFAULT_COMMAND_TIMEOUT = 120.0
_CHUNK = 65536

OutputSink = Callable[[str, str], None]
"""Receives each piece of a command's output: ("stdout" or "stderr", text)."""


@dataclass(frozen=True)
class HostKeyQuestion:
    """What the person is asked about a server key their known_hosts files do not hold."""

    target: str
    key_type: str
    fingerprint: str
    other_known_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConnectOptions:
    """How to connect: timeouts, how host keys may be accepted, and how secrets are asked."""

    timeouts: Timeouts = field(default_factory=Timeouts)
    accept_host_key: str | None = None
    confirm_host_key: Callable[[HostKeyQuestion], bool] | None = None
    ask_secret: Callable[[str], str | None] | None = None
    use_agent: bool = True


@dataclass(frozen=True)
class CommandResult:
    """What one command printed and the status it exited with."""

    stdout: bytes
    stderr: bytes
    status: int


class SshConnection:
    """An authenticated connection to one server; it counts the channels it opens."""

    def __init__(self, transport: paramiko.Transport, target: SshTarget) -> None:
        self.transport = transport
        self.target = target
        self.channels_opened = 0
        self.notices: list[str] = []

    def __enter__(self) -> "SshConnection":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection and every channel on it."""
        self.transport.close()

    def lost(self, during: str) -> WizardError:
        """Return the error for a connection that went away while doing something."""
        return WizardError(
            f"the connection to {self.target} was lost {during}",
            "check the network and the server, then run the same command again",
        )

    def open_session(self) -> paramiko.Channel:
        """Open one session channel, counting it."""
        try:
            channel = self.transport.open_session(timeout=self.transport.auth_timeout)
        except (paramiko.SSHException, EOFError, OSError) as error:
            if not self.transport.is_active():
                raise self.lost("while opening a channel") from None
            raise WizardError(
                f"{self.target} refused to open a session: {error}",
                "check the server's sshd settings (MaxSessions, ForceCommand)",
            ) from None
        self.channels_opened += 1
        return channel

    def sftp(self) -> paramiko.SFTPClient:
        """Open an SFTP session on its own channel."""
        channel = self.open_session()
        try:
            channel.invoke_subsystem("sftp")
            return paramiko.SFTPClient(channel)
        except (paramiko.SSHException, EOFError, OSError) as error:
            channel.close()
            if not self.transport.is_active():
                raise self.lost("while starting SFTP") from None
            raise WizardError(
                f"{self.target} offers no SFTP: {error}",
                "enable it in sshd_config (Subsystem sftp internal-sftp) and reload sshd",
            ) from None

    def run(
        self, command: str, *, timeout: float = DEFAULT_COMMAND_TIMEOUT, what: str = "a command"
    ) -> CommandResult:
        """Run one command on its own channel with no input; return all it printed."""
        stdout: list[bytes] = []
        stderr: list[bytes] = []
        status = self._pump(
            command,
            lambda data: stdout.append(data),
            lambda data: stderr.append(data),
            timeout=timeout,
            what=what,
        )
        return CommandResult(b"".join(stdout), b"".join(stderr), status)

    def stream(self, command: str, sink: OutputSink, *, what: str = "a command") -> int:
        """Run one command, passing its output to ``sink`` as it comes; return its exit status."""
        decoders = {
            name: codecs.getincrementaldecoder("utf-8")(errors="replace")
            for name in ("stdout", "stderr")
        }

        def passer(name: str) -> Callable[[bytes], None]:
            return lambda data: sink(name, decoders[name].decode(data))

        status = self._pump(command, passer("stdout"), passer("stderr"), timeout=None, what=what)
        for name, decoder in decoders.items():
            rest = decoder.decode(b"", final=True)
            if rest:
                sink(name, rest)
        return status

    def _pump(
        self,
        command: str,
        on_stdout: Callable[[bytes], None],
        on_stderr: Callable[[bytes], None],
        *,
        timeout: float | None,
        what: str,
    ) -> int:
        """Run a command and hand over its output, in order, until it exits; return its status.

        Two threads read standard output and error as they arrive (each wakes on data, not on
        a poll), and this thread hands every piece to the callbacks.
        """
        channel = self.open_session()
        deadline = None if timeout is None else time.monotonic() + timeout
        pieces: queue.Queue[tuple[str, bytes]] = queue.Queue()
        readers = [
            threading.Thread(target=_read_all, args=(receive, name, pieces), daemon=True)
            for name, receive in (("stdout", channel.recv), ("stderr", channel.recv_stderr))
        ]
        handlers = {"stdout": on_stdout, "stderr": on_stderr}
        try:
            channel.exec_command(command)
            channel.shutdown_write()
            for reader in readers:
                reader.start()
            open_streams = len(readers)
            while open_streams:
                wait = None if deadline is None else deadline - time.monotonic()
                try:
                    name, data = pieces.get(timeout=wait if wait is None else max(wait, 0.0))
                except queue.Empty:
                    raise WizardError(
                        f"{what} on {self.target} did not finish within {timeout:g} s",
                        "check the server's load, then try again",
                    ) from None
                if data:
                    handlers[name](data)
                else:
                    open_streams -= 1
            channel.status_event.wait(self.transport.auth_timeout)
            if not channel.exit_status_ready() and not self.transport.is_active():
                raise self.lost(f"while {what} ran")
            return channel.recv_exit_status() if channel.exit_status_ready() else -1
        except (paramiko.SSHException, EOFError, OSError):
            if not self.transport.is_active():
                raise self.lost(f"while {what} ran") from None
            raise
        finally:
            channel.close()


def _read_all(
    receive: Callable[[int], bytes], name: str, pieces: "queue.Queue[tuple[str, bytes]]"
) -> None:
    """Pass every piece one stream of a channel gives, then an empty piece at its end."""
    try:
        while data := receive(_CHUNK):
            pieces.put((name, data))
    except (OSError, EOFError, paramiko.SSHException):
        pass
    pieces.put((name, b""))


def _open_socket(target: SshTarget, timeout: float) -> socket.socket:
    """Open the TCP connection, with Nagle off, or raise a WizardError saying why it failed."""
    where = f"{target.hostname} port {target.port}"
    try:
        sock = socket.create_connection((target.hostname, target.port), timeout=timeout)
    except socket.gaierror as error:
        raise WizardError(
            f"cannot find the host {target.hostname}: {error.strerror}",
            "check the spelling, the DNS, or give an IP address",
        ) from None
    except TimeoutError:
        raise WizardError(
            f"no answer from {where} within {timeout:g} s",
            "check the address and that a firewall lets SSH through; "
            "raise --connect-timeout for a slow link",
        ) from None
    except ConnectionRefusedError:
        raise WizardError(
            f"{where} refused the connection: no SSH server listens there",
            "check the port (--port) and that sshd runs on the server",
        ) from None
    except OSError as error:
        raise WizardError(
            f"cannot reach {where}: {(error.strerror or str(error)).lower()}",
            "check the address and the network",
        ) from None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _negotiate(sock: socket.socket, target: SshTarget, timeouts: Timeouts) -> paramiko.Transport:
    """Exchange banners and keys, asking first for the host key types already known."""
    transport = paramiko.Transport(sock)
    transport.banner_timeout = timeouts.banner
    transport.handshake_timeout = timeouts.banner
    transport.auth_timeout = timeouts.auth
    known_types = preferred_key_types(target.known_hosts_files, target.known_hosts_name)
    if known_types:
        options = transport.get_security_options()
        offered = list(options.key_types)
        first = [kind for kind in known_types if kind in offered]
        options.key_types = first + [kind for kind in offered if kind not in first]
    try:
        transport.start_client(timeout=2 * timeouts.banner)
    except (paramiko.SSHException, EOFError, OSError) as error:
        transport.close()
        raise _negotiation_error(target, timeouts, error) from None
    return transport


def _negotiation_error(target: SshTarget, timeouts: Timeouts, error: Exception) -> WizardError:
    """Return the error for a server that did not complete the SSH handshake."""
    where = f"{target.hostname} port {target.port}"
    text = str(error)
    if "banner" in text.lower():
        return WizardError(
            f"{where} accepted the connection but sent no SSH banner within {timeouts.banner:g} s",
            "check that this port is an SSH server; raise --banner-timeout for a slow link",
        )
    if "timed out" in text.lower():
        return WizardError(
            f"{where} did not finish the SSH key exchange within {2 * timeouts.banner:g} s",
            "raise --banner-timeout for a slow link",
        )
    return WizardError(
        f"the SSH handshake with {where} failed: {text or type(error).__name__}",
        "check that this port is an SSH server that paramiko can speak to",
    )


def _verify_host_key(
    transport: paramiko.Transport, target: SshTarget, options: ConnectOptions
) -> list[str]:
    """Accept the server's key if known, or on the person's word; return notices to show."""
    key = transport.get_remote_server_key()
    blob = key.asbytes()
    check = check_host_key(target.known_hosts_files, target.known_hosts_name, key.get_name(), blob)
    if check.verdict is Verdict.KNOWN:
        return []
    if check.verdict in (Verdict.CHANGED, Verdict.REVOKED):
        raise _refused_key(target, key.get_name(), check)
    wanted = options.accept_host_key
    if wanted is not None:
        if wanted.strip() != check.fingerprint:
            raise WizardError(
                f"the host key of {target.known_hosts_name} is {key.get_name()} "
                f"{check.fingerprint}, not the {wanted.strip()} given with --accept-host-key; "
                "nothing was sent to it",
                "check the fingerprint on the server (ssh-keygen -lf /etc/ssh/ssh_host_*.pub)",
            )
    else:
        question = HostKeyQuestion(
            target.known_hosts_name, key.get_name(), check.fingerprint, check.other_types
        )
        if options.confirm_host_key is None or not options.confirm_host_key(question):
            raise WizardError(
                f"the host key of {target.known_hosts_name} is not known: it is "
                f"{key.get_name()} {check.fingerprint}; nothing was sent to it",
                "check that fingerprint on the server (ssh-keygen -lf /etc/ssh/ssh_host_*.pub), "
                f"then run again with --accept-host-key {check.fingerprint}",
            )
    remember_host_key(
        target.known_hosts,
        target.known_hosts_name,
        key.get_name(),
        blob,
        hashed=target.hash_known_hosts,
    )
    return [f"Remembered the host key of {target.known_hosts_name} in {target.known_hosts}."]


def _refused_key(target: SshTarget, key_type: str, check: HostKeyCheck) -> WizardError:
    """Return the warning for a host key that differs from the known one, or is revoked."""
    where = ", ".join(known.source for known in check.known if known.key_type == key_type)
    if check.verdict is Verdict.REVOKED:
        return WizardError(
            f"the host key of {target.known_hosts_name} ({key_type} {check.fingerprint}) is "
            f"marked @revoked in your known_hosts; no connection was made",
            "do not connect to this server until its owner replaces the key",
        )
    return WizardError(
        f"WARNING: the host key of {target.known_hosts_name} has changed: it is now "
        f"{key_type} {check.fingerprint}, not the one in {where}. Someone may be intercepting "
        "the connection, or the server was reinstalled; no connection was made",
        "ask the server's owner whether its key changed; only if it did on purpose, remove "
        f"the old line with ssh-keygen -R '{target.known_hosts_name}' and connect again",
    )


def connect(target: SshTarget, options: ConnectOptions | None = None) -> SshConnection:
    """Connect, check the host key strictly, and log in; raise WizardError on any failure."""
    options = options or ConnectOptions()
    sock = _open_socket(target, options.timeouts.connect)
    transport = _negotiate(sock, target, options.timeouts)
    try:
        notices = _verify_host_key(transport, target, options)
        authenticate(transport, target, options.ask_secret, use_agent=options.use_agent)
    except BaseException:
        transport.close()
        raise
    connection = SshConnection(transport, target)
    connection.notices.extend(notices)
    return connection
