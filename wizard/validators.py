"""Pure validators shared by the answers file, the command line and the screens."""

import ipaddress
import re

_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_EMAIL = re.compile(r"^[^@\s\"'`;\\{}<>]+@[a-z0-9.-]+\.[a-z]{2,}$", re.IGNORECASE)
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_UNIX_PATH = re.compile(r"^/[A-Za-z0-9._+/-]*$")


def to_ascii_hostname(text: str) -> tuple[str, list[str]]:
    """Return a DNS name in lower-case ASCII form, with a note for each change made to it."""
    notes: list[str] = []
    lowered = text.strip().lower()
    if lowered != text.strip():
        notes.append(f"{text.strip()!r} was written in lower case as {lowered!r}")
    if lowered.isascii():
        return lowered, notes
    try:
        ascii_name = lowered.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(
            f"{text!r} is not a valid internationalised domain name; check its spelling"
        ) from None
    notes.append(f"{lowered!r} is written in its ASCII form {ascii_name!r}")
    return ascii_name, notes


def is_ip_address(host: str) -> bool:
    """Return whether a host is an IPv4 or IPv6 address rather than a DNS name."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def check_dns_name(name: str) -> str:
    """Return the name if it is a DNS name as the Matrix spec allows, else raise ValueError."""
    if not name:
        raise ValueError("a host name is needed, such as example.com")
    if len(name) > 255:
        raise ValueError(f"{name!r} is longer than the 255 characters DNS allows")
    labels = name.removesuffix(".").split(".")
    for label in labels:
        if not _LABEL.match(label):
            raise ValueError(
                f"{name!r} is not a valid host name: each part between dots must be letters, "
                "digits or inner hyphens, 1 to 63 characters"
            )
    if len(labels) < 2:
        raise ValueError(
            f"{name!r} has no dot: use the full domain others will reach, such as example.com"
        )
    return name.removesuffix(".")


def _check_port(text: str, whole: str) -> None:
    if not text.isdigit() or not 1 <= int(text) <= 65535 or len(text) > 5:
        raise ValueError(f"{whole!r} has a bad port: use a number from 1 to 65535")


def normalise_server_name(text: str) -> tuple[str, list[str]]:
    """Check a server_name against the Matrix grammar and return it normalised, with notes."""
    raw = text.strip()
    if not raw:
        raise ValueError("a server name is needed, such as example.com")
    if raw.startswith("["):
        host, _, rest = raw[1:].partition("]")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{raw!r} does not hold a valid IPv6 address in brackets") from None
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{raw!r}: only ':port' may follow the IPv6 address")
            _check_port(rest[1:], raw)
        return raw.lower(), []
    host, colon, port = raw.rpartition(":") if ":" in raw else (raw, "", "")
    if colon:
        _check_port(port, raw)
    if re.fullmatch(r"[0-9.]+", host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise ValueError(f"{raw!r} is not a valid IPv4 address") from None
        return raw, []
    ascii_host, notes = to_ascii_hostname(host)
    return check_dns_name(ascii_host) + (f":{port}" if colon else ""), notes


def server_name_host(server_name: str) -> str:
    """Return the host part of a server_name, without any port or IPv6 brackets."""
    if server_name.startswith("["):
        return server_name[1 : server_name.index("]")]
    return server_name.rpartition(":")[0] if ":" in server_name else server_name


def check_email(text: str) -> str:
    """Return an e-mail address fit for an ACME account, else raise ValueError."""
    size = len(text.encode("utf-8"))
    if size > 254:  # RFC 5321: 256 octets hold the address and its angle brackets
        raise ValueError(
            f"an e-mail address of {size} bytes is longer than the 254 RFC 5321 allows; "
            "give a shorter one, such as admin@example.com"
        )
    if not _EMAIL.match(text):
        raise ValueError(f"{text!r} is not an e-mail address, such as admin@example.com")
    local, _, domain = text.rpartition("@")
    if len(local.encode("utf-8")) > 64:  # RFC 5321's limit on the part before the @
        raise ValueError(
            f"the part before the @ has {len(local.encode('utf-8'))} bytes, more than the 64 "
            "RFC 5321 allows; shorten it"
        )
    if any(len(label) > 63 for label in domain.split(".")):
        raise ValueError(
            "the domain after the @ has a part longer than the 63 characters DNS allows "
            "between dots; check the domain"
        )
    return text


def check_absolute_path(text: str) -> str:
    """Return an absolute path made of safe characters only, else raise ValueError."""
    if len(text) > 4095:  # Linux's PATH_MAX of 4096 bytes ends with a NUL
        raise ValueError(
            f"a path of {len(text)} characters is longer than the 4095 Linux allows; "
            "give a shorter one, such as /var/lib/matrix"
        )
    if not _UNIX_PATH.match(text) or "/../" in f"{text}/" or "//" in text:
        raise ValueError(
            f"{text!r} must be an absolute path of letters, digits and . _ + - /, "
            "such as /var/lib/matrix"
        )
    return text.rstrip("/") or "/"


def check_bucket(text: str) -> str:
    """Return an S3 bucket name, else raise ValueError."""
    if not _BUCKET.match(text):
        raise ValueError(
            f"{text!r} is not a bucket name: 3 to 63 lower-case letters, digits, dots or hyphens"
        )
    return text


def check_url(text: str) -> str:
    """Return an http(s) URL with a valid host, else raise ValueError."""
    match = re.fullmatch(r"(https?)://([^/:\s]+)(:\d{1,5})?(/[^\s\"'`]*)?", text)
    if not match:
        raise ValueError(f"{text!r} is not a URL such as https://s3.example.com")
    check_dns_name(match.group(2).lower())
    return text
