"""How long an SSH connection waits at each stage; light to import, for the command line."""

from dataclasses import dataclass

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_BANNER_TIMEOUT = 10.0
DEFAULT_AUTH_TIMEOUT = 30.0


@dataclass(frozen=True)
class Timeouts:
    """Seconds allowed to reach the server, to get its banner and key exchange, and to log in."""

    connect: float = DEFAULT_CONNECT_TIMEOUT
    banner: float = DEFAULT_BANNER_TIMEOUT
    auth: float = DEFAULT_AUTH_TIMEOUT
