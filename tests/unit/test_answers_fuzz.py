"""Hostile answers files through the real `generate --dry-run`: exit 0 or 2, one line, no traceback.

Each example is a kind of input that once gave a Python traceback or was taken silently: another
encoding or binary, deep nesting, huge values, a key given twice, a value of the wrong type, and
random changes to the bytes of a valid file. Most run `wizard.cli.main` in this process for speed;
a few run `python -m wizard` as a person would, for the real exit status and stderr.
"""

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.bundle_support import answers_for
from tests.conftest import run_cli
from wizard.answers.model import dump_answers
from wizard.cli import main
from wizard.yaml_input import MAX_DEPTH, MAX_FILE_BYTES, MAX_SCALAR_CHARS

VALID_TEXT = dump_answers(answers_for(calls__turn=True, monitoring__prometheus=True))
VALID = yaml.safe_load(VALID_TEXT)


def leaf_paths(data: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = []
    for key, value in data.items():
        if isinstance(value, dict):
            paths += leaf_paths(value, (*prefix, key))
        else:
            paths.append((*prefix, key))
    return paths


LEAVES = leaf_paths(VALID)
SECTIONS = [key for key, value in VALID.items() if isinstance(value, dict)]

# Values YAML writes without quotes that a careless reader takes for another type.
YAML_LOOKALIKES = [
    "true", "no", "on", "~", "null", "1e3", "0x1F", "0o17", "8448.0", ".inf", "-.nan",
    "2001-13-45", "2001-12-14", "!!bool maybe", "!!int x", "!!timestamp x", "!!binary AAAA",
    "[]", "{}", "[1, 2]", "{a: 1}", "&a 1", "*a", "''", "-1", "0", "65536", "9" * 4200,
    "!!python/object:os.system x", "<<: {a: 1}", "|\n  text",
]  # fmt: skip


def with_value(path: tuple[str, ...], value: object) -> str:
    data = yaml.safe_load(VALID_TEXT)
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def with_raw(path: tuple[str, ...], raw: str) -> str:
    """Return the valid text with one leaf's value replaced by raw YAML source."""
    lines = VALID_TEXT.splitlines()
    depth = 0
    for index, line in enumerate(lines):
        if line.strip().startswith("#"):
            continue
        indent = "  " * depth
        if line.startswith(f"{indent}{path[depth]}:"):
            if depth == len(path) - 1:
                lines[index] = f"{indent}{path[depth]}: {raw}"
                break
            depth += 1
    return "\n".join(lines) + "\n"


def nested(depth: int, flow: bool) -> str:
    if flow:
        return "homeserver: " + "[" * depth + "]" * depth + "\n"
    return "".join(f"{'  ' * level}k{level}:\n" for level in range(depth)) + "  " * depth + "1\n"


encoded = st.builds(
    lambda text, encoding: text.encode(encoding, errors="replace"),
    st.sampled_from([VALID_TEXT.replace("example.com", "exämple.com"), VALID_TEXT + "# café ☕\n"]),
    st.sampled_from(["latin-1", "utf-16", "utf-16-be", "utf-32", "cp1252", "cp500"]),
)
binary = st.binary(min_size=1, max_size=4096)
deep = st.builds(nested, st.integers(MAX_DEPTH - 2, 600), st.booleans()).map(str.encode)
huge = st.builds(
    lambda path, size: with_raw(path, "a" * size).encode(),
    st.sampled_from(LEAVES),
    st.sampled_from([255, MAX_SCALAR_CHARS, MAX_SCALAR_CHARS + 1, 100_000, MAX_FILE_BYTES + 1]),
)
duplicated_section = st.builds(
    lambda section: (VALID_TEXT + yaml.safe_dump({section: VALID[section]})).encode(),
    st.sampled_from(SECTIONS),
)
duplicated_key = st.builds(
    lambda path: with_raw(path, f"1\n{'  ' * (len(path) - 1)}{path[-1]}: 2").encode(),
    st.sampled_from(LEAVES),
)
any_value = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from([0, 1, -1, 65535, 65536, 2**63, True, False, "8448", " 443 ", "4G"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)
wrong_type = st.builds(with_value, st.sampled_from(LEAVES), any_value).map(str.encode)
lookalike = st.builds(
    with_raw, st.sampled_from(LEAVES), st.sampled_from(YAML_LOOKALIKES) | st.text(max_size=20)
).map(lambda text: text.encode("utf-8", errors="surrogatepass"))


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(VALID_TEXT.encode())
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["flip", "insert", "delete", "repeat"]))
        byte = draw(st.integers(0, 255))
        if action == "flip" and position < len(data):
            data[position] = byte
        elif action == "insert":
            data[position:position] = bytes([byte])
        elif action == "delete":
            del data[position : position + draw(st.integers(1, 40))]
        else:
            data[position:position] = data[position : position + draw(st.integers(1, 200))]
    return bytes(data)


hostile_files = st.one_of(
    encoded, binary, deep, huge, duplicated_section, duplicated_key, wrong_type, lookalike,
    mutated(),
)  # fmt: skip


def assert_one_error(status: int, stderr: str) -> None:
    """Success, or exit 2 with one error line (an answers file with N problems adds N lines)."""
    assert "Traceback (most recent call last)" not in stderr
    assert status in (0, 2), stderr
    said = [line for line in stderr.splitlines() if not line.startswith(("note:", "warning:"))]
    if status == 0:
        assert said == [], stderr
        return
    assert said[0].startswith("matrix-wizard: error: "), stderr
    if " problems: fix each and try again" in said[0]:
        count = int(said[0].split("the answers have ")[1].split()[0])
        assert len(said) == 1 + count and all(line.startswith("  ") for line in said[1:])
    else:
        assert len(said) == 1, stderr


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(content=hostile_files)
def test_hostile_answers_give_one_clear_line(
    content: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_bytes(content)
    status = main(
        ["generate", "--answers", str(answers), "--out", str(tmp_path / "b"), "--dry-run"]
    )
    assert_one_error(status, capsys.readouterr().err)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    key=st.sampled_from([".".join(path) for path in LEAVES] + ["deployment.ports", "version", "x"]),
    value=st.sampled_from(YAML_LOOKALIKES) | st.text(max_size=40),
)
def test_hostile_settings_give_one_clear_line(
    key: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["answers", "--homeserver", "synapse", "--server-name", "example.com"]
    try:
        status = main([*argv, "--set", f"{key}={value}"])
    except SystemExit as exit:  # argparse refuses some text, such as a NUL, before any command
        status = int(exit.code or 0)
    assert_one_error(status, capsys.readouterr().err)


REAL_RUNS = {
    "utf-16": VALID_TEXT.encode("utf-16"),
    "binary": bytes(range(256)) * 4,
    "deep": nested(500, flow=True).encode(),
    "huge": with_raw(("proxy", "acme_email"), "a" * (MAX_FILE_BYTES + 1)).encode(),
    "duplicate": (VALID_TEXT + "homeserver:\n  kind: conduit\n").encode(),
    "boolean port": with_raw(("deployment", "ports", "https"), "true").encode(),
}


@pytest.mark.parametrize("content", REAL_RUNS.values(), ids=REAL_RUNS.keys())
def test_a_real_run_on_hostile_answers_exits_2_with_one_line(
    tmp_path: Path, content: bytes
) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_bytes(content)
    result = run_cli(
        "generate", "--answers", str(answers), "--out", str(tmp_path / "b"), "--dry-run"
    )
    assert result.returncode == 2
    assert_one_error(result.returncode, result.stderr)
    assert not (tmp_path / "b").exists()
