"""Where an SSH connection goes: ``user@host[:port]`` or a Host alias of ~/.ssh/config."""

import getpass
import re
from dataclasses import dataclass
from pathlib import Path

import paramiko

from wizard.answers.validators import is_port
from wizard.errors import UsageError, quoted
from wizard.ssh.known_hosts import SYSTEM_KNOWN_HOSTS, known_hosts_name

DEFAULT_PORT = 22
DEFAULT_IDENTITIES = ("id_ed25519", "id_ecdsa", "id_rsa")
_TARGET_HINT = "give user@host, user@host:port, user@[::1]:port or a Host alias of ~/.ssh/config"
_BRACKETED = re.compile(r"^\[(?P<host>[^\]]+)\](?::(?P<port>[^:]*))?$")
_UNSUPPORTED = ("proxycommand", "proxyjump")


@dataclass(frozen=True)
class SshTarget:
    """A resolved SSH destination: host, port, user, keys to try and the known_hosts files."""

    hostname: str
    port: int
    user: str
    identity_files: tuple[Path, ...]
    known_hosts: Path
    global_known_hosts: tuple[Path, ...] = (SYSTEM_KNOWN_HOSTS,)
    hash_known_hosts: bool = False

    @property
    def known_hosts_name(self) -> str:
        """Return the name this host goes by in known_hosts files."""
        return known_hosts_name(self.hostname, self.port)

    @property
    def known_hosts_files(self) -> list[Path]:
        """Return every known_hosts file to check, the person's first."""
        return [self.known_hosts, *self.global_known_hosts]

    def __str__(self) -> str:
        host = f"[{self.hostname}]" if ":" in self.hostname else self.hostname
        port = "" if self.port == DEFAULT_PORT else f":{self.port}"
        return f"{self.user}@{host}{port}"


def _port(text: str, where: str) -> int:
    """Return a TCP port number, or raise UsageError naming where it came from."""
    if not is_port(text):
        raise UsageError(f"{where} {quoted(text)} is not a port number", "give 1 to 65535")
    return int(text)


def split_target(text: str) -> tuple[str | None, str, int | None]:
    """Return (user, host, port) from ``[user@]host[:port]``; IPv6 goes in brackets."""
    user, at, rest = text.rpartition("@")
    if at and not user:
        raise UsageError(f"the target {text!r} names no user before @", _TARGET_HINT)
    bracketed = _BRACKETED.match(rest)
    if bracketed:
        host, port_text = bracketed["host"], bracketed["port"]
    elif rest.count(":") == 1:
        host, port_text = rest.split(":")
    elif rest.count(":") > 1:
        raise UsageError(f"the target {text!r} is ambiguous", "write an IPv6 host as [::1]")
    else:
        host, port_text = rest, None
    if not host or any(char.isspace() for char in host) or host.startswith("-"):
        raise UsageError(f"the target {text!r} names no host", _TARGET_HINT)
    port = None if port_text is None else _port(port_text, "the port in the target")
    return (user or None), host, port


def _config_for(host: str, config_path: Path) -> dict[str, object]:
    """Return the ~/.ssh/config options that apply to a host, or none if there is no file."""
    try:
        text = config_path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except OSError as error:
        raise UsageError(
            f"cannot read the SSH config {config_path}: {(error.strerror or '').lower()}",
            "check its permissions",
        ) from None
    try:
        return dict(paramiko.SSHConfig.from_text(text).lookup(host))
    except (paramiko.SSHException, ValueError) as error:
        raise UsageError(f"cannot use the SSH config {config_path}: {error}", "fix it") from None


def resolve_target(
    text: str,
    *,
    port: int | None = None,
    identity: Path | None = None,
    ssh_dir: Path | None = None,
) -> SshTarget:
    """Return where ``text`` leads, reading ssh_dir/config (default ~/.ssh) as ssh does.

    The command line wins over the target text, which wins over the config file: ``--port``
    over ``:port`` over ``Port``; ``user@`` over ``User``; ``--identity`` is tried before the
    config's IdentityFile lines, and the usual ~/.ssh/id_* keys are tried when neither names one.
    """
    ssh_dir = ssh_dir or Path.home() / ".ssh"
    user, host, target_port = split_target(text)
    if port is not None and target_port is not None and port != target_port:
        raise UsageError(
            f"two ports given: {target_port} in {text!r} and --port {port}", "give only one"
        )
    options = _config_for(host, ssh_dir / "config")
    unsupported = [name for name in _UNSUPPORTED if options.get(name)]
    if unsupported:
        raise UsageError(
            f"the SSH config sends {host} through {unsupported[0]}, which the wizard cannot follow",
            "give the host's own address, reachable directly, or a Host alias without it",
        )
    chosen_port = port or target_port
    if chosen_port is None:
        chosen_port = (
            _port(str(options["port"]), "Port in the SSH config")
            if "port" in options
            else DEFAULT_PORT
        )
    identities: list[Path] = []
    if identity is not None:
        if not identity.expanduser().is_file():
            raise UsageError(f"the key file {identity} does not exist", "give a private key file")
        identities.append(identity.expanduser())
    configured = options.get("identityfile")
    if isinstance(configured, list):
        identities.extend(Path(str(path)).expanduser() for path in configured)
    if not identities:
        identities = [ssh_dir / name for name in DEFAULT_IDENTITIES if (ssh_dir / name).is_file()]
    known_hosts = options.get("userknownhostsfile")
    return SshTarget(
        hostname=str(options.get("hostname") or host),
        port=chosen_port,
        user=user or str(options.get("user") or getpass.getuser()),
        identity_files=tuple(dict.fromkeys(identities)),
        known_hosts=Path(str(known_hosts).split()[0]).expanduser()
        if known_hosts
        else ssh_dir / "known_hosts",
        hash_known_hosts=str(options.get("hashknownhosts", "no")).lower() == "yes",
    )
