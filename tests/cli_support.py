"""Run the command line in this process, as a person would on a file they wrote."""

from pathlib import Path

import pytest

from tests.bundle_support import answers_for
from wizard.answers.model import dump_answers
from wizard.cli import main

VALID_TEXT = dump_answers(answers_for())
"""A complete answers file, every default written out, as `matrix-wizard answers` prints it."""


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run the command line in this process and return its exit status and stderr."""
    try:
        status = main(argv)
    except SystemExit as exit:
        status = int(exit.code or 0)
    return status, capsys.readouterr().err


def generate(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run `generate --dry-run` on an answers file, into a folder beside it."""
    out = path.parent / "bundle"
    return run(["generate", "--answers", str(path), "--out", str(out), "--dry-run"], capsys)


def written(tmp_path: Path, content: bytes | str) -> Path:
    """Write an answers.yaml of the given text (as UTF-8) or bytes and return its path."""
    path = tmp_path / "answers.yaml"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def with_line(old: str, new: str) -> str:
    """Return the valid answers with one piece of text replaced."""
    assert old in VALID_TEXT
    return VALID_TEXT.replace(old, new)
