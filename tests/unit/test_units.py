import pytest

from wizard.errors import UsageError
from wizard.units import GIB, MIB, TIB, format_size, parse_size


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("512M", 512 * MIB),
        ("4G", 4 * GIB),
        ("4GB", 4 * GIB),
        ("4GiB", 4 * GIB),
        ("4gib", 4 * GIB),
        ("1.5T", int(1.5 * TIB)),
        (" 60g ", 60 * GIB),
        ("1024", 1024),
    ],
)
def test_sizes_are_powers_of_1024_whatever_the_suffix(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["4X", "", "G", "-1G", "4 GB GB", "four"])
def test_bad_size_says_what_would_be_right(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_size(text)
    assert "512M" in str(caught.value)


def test_zero_is_refused() -> None:
    with pytest.raises(UsageError, match="more than zero"):
        parse_size("0G")


@pytest.mark.parametrize(
    ("size", "text"),
    [(None, "unknown"), (512, "512 B"), (512 * MIB, "512 MiB"), (int(3.8 * GIB), "3.8 GiB")],
)
def test_format_size(size: int | None, text: str) -> None:
    assert format_size(size) == text
