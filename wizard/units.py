"""Parse and print sizes such as 512M, 4G, 4GB, 4GiB and 1.5T."""

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
