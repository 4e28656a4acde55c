"""The answers refuse a value of the wrong type or length in one line: a yes/no is not a port."""

from pathlib import Path

import pytest

from tests.cli_support import generate, with_line, written
from wizard.answers.model import answers_schema, parse_answers
from wizard.answers.validators import check_absolute_path, check_email
from wizard.errors import UsageError

WHOLE_NUMBER = "must be a whole number"


@pytest.mark.parametrize(
    ("line", "value", "says"),
    [
        ("    https: 443", "true", f"deployment.ports.https: {WHOLE_NUMBER}, not true"),
        ("    https: 443", "443.0", f"deployment.ports.https: {WHOLE_NUMBER}, not 443.0"),
        ("    https: 443", "[443]", f"deployment.ports.https: {WHOLE_NUMBER}, not a list"),
        ("    https: 443", "4.4.3", f"deployment.ports.https: {WHOLE_NUMBER}, not '4.4.3'"),
        ("    https: 443", "", f"deployment.ports.https: {WHOLE_NUMBER}, not null"),
        ("    https: 443", "70000", "deployment.ports.https: must be at most 65535, not 70000"),
        ("  federation_port: 8448", "true", f"proxy.federation_port: {WHOLE_NUMBER}, not true"),
        ("  federation_port: 8448", "8449", "proxy.federation_port: must be 443 or 8448, not 8449"),
        ("version: 1", "true", f"version: {WHOLE_NUMBER}, not true"),
        ("  turn: false", "1", "calls.turn: must be true or false, not 1"),
        ("  turn: false", "'yes'", "calls.turn: must be true or false, not 'yes'"),
        ("  acme_email: admin@example.com", "5", "proxy.acme_email: must be text, not 5"),
        (
            "  kind: synapse",
            "5",
            "homeserver.kind: must be 'synapse', 'dendrite', 'conduit', 'continuwuity' or "
            "'tuwunel', not 5",
        ),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, value: str, says: str
) -> None:
    key = line.partition(":")[0]
    path = written(tmp_path, with_line(f"\n{line}\n", f"\n{key}: {value}\n"))
    assert generate(path, capsys) == (2, f"matrix-wizard: error: {says}\n")


def test_a_section_that_is_a_value_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "homeserver:\n  kind: synapse\ndomain:\n  server_name: example.com\ndeployment: 443\n"
    assert generate(written(tmp_path, text), capsys) == (
        2,
        "matrix-wizard: error: deployment: must be a section of settings (key: value lines), "
        "not 443\n",
    )


def test_digits_as_a_form_enters_them_are_a_number() -> None:
    answers, _ = parse_answers(
        {
            "homeserver": {"kind": "synapse"},
            "domain": {"server_name": "example.com"},
            "database": {"kind": "postgresql", "port": " 5433 "},
            "deployment": {"ports": {"https": "8443"}},
            "machine": {"cores": "4"},
        }
    )
    assert answers.database.port == 5433
    assert answers.deployment.ports.https == 8443
    assert answers.machine.cores == 4


def test_a_wrong_homeserver_is_one_problem_not_also_a_missing_database() -> None:
    with pytest.raises(UsageError) as refused:
        parse_answers({"homeserver": {"kind": "matrix"}, "domain": {"server_name": "example.com"}})
    assert str(refused.value) == (
        "homeserver.kind: must be 'synapse', 'dendrite', 'conduit', 'continuwuity' or "
        "'tuwunel', not 'matrix'"
    )


def test_a_key_with_control_characters_is_shown_escaped() -> None:
    with pytest.raises(UsageError) as refused:
        parse_answers(
            {
                "homeserver": {"kind": "synapse", "\x1b[31mred": 1},
                "domain": {"server_name": "example.com"},
            }
        )
    assert str(refused.value) == (
        "homeserver.'\\x1b[31mred': is not a known setting; check its spelling "
        "(matrix-wizard schema lists all)"
    )


@pytest.mark.parametrize(
    ("email", "says"),
    [
        (
            "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 58 + ".org",
            "an e-mail address of 255 bytes is longer than the 254 RFC 5321 allows; "
            "give a shorter one, such as admin@example.com",
        ),
        (
            "a" * 65 + "@example.com",
            "the part before the @ has 65 bytes, more than the 64 RFC 5321 allows; shorten it",
        ),
        (
            "admin@" + "b" * 64 + ".com",
            "the domain after the @ has a part longer than the 63 characters DNS allows "
            "between dots; check the domain",
        ),
    ],
    ids=["whole", "local part", "domain label"],
)
def test_an_email_longer_than_rfc_5321_allows_is_refused(email: str, says: str) -> None:
    with pytest.raises(ValueError) as refused:
        check_email(email)
    assert str(refused.value) == says


def test_an_email_at_rfc_5321_limits_is_accepted() -> None:
    email = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".org"
    assert len(email) == 254
    assert check_email(email) == email


def test_a_path_longer_than_linux_allows_is_refused() -> None:
    assert check_absolute_path("/" + "a" * 4094) == "/" + "a" * 4094
    with pytest.raises(ValueError) as refused:
        check_absolute_path("/" + "a" * 4095)
    assert str(refused.value) == (
        "a path of 4096 characters is longer than the 4095 Linux allows; "
        "give a shorter one, such as /var/lib/matrix"
    )


def test_the_schema_words_every_bound_as_json_schema_does() -> None:
    def keys(node: object) -> set[str]:
        if isinstance(node, dict):
            return set(node) | {key for value in node.values() for key in keys(value)}
        if isinstance(node, list):
            return {key for value in node for key in keys(value)}
        return set()

    schema = answers_schema()
    assert not {"ge", "le"} & keys(schema)
    cores = schema["$defs"]["MachineSection"]["properties"]["cores"]["anyOf"][0]
    assert cores == {"type": "integer", "minimum": 1, "maximum": 1024}
