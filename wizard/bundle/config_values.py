"""Check each value again just before it goes into an nginx or Caddy file, and quote it."""

import re

from wizard.errors import WizardError

# Host names and IPv4 literals: lower-case letters, digits, dots and inner hyphens only.
_HOST = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$"
)
_PATH = re.compile(r"^/[A-Za-z0-9._+/-]*$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$")
_UPSTREAM = re.compile(r"^[a-z0-9.-]+:[0-9]{1,5}$")
# Path regular expressions: the characters nginx, Caddy and Traefik all read alike when quoted.
_REGEX = re.compile(r"^[A-Za-z0-9/_.^$()|*+?\[\]:!-]+$")


def _refuse(kind: str, value: object, what: str) -> WizardError:
    return WizardError(
        f"refusing to write {kind} {value!r} into a proxy configuration",
        f"{what}; correct it in the answers and generate again",
    )


def host(value: str) -> str:
    """Return a host name fit for a server_name or site address, else raise WizardError."""
    if not _HOST.match(value):
        raise _refuse("the host", value, "a host name has letters, digits, dots and hyphens only")
    return value


def path(value: str) -> str:
    """Return an absolute path of safe characters, else raise WizardError."""
    if not _PATH.match(value) or "/../" in f"{value}/" or "//" in value:
        raise _refuse("the path", value, "a path is absolute, of letters, digits and . _ + - /")
    return value


def email(value: str) -> str:
    """Return an e-mail address of safe characters, else raise WizardError."""
    if not _EMAIL.match(value):
        raise _refuse("the e-mail address", value, "use a plain address such as admin@example.com")
    return value


def port(value: int) -> int:
    """Return a TCP port number, else raise WizardError."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise _refuse("the port", value, "a port is a number from 1 to 65535")
    return value


def upstream(value: str) -> str:
    """Return a host:port the proxy forwards to, else raise WizardError."""
    if not _UPSTREAM.match(value):
        raise _refuse("the upstream", value, "an upstream is host:port")
    port(int(value.rpartition(":")[2]))
    return value


def regex(value: str) -> str:
    """Return a path regular expression of safe characters that compiles, else raise WizardError."""
    try:
        re.compile(value)
    except re.error:
        valid = False
    else:
        valid = bool(_REGEX.match(value))
    if not valid:
        raise _refuse(
            "the path pattern", value, "a pattern is a regular expression without quotes or braces"
        )
    return value


def quoted_regex(value: str) -> str:
    """Return a checked path regular expression in double quotes, as nginx and Caddy read them."""
    return f'"{regex(value)}"'


def quoted(value: str) -> str:
    """Return a checked value in double quotes, as both nginx and Caddy read them."""
    if any(character in value for character in '"\\\n\r\t;{}`$'):
        raise _refuse("the value", value, "it holds a quote, brace, semicolon or control character")
    return f'"{value}"'


def quoted_header(value: str) -> str:
    """Return a checked header value in double quotes; `;` may separate its parts there."""
    quoted(value.replace(";", ""))  # refuses what quoted() refuses, the semicolon aside
    return f'"{value}"'
