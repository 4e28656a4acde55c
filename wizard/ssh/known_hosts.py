"""The person's known_hosts files: what each says of a server's host key, and remembering one.

Read as OpenSSH reads them: comma-separated patterns with ``*``, ``?`` and ``!``, hashed names
(``|1|salt|hash``), ``[host]:port`` for other ports, and ``@revoked`` lines. A server is known
when a line names it with the very key it shows; it has changed when lines name it with other
keys of the same type and none with this one.
"""

import base64
import binascii
import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path

from wizard.errors import WizardError

SYSTEM_KNOWN_HOSTS = Path("/etc/ssh/ssh_known_hosts")
_HASHED = "|1|"
# Key types a server signs with for each key type a known_hosts line can hold.
RSA_SIGNATURES = ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")


def fingerprint_of(blob: bytes) -> str:
    """Return a public key's fingerprint as ssh shows it: ``SHA256:`` and unpadded base64."""
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii")
    return "SHA256:" + digest.rstrip("=")


def known_hosts_name(hostname: str, port: int) -> str:
    """Return the name known_hosts files use: the host, or ``[host]:port`` off port 22."""
    return hostname if port == 22 else f"[{hostname}]:{port}"


class Verdict(StrEnum):
    """What the known_hosts files say of a host key."""

    KNOWN = "known"
    UNKNOWN = "unknown"
    CHANGED = "changed"
    REVOKED = "revoked"


@dataclass(frozen=True)
class KnownKey:
    """One known_hosts line that names a host: the key type, the key and where it was read."""

    key_type: str
    blob: bytes
    source: str
    revoked: bool = False


@dataclass(frozen=True)
class HostKeyCheck:
    """The verdict on a server's key, and what the files hold for that host."""

    verdict: Verdict
    fingerprint: str
    known: tuple[KnownKey, ...] = field(default=())

    @property
    def other_types(self) -> tuple[str, ...]:
        """Return the key types known for the host, besides revoked ones."""
        return tuple(dict.fromkeys(known.key_type for known in self.known if not known.revoked))


@cache
def _pattern(glob: str) -> re.Pattern[str]:
    """Return the regular expression of one known_hosts pattern (``*`` and ``?`` only)."""
    parts = (".*" if char == "*" else "." if char == "?" else re.escape(char) for char in glob)
    return re.compile("".join(parts), re.IGNORECASE)


def _names_match(patterns: str, name: str) -> bool:
    """Return whether a known_hosts line's host field names ``name``."""
    if patterns.startswith(_HASHED):
        try:
            salt_text, hashed_text = patterns[len(_HASHED) :].split("|", 1)
            salt = base64.b64decode(salt_text)
            expected = base64.b64decode(hashed_text)
        except (ValueError, binascii.Error):
            return False
        actual = hmac.new(salt, name.encode("utf-8"), hashlib.sha1).digest()
        return hmac.compare_digest(actual, expected)
    matched = False
    for pattern in patterns.split(","):
        negated = pattern.startswith("!")
        if _pattern(pattern.removeprefix("!")).fullmatch(name):
            if negated:
                return False
            matched = True
    return matched


def _known_keys(text: str, name: str, source: str) -> list[KnownKey]:
    """Return the keys the lines of one file give for ``name``."""
    found = []
    for number, raw in enumerate(text.splitlines(), 1):
        fields = raw.split()
        if not fields or fields[0].startswith("#"):
            continue
        marker = fields.pop(0) if fields[0].startswith("@") else ""
        if marker not in ("", "@revoked") or len(fields) < 3:
            continue
        patterns, key_type, encoded = fields[:3]
        if not _names_match(patterns, name):
            continue
        try:
            blob = base64.b64decode(encoded, validate=True)
        except (ValueError, binascii.Error):
            continue
        found.append(KnownKey(key_type, blob, f"{source}:{number}", marker == "@revoked"))
    return found


def _read(path: Path) -> str | None:
    """Return a known_hosts file's text, None when it is missing."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        raise WizardError(
            f"cannot read the known hosts file {path}: {(error.strerror or '').lower()}",
            "check its permissions: host keys are checked against it",
        ) from None


def known_keys(files: list[Path], name: str) -> list[KnownKey]:
    """Return every key the known_hosts files give for a host name, in file order."""
    keys: list[KnownKey] = []
    for path in files:
        text = _read(path)
        if text is not None:
            keys.extend(_known_keys(text, name, str(path)))
    return keys


def check_host_key(files: list[Path], name: str, key_type: str, blob: bytes) -> HostKeyCheck:
    """Return whether the files know this key for the host, know another, or know none."""
    known = tuple(known_keys(files, name))
    fingerprint = fingerprint_of(blob)
    if any(entry.revoked and entry.blob == blob for entry in known):
        return HostKeyCheck(Verdict.REVOKED, fingerprint, known)
    valid = [entry for entry in known if not entry.revoked]
    if any(entry.blob == blob for entry in valid):
        return HostKeyCheck(Verdict.KNOWN, fingerprint, known)
    if any(entry.key_type == key_type for entry in valid):
        return HostKeyCheck(Verdict.CHANGED, fingerprint, known)
    return HostKeyCheck(Verdict.UNKNOWN, fingerprint, known)


def preferred_key_types(files: list[Path], name: str) -> list[str]:
    """Return the host key types to ask the server for first: those already known for it."""
    preferred: list[str] = []
    for entry in known_keys(files, name):
        if entry.revoked:
            continue
        kinds = RSA_SIGNATURES if entry.key_type == "ssh-rsa" else (entry.key_type,)
        preferred.extend(kind for kind in kinds if kind not in preferred)
    return preferred


def _hashed_name(name: str) -> str:
    """Return a host name hashed as OpenSSH's HashKnownHosts writes it."""
    salt = os.urandom(20)
    digest = hmac.new(salt, name.encode("utf-8"), hashlib.sha1).digest()
    return f"{_HASHED}{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


def remember_host_key(path: Path, name: str, key_type: str, blob: bytes, *, hashed: bool) -> None:
    """Append one host key line to a known_hosts file, creating it (0600) and ~/.ssh (0700)."""
    shown = _hashed_name(name) if hashed else name
    line = f"{shown} {key_type} {base64.b64encode(blob).decode('ascii')}\n"
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            if os.fstat(descriptor).st_size and not _ends_with_newline(path):
                line = "\n" + line
            os.write(descriptor, line.encode("utf-8"))
        finally:
            os.close(descriptor)
    except OSError as error:
        raise WizardError(
            f"the host key was accepted, but cannot be remembered in {path}: "
            f"{(error.strerror or '').lower()}",
            "make the file writable, or you will be asked again next time",
        ) from None


def _ends_with_newline(path: Path) -> bool:
    """Return whether a non-empty file's last byte is a newline."""
    with path.open("rb") as file:
        file.seek(-1, os.SEEK_END)
        return file.read(1) == b"\n"
