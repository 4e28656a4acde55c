from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.bundle_support import answers_for
from wizard.answers.model import (
    Answers,
    AnswersError,
    DatabaseKind,
    dump_answers,
    parse_answers,
    warnings,
)


def base(**sections: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "homeserver": {"kind": "synapse"},
        "domain": {"server_name": "example.com"},
    }
    data.update(sections)
    return data


def problems_of(data: object) -> list[str]:
    with pytest.raises(AnswersError) as caught:
        parse_answers(data)
    return [str(problem) for problem in caught.value.problems]


def test_defaults_follow_from_the_homeserver_and_server_name() -> None:
    answers, notes = parse_answers(base())
    assert notes == []
    assert answers.domain.homeserver_host == "matrix.example.com"
    assert answers.database.kind is DatabaseKind.POSTGRESQL
    assert answers.database.name == "synapse"
    assert answers.proxy.acme_email == "admin@example.com"
    assert answers.registration.mode.value == "closed"
    assert answers.encryption.by_default.value == "all"


def test_conduit_defaults_to_its_built_in_store() -> None:
    answers, _ = parse_answers(base(homeserver={"kind": "conduit"}))
    assert answers.database.kind is DatabaseKind.ROCKSDB


def test_turn_host_follows_from_server_name_when_turn_is_on() -> None:
    answers, _ = parse_answers(base(calls={"turn": True}))
    assert answers.calls.turn_host == "turn.example.com"


def test_notices_tell_what_was_changed() -> None:
    _, notes = parse_answers(base(domain={"server_name": "Bücher.Example"}))
    assert notes == [
        "domain.server_name: 'Bücher.Example' was written in lower case as 'bücher.example'",
        "domain.server_name: 'bücher.example' is written in its ASCII form 'xn--bcher-kva.example'",
    ]


def test_every_field_problem_is_reported_at_once_with_its_path() -> None:
    problems = problems_of(
        base(
            homeserver={"kind": "synapse", "tier": "huge"},
            domain={"server_name": "bad name"},
            media={"max_upload_mb": 0},
            colour="blue",
        )
    )
    paths = [problem.split(":")[0] for problem in problems]
    assert paths == ["homeserver.tier", "domain.server_name", "media.max_upload_mb", "colour"]
    assert "check its spelling" in problems[-1]


@pytest.mark.parametrize(
    ("sections", "expected"),
    [
        (
            {"database": {"kind": "postgresql", "name": "Matrix-DB"}},
            "database.name: must be a lower-case letter or _, then up to 62 lower-case letters, "
            "digits or _",
        ),
        (
            {"database": {"kind": "postgresql", "user": "9lives"}},
            "database.user: must be a lower-case letter or _, then up to 62 lower-case letters, "
            "digits or _",
        ),
        (
            {"media": {"backend": "s3", "s3": {"bucket": "media", "access_key_id": "AK"}}},
            "media.s3.access_key_id: must be 4 to 128 letters, digits or / + = _ -",
        ),
        (
            {
                "media": {
                    "backend": "s3",
                    "s3": {"bucket": "media", "access_key_id": "AKIAEXAMPLE", "region": "EU"},
                }
            },
            "media.s3.region: must be 2 to 32 lower-case letters, digits or hyphens",
        ),
    ],
)
def test_a_name_of_the_wrong_shape_is_refused_in_words(
    sections: dict[str, Any], expected: str
) -> None:
    assert problems_of(base(**sections)) == [expected]


def test_conduit_with_postgresql_is_refused_with_the_reason() -> None:
    problems = problems_of(base(homeserver={"kind": "conduit"}, database={"kind": "postgresql"}))
    assert problems == [
        "database.kind: Conduit has no PostgreSQL support: it keeps its data in its built-in "
        "store; use rocksdb (recommended) or sqlite"
    ]


def test_workers_need_postgresql() -> None:
    problems = problems_of(
        base(homeserver={"kind": "synapse", "workers": 2}, database={"kind": "sqlite"})
    )
    assert problems[0].startswith("homeserver.workers: ")


def test_sqlite_for_synapse_is_a_warning_and_refused_for_production_unless_accepted() -> None:
    trying = answers_for(database="sqlite")
    assert any("trying out" in warning for warning in warnings(trying))
    problems = problems_of(
        base(homeserver={"kind": "synapse", "tier": "production"}, database={"kind": "sqlite"})
    )
    assert problems[0].startswith("database.kind: SQLite is for trying Synapse out")
    accepted = answers_for(
        database="sqlite", homeserver__tier="production", database__accept_sqlite_in_production=True
    )
    assert accepted.database.kind is DatabaseKind.SQLITE


@pytest.mark.parametrize(
    ("sections", "path"),
    [
        ({"proxy": {"tls": "files"}}, "proxy.cert_path"),
        (
            {
                "proxy": {"federation_port": 443},
                "domain": {"server_name": "example.com", "delegation": "none"},
            },
            "proxy.federation_port",
        ),
        ({"monitoring": {"grafana": True}}, "monitoring.grafana"),
        ({"media": {"backend": "s3"}}, "media.s3"),
        (
            {"calls": {"turn": True, "relay_min_port": 60000, "relay_max_port": 50000}},
            "calls.relay_min_port",
        ),
        ({"deployment": {"ports": {"https": 8008}}}, "deployment.ports.homeserver"),
        ({"database": {"kind": "sqlite", "host": "db.example.com"}}, "database.host"),
        ({"calls": {"turn": True, "internal_ip": "10.0.0.1"}}, "calls"),
        (
            {"calls": {"turn": True, "external_ip": "2001:db8::1", "internal_ip": "10.0.0.1"}},
            "calls",
        ),
        ({"calls": {"turn": True, "external_ip": "127.0.0.1"}}, "calls.external_ip"),
        ({"calls": {"turn": True, "external_ip": "turn.example.com"}}, "calls.external_ip"),
        ({"calls": {"turn": True, "internal_ip": "0.0.0.0"}}, "calls.internal_ip"),
    ],
)
def test_choices_that_do_not_go_together(sections: dict[str, Any], path: str) -> None:
    problems = problems_of(base(**sections))
    assert any(problem.startswith(f"{path}: ") for problem in problems), problems


def test_answers_file_round_trips_with_every_default() -> None:
    answers = answers_for(homeserver="dendrite", proxy="caddy", calls__turn=True)
    text = dump_answers(answers)
    again, _ = parse_answers(yaml.safe_load(text))
    assert again == answers
    assert dump_answers(again) == text


def test_not_a_mapping() -> None:
    assert problems_of(["a", "list"]) == [
        "the answers must be sections such as homeserver: and domain:, not a list"
    ]


IP_REASON = (
    "this wizard serves a domain name, such as example.com, "
    "since an IP server name gets no delegation and no ACME certificate"
)


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        (
            {"server_name": "[::1]:8448"},
            "domain.server_name: '[::1]:8448' is a loopback address, which only this machine "
            f"can reach; {IP_REASON}",
        ),
        (
            # An edited file that filled in the hosts and e-mail by hand is refused the same.
            {"server_name": "192.168.1.1", "homeserver_host": "matrix.example.com"},
            "domain.server_name: '192.168.1.1' is a private IP address, which other servers "
            f"cannot reach to federate; {IP_REASON}",
        ),
        (
            {"server_name": "[::1"},
            "domain.server_name: '[::1' has a '[' with no closing ']'; "
            "use a domain name, such as example.com",
        ),
        (
            {"server_name": "https://example.org"},
            "domain.server_name: 'https://example.org' is a URL: drop the scheme and write "
            "'example.org'",
        ),
        (
            {"server_name": "@me:example.org"},
            "domain.server_name: '@me:example.org' is a user ID: the server name is the part "
            "after the colon, 'example.org'",
        ),
        (
            {"server_name": ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 62])},
            f"domain.server_name: {'a' * 40!r}... (254 characters) is too long: "
            "a DNS name has at most 253 characters",
        ),
    ],
)
def test_a_server_name_this_wizard_cannot_serve_is_one_problem_at_the_server_name(
    domain: dict[str, str], expected: str
) -> None:
    assert problems_of(base(domain=domain, proxy={"acme_email": "admin@example.com"})) == [expected]


def test_a_server_name_starting_with_matrix_is_its_own_homeserver_host() -> None:
    answers, _ = parse_answers(base(domain={"server_name": "matrix.example.org"}))
    assert answers.domain.homeserver_host == "matrix.example.org"


def test_a_server_name_too_long_for_the_prefix_is_its_own_homeserver_host() -> None:
    name = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 57])  # 249 characters
    answers, _ = parse_answers(
        base(domain={"server_name": name}, proxy={"tls": "external"}, calls={"turn": True})
    )
    assert answers.domain.homeserver_host == name
    assert answers.calls.turn_host is None  # the TURN server then runs on the server_name


def test_a_look_alike_name_is_warned_about_once() -> None:
    lookalike = "ex\u0430mple.org"  # a Cyrillic a
    _, notes = parse_answers(base(domain={"server_name": lookalike}))
    assert notes == [
        "domain.server_name: 'ex\u0430mple' mixes Latin letters with Cyrillic '\u0430' (U+0430), "
        "as look-alike names do: check that this is the name you mean",
        f"domain.server_name: {lookalike!r} is written in its ASCII form 'xn--exmple-4nf.org'",
    ]


def test_an_internationalised_top_level_domain_still_gets_a_default_acme_email() -> None:
    answers, _ = parse_answers(base(domain={"server_name": "пример.рф"}))
    assert answers.proxy.acme_email == "admin@xn--e1afmkfd.xn--p1ai"


def test_a_sharp_s_names_its_own_domain() -> None:
    answers, _ = parse_answers(base(domain={"server_name": "ß.example"}))
    assert answers.domain.server_name == "xn--zca.example"
    assert answers.domain.homeserver_host == "matrix.xn--zca.example"
    assert answers.proxy.acme_email == "admin@xn--zca.example"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=10,
)
section_names = st.sampled_from(
    ["homeserver", "domain", "database", "proxy", "media", "calls", "registration", "deployment"]
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(section_names, json_values, max_size=6))
def test_any_input_gives_answers_or_a_clear_error(data: dict[str, Any]) -> None:
    try:
        answers, _ = parse_answers(data)
    except AnswersError as error:
        assert error.problems
        assert all(problem.message for problem in error.problems)
    else:
        assert isinstance(answers, Answers)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_server_name_is_accepted_normalised_or_refused_clearly(name: str) -> None:
    try:
        answers, _ = parse_answers(base(domain={"server_name": name}, proxy={"tls": "external"}))
    except AnswersError as error:
        assert error.problems[0].path.startswith("domain")
    else:
        assert answers.domain.server_name == answers.domain.server_name.lower()
        assert answers.domain.server_name.isascii()


@pytest.mark.parametrize("homeserver", ["dendrite", "conduit", "continuwuity", "tuwunel"])
def test_encryption_by_default_is_said_to_be_left_to_clients_where_no_setting_exists(
    homeserver: str,
) -> None:
    said = [each for each in warnings(answers_for(homeserver)) if "encrypt new rooms" in each]
    assert said == [
        f"{homeserver} has no setting to encrypt new rooms by default, so encryption.by_default "
        "is left to the clients (Element encrypts new private rooms itself)"
    ]
    turned_off = answers_for(homeserver, encryption__by_default="off")
    assert not any("encrypt new rooms" in each for each in warnings(turned_off))


def test_synapse_applies_encryption_by_default_itself() -> None:
    assert not any("encrypt new rooms" in each for each in warnings(answers_for("synapse")))


@pytest.mark.parametrize(
    ("backup_path", "data_dir", "warned"),
    [
        ("/var/backups/matrix-wizard", "/var/lib/matrix-wizard", True),
        ("/srv/backups", "/var/lib/matrix-wizard", True),
        ("/mnt/backup-disk/matrix", "/var/lib/matrix-wizard", False),
        ("/media/usb/matrix", "/var/lib/matrix-wizard", False),
        ("/mnt/big/backups", "/mnt/big/matrix", True),
    ],
)
def test_backups_on_the_disk_of_the_data_are_a_warning(
    backup_path: str, data_dir: str, warned: bool
) -> None:
    answers = answers_for(backups__path=backup_path, deployment__data_dir=data_dir)
    said = [text for text in warnings(answers) if text.startswith("backups go to")]
    assert bool(said) is warned
    if warned:
        assert f"backups go to {backup_path}, on the disk of the data ({data_dir})" in said[0]
    off = answers_for(backups__enabled=False, backups__path=backup_path)
    assert not [text for text in warnings(off) if text.startswith("backups go to")]
