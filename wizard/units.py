"""Parse and print the figures of a machine: sizes such as 512M, 4G or 1.5T, and CPU cores."""

import re

from wizard.errors import UsageError, quoted

# Hosting plans sell RAM and disk in binary units even when they write "GB", and the kernel
# reports binary units, so every suffix here is a power of 1024: 4G = 4GB = 4GiB = 4 x 1024**3.
_MULTIPLIERS = {"k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)

KIB = 1024
MIB = 1024**2
GIB = 1024**3
TIB = 1024**4
MAX_SIZE = 1024 * TIB
"""The largest size read: a petabyte is more RAM or disk than any one machine has."""
MAX_CORES = 1024
"""The most CPU cores a machine may be described with, as in the answers' machine section."""


def parse_size(text: str) -> int:
    """Return the number of bytes in a size written as 512M, 4G, 4GB, 4GiB or 1.5T."""
    match = _SIZE.match(text)
    if not match:
        raise UsageError(
            f"size {quoted(text)} is not understood",
            "write a number with K, M, G or T after it, such as 512M, 4G or 1.5T",
        )
    number, unit = match.groups()
    if not unit:
        example = number if len(number) <= 6 else "4"
        raise UsageError(
            f"size {quoted(text)} is a bare number",
            f"give a unit: {example}G (K, M, G and T are powers of 1024)",
        )
    value = float(number) * _MULTIPLIERS[unit.lower()]
    if value > MAX_SIZE:
        raise UsageError(
            f"size {quoted(text)} is more than 1024T, more than any machine has",
            "check the figure, such as 512M, 4G or 1.5T",
        )
    if int(value) <= 0:
        raise UsageError(f"size {quoted(text)} must be more than zero", "such as 512M, 4G or 1.5T")
    return int(value)


def parse_cores(text: str) -> int:
    """Return a count of CPU cores written as a whole number from 1 to MAX_CORES."""
    digits = text.strip()
    if not (digits.lstrip("-").isascii() and digits.lstrip("-").isdigit()):
        raise UsageError(f"CPU cores {quoted(text)} is not a whole number", "give one, such as 2")
    number = digits.lstrip("0")
    if digits.startswith("-") or not number:
        raise UsageError(f"{quoted(text)} CPU cores is too few", "give at least 1")
    if len(number) > len(str(MAX_CORES)) or int(number) > MAX_CORES:
        raise UsageError(
            f"{quoted(text)} CPU cores is more than any one machine has",
            f"give at most {MAX_CORES}",
        )
    return int(number)


def format_size(size: int | float | None) -> str:
    """Print a byte count the way people read it: 512 MiB, 3.8 GiB, 1.5 TiB."""
    if size is None:
        return "unknown"
    for unit, factor in (("TiB", TIB), ("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if size >= factor:
            value = size / factor
            text = f"{value:.1f}".removesuffix(".0")
            return f"{text} {unit}"
    return f"{int(size)} B"


def counted(count: int, noun: str, plural: str = "") -> str:
    """Return a count with its noun in agreement: 1 file, 2 files, 1 process, 3 processes."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def format_cores(cores: float) -> str:
    """Return a count of cores as words: 1 core, 2 cores, 1.5 cores."""
    count = f"{cores:g}"
    return f"{count} core" if count == "1" else f"{count} cores"
