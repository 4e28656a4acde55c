import pytest

from wizard.errors import UsageError, quoted
from wizard.units import (
    GIB,
    MIB,
    TIB,
    counted,
    format_cores,
    format_size,
    parse_cores,
    parse_size,
)


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


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("4", "size '4' is a bare number: give a unit: 4G (K, M, G and T are powers of 1024)"),
        (
            "512B",
            "size '512B' is a bare number: give a unit: 512G (K, M, G and T are powers of 1024)",
        ),
        (
            "99999999999999999999999999T",
            "size '99999999999999999999999999T' is more than 1024T, more than any machine has: "
            "check the figure, such as 512M, 4G or 1.5T",
        ),
        (
            "9" * 400 + "G",
            f"size {quoted('9' * 400 + 'G')} is more than 1024T, more than any machine has: "
            "check the figure, such as 512M, 4G or 1.5T",
        ),
    ],
    ids=["bare", "bytes", "absurd", "beyond a float"],
)
def test_a_size_needs_a_unit_and_a_sane_figure(text: str, says: str) -> None:
    with pytest.raises(UsageError) as refused:
        parse_size(text)
    assert str(refused.value) == says


def test_the_largest_size_is_a_petabyte() -> None:
    assert parse_size("1024T") == 1024 * TIB


@pytest.mark.parametrize(("text", "cores"), [("2", 2), (" 8 ", 8), ("0016", 16), ("1024", 1024)])
def test_cores_are_a_whole_number_from_1_to_1024(text: str, cores: int) -> None:
    assert parse_cores(text) == cores


@pytest.mark.parametrize("text", ["0", "-1", "1025", "٤", "2.0", "", "9" * 5000])
def test_cores_outside_1_to_1024_are_refused(text: str) -> None:
    with pytest.raises(UsageError):
        parse_cores(text)


@pytest.mark.parametrize(
    ("cores", "text"), [(1, "1 core"), (1.0, "1 core"), (2, "2 cores"), (1.5, "1.5 cores")]
)
def test_cores_are_counted_in_words(cores: float, text: str) -> None:
    assert format_cores(cores) == text


@pytest.mark.parametrize(
    ("count", "noun", "plural", "text"),
    [
        (1, "file", "", "1 file"),
        (0, "file", "", "0 files"),
        (2, "check", "", "2 checks"),
        (1, "process", "processes", "1 process"),
        (3, "process", "processes", "3 processes"),
    ],
)
def test_a_count_agrees_with_its_noun(count: int, noun: str, plural: str, text: str) -> None:
    assert counted(count, noun, plural) == text
