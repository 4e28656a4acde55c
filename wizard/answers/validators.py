"""Pure validators shared by the answers file, the command line and the screens."""

import ipaddress
import re

import idna

from wizard.answers.mixed_scripts import mixed_script_warning
from wizard.errors import quoted

DNS_NAME_MAX = 253  # characters of a DNS name in text form, without a final dot (RFC 1035)
DNS_LABEL_MAX = 63  # characters of one part between dots (RFC 1035)
SERVER_NAME_MAX = 255  # characters of a whole server_name, port included (the Matrix spec)
_USE_A_DOMAIN = "use a domain name, such as example.com"
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_IDENTIFIERS = {"@": "a user ID", "#": "a room alias"}
_EMAIL = re.compile(r"^[^@\s\"'`;\\{}<>]+@[a-z0-9.-]+\.([a-z]{2,}|xn--[a-z0-9-]+)$", re.IGNORECASE)
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_UNIX_PATH = re.compile(r"^/[A-Za-z0-9._+/-]*$")


def _ascii_label(label: str) -> str:
    """Return one UTS-46 mapped label in ASCII: itself, or xn-- and its Punycode."""
    if label.isascii():
        return label
    idna.check_label(label)
    return "xn--" + label.encode("punycode").decode("ascii")


def _decoded_label(label: str) -> str | None:
    """Return an xn-- part decoded to Unicode, or None when it is not valid Punycode for a name."""
    try:
        return idna.ulabel(label)
    except UnicodeError:
        return None


def _unicode_form(ascii_name: str) -> str:
    """Return a name with each valid xn-- part decoded; check_dns_name refuses invalid ones."""
    return ".".join(
        (_decoded_label(label) or label) if label.startswith("xn--") else label
        for label in ascii_name.split(".")
    )


def to_ascii_hostname(text: str) -> tuple[str, list[str]]:
    """Return a DNS name in lower-case ASCII by UTS-46, as browsers read it, with notes on it."""
    notes: list[str] = []
    stripped = text.strip()
    lowered = stripped.lower()
    if lowered != stripped:
        notes.append(f"{stripped!r} was written in lower case as {lowered!r}")
    if lowered.isascii():
        ascii_name = lowered
    else:
        try:
            mapped = idna.uts46_remap(lowered, std3_rules=True, transitional=False)
            if not mapped:
                raise idna.IDNAError("every character is one UTS-46 leaves out")
            ascii_name = ".".join(_ascii_label(label) for label in mapped.split("."))
        except UnicodeError:
            raise ValueError(
                f"{quoted(stripped)} is not a valid internationalised domain name; "
                "check its spelling"
            ) from None
        notes.append(f"{lowered!r} is written in its ASCII form {ascii_name!r}")
    warning = mixed_script_warning(_unicode_form(ascii_name))
    return ascii_name, [warning, *notes] if warning else notes


def is_ip_address(host: str) -> bool:
    """Return whether a host is an IPv4 or IPv6 address rather than a DNS name."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def ip_version(address: str) -> int:
    """Return 4 or 6 for an address that check_host_address accepted."""
    return ipaddress.ip_address(address).version


def check_host_address(text: str) -> str:
    """Return an IP address a server can own and be reached at, in its compressed form.

    Raises ValueError for what is no host's own address: loopback, unspecified, multicast,
    link-local or reserved.
    """
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        raise ValueError(f"{quoted(text)} is not an IPv4 or IPv6 address") from None
    unusable = (
        address.is_loopback
        or address.is_unspecified
        or address.is_multicast
        or address.is_link_local
        or address.is_reserved
    )
    if unusable:
        raise ValueError(
            f"{quoted(text)} cannot be this server's address: it is a loopback, unspecified, "
            "multicast, link-local or reserved address"
        )
    return str(address)


def check_dns_name(name: str) -> str:
    """Return the name without a final dot if it is a DNS name as the Matrix spec allows.

    Raises ValueError with one line on what is wrong: the length (253 characters in all, 63 in
    each part between dots), the characters of a part, an invalid xn-- part, or a missing dot.
    """
    if not name:
        raise ValueError("a host name is needed, such as example.com")
    bare = name.removesuffix(".")
    if len(bare) > DNS_NAME_MAX:
        raise ValueError(
            f"{quoted(name)} is too long: a DNS name has at most {DNS_NAME_MAX} characters"
        )
    labels = bare.split(".")
    for label in labels:
        if not label:
            raise ValueError(f"{name!r} has an empty part between dots; remove the extra dot")
        if len(label) > DNS_LABEL_MAX:
            raise ValueError(
                f"{quoted(name)} has a part too long, {quoted(label)}: "
                f"each part between dots has at most {DNS_LABEL_MAX} characters"
            )
        if not _LABEL.match(label):
            raise ValueError(
                f"{name!r} is not a valid host name: each part between dots must be letters, "
                "digits or inner hyphens"
            )
        if label.startswith("xn--") and _decoded_label(label) is None:
            raise ValueError(
                f"{name!r} has {label!r}, which is not a valid internationalised part "
                "(xn-- and its Punycode); check its spelling"
            )
    if len(labels) < 2:
        raise ValueError(
            f"{name!r} has no dot: use the full domain others will reach, such as example.com"
        )
    return bare


def is_port(text: str) -> bool:
    """Return whether text is a TCP or UDP port, 1 to 65535, in ASCII digits."""
    return text.isascii() and text.isdigit() and len(text) <= 5 and 1 <= int(text) <= 65535


def parse_port(text: str) -> int:
    """Return the port text names, or raise ValueError saying what a port is."""
    if not is_port(text):
        raise ValueError(f"{quoted(text)} is not a port: use a number from 1 to 65535")
    return int(text)


def _check_port(text: str, whole: str) -> None:
    if not is_port(text):
        raise ValueError(f"{whole!r} has a bad port: use a number from 1 to 65535")


def _ip_refusal(raw: str, host: str) -> str:
    """Return why an IP address cannot be the server_name, for the address in raw."""
    address = ipaddress.ip_address(host)
    if address.is_loopback:
        kind = "a loopback address, which only this machine can reach"
    elif address.is_private:
        kind = "a private IP address, which other servers cannot reach to federate"
    else:
        kind = "an IP address"
    return (
        f"{raw!r} is {kind}; this wizard serves a domain name, such as example.com, "
        "since an IP server name gets no delegation and no ACME certificate"
    )


def _refuse_other_shapes(raw: str) -> None:
    """Raise ValueError, with the server name it holds, for a URL or a Matrix identifier."""
    scheme = _SCHEME.match(raw)
    if scheme:
        rest = raw[scheme.end() :]
        host = re.split(r"[/?#]", rest, maxsplit=1)[0]
        if not host:
            raise ValueError(f"{raw!r} is a URL: drop the scheme and write the domain alone")
        what = "the scheme" if host == rest else "the scheme and the path,"
        raise ValueError(f"{raw!r} is a URL: drop {what} and write {host!r}")
    sigil = raw[:1]
    _, colon, server_name = raw.partition(":")
    if sigil in _IDENTIFIERS and colon and server_name:
        raise ValueError(
            f"{raw!r} is {_IDENTIFIERS[sigil]}: the server name is the part after the colon, "
            f"{server_name!r}"
        )
    if "/" in raw:
        raise ValueError(
            f"{raw!r} has a '/': a server name has no path; write {raw[: raw.index('/')]!r}"
        )


def _refuse_ip_addresses(raw: str) -> None:
    """Raise ValueError for an IP address in any form the grammar allows, or a broken one."""
    if raw.startswith("["):
        inside, closing, _ = raw[1:].partition("]")
        if not closing:
            raise ValueError(f"{raw!r} has a '[' with no closing ']'; {_USE_A_DOMAIN}")
        try:
            ipaddress.IPv6Address(inside)
        except ValueError:
            raise ValueError(
                f"{raw!r} holds no IPv6 address in its brackets; {_USE_A_DOMAIN}"
            ) from None
        raise ValueError(_ip_refusal(raw, inside))
    if raw.count(":") > 1:
        if is_ip_address(raw):
            raise ValueError(_ip_refusal(raw, raw))
        raise ValueError(
            f"{raw!r} has more than one ':'; a server name is a domain with an optional port, "
            "such as example.com:8448"
        )
    host = raw.partition(":")[0]
    if is_ip_address(host):
        raise ValueError(_ip_refusal(raw, host))
    if re.fullmatch(r"[0-9.]+", host):
        raise ValueError(f"{raw!r} is not a valid IP address, nor a domain name; {_USE_A_DOMAIN}")


def normalise_server_name(text: str) -> tuple[str, list[str]]:
    """Check a server_name against the Matrix grammar and return it normalised, with notes.

    Raises ValueError with one line on what is wrong and the fix; IP addresses, which the
    grammar allows, are refused with the reason this wizard cannot serve them.
    """
    raw = text.strip()
    if not raw:
        raise ValueError("a server name is needed, such as example.com")
    if len(raw) > SERVER_NAME_MAX:
        raise ValueError(
            f"{quoted(raw)} is too long: "
            f"the Matrix spec allows a server name of at most {SERVER_NAME_MAX} characters"
        )
    _refuse_other_shapes(raw)
    _refuse_ip_addresses(raw)
    host, colon, port = raw.partition(":")
    if not host:
        raise ValueError(f"{raw!r} has no domain before its port; {_USE_A_DOMAIN}")
    if colon:
        _check_port(port, raw)
    ascii_host, notes = to_ascii_hostname(host)
    name = check_dns_name(ascii_host) + colon + port
    if len(name) > SERVER_NAME_MAX:
        raise ValueError(
            f"{quoted(name)} is too long with its port: the Matrix spec allows a server name "
            f"of at most {SERVER_NAME_MAX} characters; drop the port or shorten the name"
        )
    return name, notes


def server_name_host(server_name: str) -> str:
    """Return the host part of a normalised server_name, without any port."""
    return server_name.partition(":")[0]


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
