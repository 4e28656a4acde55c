"""Answers files and drafts as bytes and YAML: size, encoding, nesting, long values, keys twice."""

from pathlib import Path

import pytest

from screens.draft import load_draft
from tests.cli_support import VALID_TEXT, generate, with_line, written
from wizard.answers.model import load_answers_file
from wizard.errors import UsageError
from wizard.yaml_input import MAX_DEPTH, MAX_FILE_BYTES, MAX_SCALAR_CHARS, parse


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (
            VALID_TEXT.encode("utf-16"),
            "is UTF-16 text, not UTF-8 (byte 0xff at offset 0): save it as UTF-8",
        ),
        (
            VALID_TEXT.replace("example.com", "exämple.com").encode("latin-1"),
            f"is not UTF-8 text (byte 0xe4 at offset {VALID_TEXT.index('example.com') + 2}): "
            "save it as UTF-8",
        ),
        (b"\x89PNG\r\n\x1a\n\0\0", "is not UTF-8 text (byte 0x89 at offset 0): save it as UTF-8"),
    ],
    ids=["utf-16", "latin-1", "binary"],
)
def test_a_file_in_another_encoding_is_refused_with_the_byte(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, says: str
) -> None:
    path = written(tmp_path, content)
    assert generate(path, capsys) == (2, f"matrix-wizard: error: {path} {says}\n")


def test_a_file_over_the_cap_is_refused_without_reading_it_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = written(tmp_path, b"# " + b"x" * (50 * 1024 * 1024))
    assert generate(path, capsys) == (
        2,
        f"matrix-wizard: error: {path} is over 256 KiB, the limit for an answers file or draft: "
        "check that it is the right file (answers take a few KiB)\n",
    )


def test_a_file_of_exactly_the_cap_is_read(tmp_path: Path) -> None:
    padding = MAX_FILE_BYTES - len(VALID_TEXT.encode()) - 1
    path = written(tmp_path, VALID_TEXT + "#" * padding + "\n")
    assert path.stat().st_size == MAX_FILE_BYTES
    answers, _ = load_answers_file(path)
    assert answers.domain.server_name == "example.com"


def test_a_control_character_is_refused_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = written(tmp_path, "homeserver:\n  kind: syn\x00apse\n")
    assert generate(path, capsys) == (
        2,
        f"matrix-wizard: error: {path} line 2: holds the control character 0x00, which YAML "
        "text cannot hold: remove it, or check that this is the right file\n",
    )


# --- The YAML in it: nesting, long values, keys given twice, tags -------------------------------


@pytest.mark.parametrize(
    "text",
    ["homeserver: " + "[" * 500 + "]" * 500, "x: " + "{a: " * 500 + "1" + "}" * 500],
    ids=["lists", "mappings"],
)
def test_deep_nesting_is_refused_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    path = written(tmp_path, "version: 1\n" + text + "\n")
    assert generate(path, capsys) == (
        2,
        f"matrix-wizard: error: {path} line 2: nests deeper than 32 levels: answers nest at most "
        "three (deployment, ports, https); check the brackets and indentation\n",
    )


def test_nesting_up_to_the_limit_is_read() -> None:
    depth = MAX_DEPTH - 1  # the document's own mapping is the first level
    expected: list[object] = []
    for _ in range(depth - 1):
        expected = [expected]
    assert parse("x: " + "[" * depth + "]" * depth, "test") == {"x": expected}
    with pytest.raises(UsageError):
        parse("x: " + "[" * (depth + 1) + "]" * (depth + 1), "test")


def test_a_value_longer_than_any_answer_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    email = "a" * (50 * 1024) + "@example.com"
    path = written(tmp_path, with_line("acme_email: admin@example.com", f"acme_email: {email}"))
    line = VALID_TEXT.splitlines().index("  acme_email: admin@example.com") + 1
    assert generate(path, capsys) == (
        2,
        f"matrix-wizard: error: {path} line {line}: a value of {len(email)} characters, longer "
        f"than any answer (at most {MAX_SCALAR_CHARS}): check what was pasted there\n",
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            "homeserver:\n  kind: synapse\nhomeserver:\n  kind: conduit\n",
            "line 3: the key 'homeserver' is given twice (first on line 1)",
        ),
        (
            "deployment:\n  ports:\n    https: 443\n    http: 80\n    https: 8443\n",
            "line 5: the key 'https' is given twice (first on line 3)",
        ),
        (
            "calls: {turn: true, turn: false}\n",
            "line 1: the key 'turn' is given twice (first on line 1)",
        ),
    ],
    ids=["section", "nested", "flow"],
)
def test_a_key_given_twice_is_refused_with_both_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, says: str
) -> None:
    path = written(tmp_path, text)
    assert generate(path, capsys) == (
        2,
        f"matrix-wizard: error: {path} {says}: keep one of them (YAML would silently take the "
        "last)\n",
    )


def test_a_merge_key_may_still_override_what_it_merges() -> None:
    text = "base: &base {port: 1, name: a}\nuse:\n  <<: *base\n  port: 2\n"
    assert parse(text, "test")["use"] == {"port": 2, "name": "a"}


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (
            "2001-13-45",
            "'2001-13-45' is not a valid timestamp: put it in quotes if it is meant as text",
        ),
        ("!!int x", "'x' is not a valid int: put it in quotes if it is meant as text"),
        ("!!bool maybe", "'maybe' is not a valid bool: put it in quotes if it is meant as text"),
        ("!!binary AAAA", "holds binary data (!!binary): write the value as text"),
    ],
)
def test_a_value_its_tag_cannot_read_is_refused(value: str, says: str) -> None:
    with pytest.raises(UsageError) as refused:
        parse(f"a: 1\nb: {value}\n", "answers.yaml")
    assert str(refused.value) == f"answers.yaml line 2: {says}"


@pytest.mark.parametrize(
    "content",
    [
        VALID_TEXT.encode("utf-16"),
        b"# " + b"x" * MAX_FILE_BYTES,
        ("x: " + "[" * 100 + "]" * 100).encode(),
        b"homeserver: {}\nhomeserver: {}\n",
    ],
    ids=["utf-16", "too large", "deep", "key twice"],
)
def test_a_resumed_draft_is_refused_in_the_words_of_generate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    path = written(tmp_path, content)
    _, said = generate(path, capsys)
    with pytest.raises(UsageError) as refused:
        load_draft(path)
    assert said == f"matrix-wizard: error: {refused.value}\n"
