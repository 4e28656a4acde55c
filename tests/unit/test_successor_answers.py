"""Continuwuity and tuwunel in the answers: RocksDB only, sign-up by token or closed, local media.

What each refuses follows homeserver-facts.md section 3: no PostgreSQL or SQLite, no start (or
no sign-up) with registration open to anyone and no token, and media kept inside the data
folder, where no setting moves it.
"""

import stat
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from wizard.answers.model import AnswersError, DatabaseKind, parse_answers, warnings

SUCCESSORS = ["continuwuity", "tuwunel"]


def answers_data(homeserver: str, **sections: Any) -> dict[str, Any]:
    return {
        "homeserver": {"kind": homeserver},
        "domain": {"server_name": "example.com"},
        **sections,
    }


def problems_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(AnswersError) as caught:
        parse_answers(data)
    return [str(problem) for problem in caught.value.problems]


@pytest.mark.parametrize("name", SUCCESSORS)
def test_a_successor_defaults_to_rocksdb_and_takes_a_token(name: str) -> None:
    answers, _ = parse_answers(answers_data(name, registration={"mode": "token"}))
    assert answers.database.kind is DatabaseKind.ROCKSDB
    assert answers.database.name == name
    assert not any("Conduit is beta" in warning for warning in warnings(answers))


@pytest.mark.parametrize("name", SUCCESSORS)
@pytest.mark.parametrize(
    ("sections", "expected"),
    [
        (
            {"database": {"kind": "postgresql"}},
            "database.kind: {Name} has no PostgreSQL support: it keeps its data in its built-in "
            "store; use rocksdb",
        ),
        (
            {"database": {"kind": "sqlite"}},
            "database.kind: {Name} keeps its data in RocksDB only, its built-in store; use rocksdb",
        ),
        (
            {"registration": {"mode": "open"}},
            "registration.mode: {Name} refuses to start with registration open to anyone; use "
            "token (people sign up with a token you give them) or closed",
        ),
        (
            {"media": {"backend": "s3", "s3": {"bucket": "media", "access_key_id": "AKIA0001"}}},
            "media.backend: the bundle keeps {Name}'s media in its data folder; set "
            "media.backend: local, or choose Synapse or Conduit for S3 media",
        ),
        (
            {"media": {"path": "/srv/media"}},
            "media.path: {Name} keeps media inside its data folder and has no setting to move "
            "it; leave media.path out",
        ),
    ],
    ids=["postgresql", "sqlite", "open", "s3", "media-path"],
)
def test_what_a_successor_cannot_do_is_refused_with_the_fix(
    name: str, sections: dict[str, Any], expected: str
) -> None:
    assert problems_of(answers_data(name, **sections)) == [expected.format(Name=name.capitalize())]


def test_conduit_still_takes_sqlite_open_registration_and_s3() -> None:
    answers, _ = parse_answers(
        answers_data(
            "conduit",
            database={"kind": "sqlite"},
            registration={"mode": "open"},
            media={"backend": "s3", "s3": {"bucket": "media", "access_key_id": "AKIA0001"}},
        )
    )
    assert any("slower-moving (0.10.x)" in warning for warning in warnings(answers))


@pytest.mark.parametrize("name", SUCCESSORS)
def test_the_answers_command_writes_a_successor_on_rocksdb(name: str) -> None:
    result = run_cli("answers", "--homeserver", name, "--server-name", "example.com")
    assert result.returncode == 0, result.stderr
    assert f"kind: {name}" in result.stdout
    assert "kind: rocksdb" in result.stdout


@pytest.mark.parametrize("name", SUCCESSORS)
def test_the_answers_command_refuses_postgresql_naming_the_fix(name: str) -> None:
    result = run_cli(
        "answers", "--homeserver", name, "--server-name", "example.com", "--database", "postgresql"
    )
    assert result.returncode == 2
    assert f"{name.capitalize()} has no PostgreSQL support" in result.stderr
    assert "use rocksdb" in result.stderr


@pytest.mark.parametrize("name", SUCCESSORS)
def test_generate_writes_a_successors_bundle_from_its_answers(name: str, tmp_path: Path) -> None:
    made = run_cli(
        "answers",
        "--homeserver",
        name,
        "--server-name",
        "example.com",
        "--set",
        "registration.mode=token",
    )
    assert made.returncode == 0, made.stderr
    answers = tmp_path / "answers.yaml"
    answers.write_text(made.stdout)
    out = tmp_path / "bundle"
    result = run_cli("generate", "--answers", str(answers), "--out", str(out))
    assert result.returncode == 0, result.stderr
    config = out / name / f"{name}.toml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600  # it holds the registration token
    assert "image: ghcr.io/" in (out / "docker-compose.yml").read_text()
    assert not (out / "conduit").exists()
