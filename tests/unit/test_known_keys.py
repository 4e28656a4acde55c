import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
import yaml

from tests.bundle_support import answers_for, context_for
from wizard.answers.model import Homeserver
from wizard.bundle import conduit, dendrite
from wizard.bundle.context import RenderContext
from wizard.errors import UsageError
from wizard.verify.conduit_rules import check_conduit_file, conduit_rules
from wizard.verify.known_keys import (
    check_dendrite_file,
    check_known_keys,
    dendrite_rules,
    known_keys,
)


def dendrite_context(database: str = "postgresql", **sets: Any) -> RenderContext:
    return context_for(answers_for("dendrite", database, **sets))


def dendrite_data(ctx: RenderContext) -> dict[str, Any]:
    data = yaml.safe_load(dendrite.render(ctx)[dendrite.CONFIG_FILE].text)
    assert isinstance(data, dict)
    return data


def write_dendrite(root: Path, data: dict[str, Any], ctx: RenderContext) -> Path:
    """Write a dendrite.yaml and the bundle's signing key beside it."""
    folder = root / "dendrite"
    folder.mkdir(parents=True, exist_ok=True)
    key = dendrite.render(ctx)[dendrite.KEY_FILE].text
    (folder / dendrite.KEY_FILE_NAME).write_text(key, encoding="utf-8")
    path = folder / "dendrite.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def key_dir(tmp_path: Path) -> Path:
    """Return a folder holding the bundle's signing key, as /config holds it for Dendrite."""
    key = dendrite.render(dendrite_context())[dendrite.KEY_FILE].text
    (tmp_path / dendrite.KEY_FILE_NAME).write_text(key, encoding="utf-8")
    return tmp_path


def rules(data: dict[str, Any], key_dir: Path, flags: list[str] | None = None) -> list[str]:
    return dendrite_rules(data, key_dir, config_dir="/config", flags=flags or [])


def conduit_data(homeserver: str = "conduit", **sets: Any) -> dict[str, Any]:
    ctx = context_for(answers_for(homeserver, **sets))
    return tomllib.loads(conduit.render(ctx)[conduit.config_file(ctx)].text)


@pytest.mark.parametrize(
    ("program", "snapshot"),
    [
        ("dendrite", "08cac1cc"),
        ("conduit", "d058dab7"),
        ("continuwuity", "02bee2e8"),
        ("tuwunel", "039793d1"),
    ],
)
def test_key_lists_name_their_upstream_source(program: str, snapshot: str) -> None:
    keys = known_keys(program)
    assert snapshot in keys.source
    assert "homeserver-facts.md" in keys.source
    assert keys.tree


def test_unknown_program_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        known_keys("synapse")


def test_misspelt_key_is_found_with_the_likely_key() -> None:
    data = dendrite_data(dendrite_context())
    data["client_api"]["registration_disabeld"] = data["client_api"].pop("registration_disabled")
    problems = check_known_keys("dendrite", data)
    assert len(problems) == 1
    assert problems[0].startswith("client_api.registration_disabeld is not a Dendrite setting")
    assert "did you mean client_api.registration_disabled?" in problems[0]


def test_key_in_the_wrong_section_points_to_the_right_one() -> None:
    data = dendrite_data(dendrite_context())
    data["global"]["max_file_size_bytes"] = 1024
    problems = check_known_keys("dendrite", data)
    assert problems == [
        "global.max_file_size_bytes is not a Dendrite setting (Dendrite ignores it); "
        "did you mean media_api.max_file_size_bytes?"
    ]


def test_key_with_no_likely_match_says_so() -> None:
    problems = check_known_keys("dendrite", {"version": 2, "frobnicate": True})
    assert problems == [
        "frobnicate is not a Dendrite setting (Dendrite ignores it); "
        "remove it or check the spelling"
    ]


def test_keys_inside_list_items_are_checked_with_their_index() -> None:
    problems = check_known_keys("dendrite", {"logging": [{"type": "std", "levle": "info"}]})
    assert problems == [
        "logging[0].levle is not a Dendrite setting (Dendrite ignores it); "
        "did you mean logging[0].level?"
    ]


def test_any_name_is_allowed_where_the_program_takes_a_map() -> None:
    good = {"/_matrix/client/v3/login": {"threshold": 5, "cooloff_ms": 5000}}
    bad = {"/_matrix/client/v3/login": {"thresold": 5}}
    assert (
        check_known_keys(
            "dendrite", {"client_api": {"rate_limiting": {"per_endpoint_overrides": good}}}
        )
        == []
    )
    problems = check_known_keys(
        "dendrite", {"client_api": {"rate_limiting": {"per_endpoint_overrides": bad}}}
    )
    assert len(problems) == 1
    assert "did you mean" in problems[0]
    assert problems[0].endswith("per_endpoint_overrides./_matrix/client/v3/login.threshold?")


def test_free_form_values_are_not_looked_into() -> None:
    data = {"logging": [{"type": "file", "level": "info", "params": {"path": "/logs", "x": 1}}]}
    assert check_known_keys("dendrite", data) == []


def test_conduit_misspelt_key_is_found() -> None:
    data = conduit_data()
    data["global"]["allow_federaton"] = data["global"].pop("allow_federation")
    problems = check_known_keys("conduit", data)
    assert problems == [
        "global.allow_federaton is not a Conduit setting (Conduit ignores it); "
        "did you mean global.allow_federation?"
    ]


def test_conduit_settings_outside_global_are_found() -> None:
    problems = check_known_keys("conduit", {"server_name": "example.com", "global": {}})
    assert len(problems) == 1
    assert problems[0].startswith("server_name is not a Conduit setting")
    assert "did you mean global.server_name?" in problems[0]


def test_missing_server_name_is_found(tmp_path: Path) -> None:
    ctx = dendrite_context()
    data = dendrite_data(ctx)
    del data["global"]["server_name"]
    problems = check_dendrite_file(
        write_dendrite(tmp_path, data, ctx), config_dir=ctx.hs_config_dir
    )
    assert problems == ["global.server_name is missing: Dendrite needs the server's name"]


def test_missing_signing_key_file_is_found(tmp_path: Path) -> None:
    ctx = dendrite_context()
    path = write_dendrite(tmp_path, dendrite_data(ctx), ctx)
    (path.parent / dendrite.KEY_FILE_NAME).unlink()
    problems = check_dendrite_file(path, config_dir=ctx.hs_config_dir)
    assert len(problems) == 1
    assert "global.private_key names /config/matrix_key.pem" in problems[0]
    assert "generate-keys" in problems[0]


def test_relative_signing_key_is_looked_up_beside_the_file(tmp_path: Path) -> None:
    ctx = dendrite_context()
    data = dendrite_data(ctx)
    data["global"]["private_key"] = dendrite.KEY_FILE_NAME
    assert check_dendrite_file(write_dendrite(tmp_path, data, ctx)) == []


@pytest.mark.parametrize(
    ("key_text", "expected"),
    [
        ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "no MATRIX PRIVATE KEY"),
        (
            "-----BEGIN MATRIX PRIVATE KEY-----\nKey-ID: a_TeSt\n\n"
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n-----END MATRIX PRIVATE KEY-----\n",
            "Key-ID header",
        ),
        (
            "-----BEGIN MATRIX PRIVATE KEY-----\nKey-ID: ed25519:a_TeSt\n\n"
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==\n-----END MATRIX PRIVATE KEY-----\n",
            "31 bytes",
        ),
    ],
)
def test_unreadable_signing_key_is_found(key_text: str, expected: str, tmp_path: Path) -> None:
    ctx = dendrite_context()
    path = write_dendrite(tmp_path, dendrite_data(ctx), ctx)
    (path.parent / dendrite.KEY_FILE_NAME).write_text(key_text, encoding="utf-8")
    problems = check_dendrite_file(path, config_dir=ctx.hs_config_dir)
    assert len(problems) == 1
    assert expected in problems[0]


def test_key_value_connection_string_is_found_without_echoing_the_password(
    tmp_path: Path,
) -> None:
    ctx = dendrite_context()
    data = dendrite_data(ctx)
    data["global"]["database"]["connection_string"] = (
        "host=postgres user=dendrite password=hunter2secret dbname=dendrite"
    )
    problems = check_dendrite_file(
        write_dendrite(tmp_path, data, ctx), config_dir=ctx.hs_config_dir
    )
    assert len(problems) == 1
    assert problems[0].startswith("global.database.connection_string is in the key=value form")
    assert "postgres://" in problems[0]
    assert "hunter2secret" not in problems[0]


def test_uri_without_a_database_name_is_found(key_dir: Path) -> None:
    data = dendrite_data(dendrite_context())
    data["global"]["database"]["connection_string"] = "postgres://dendrite:pw@postgres:5432"
    problems = rules(data, key_dir)
    assert any("needs a host and a database name" in problem for problem in problems)


def test_sqlite_missing_a_component_database_is_found(key_dir: Path) -> None:
    data = dendrite_data(dendrite_context("sqlite"))
    del data["relay_api"]
    problems = rules(data, key_dir)
    assert problems == [
        "relay_api.database.connection_string is missing: without global.database "
        "(PostgreSQL) every component needs its own database"
    ]


def test_sqlite_as_the_global_database_is_found(key_dir: Path) -> None:
    data = dendrite_data(dendrite_context())
    data["global"]["database"] = {"connection_string": "file:/data/dendrite.db"}
    problems = rules(data, key_dir)
    assert problems[0].startswith("global.database is for PostgreSQL only")
    assert len(problems) == 1


def test_sqlite_file_shared_by_two_components_is_found(key_dir: Path) -> None:
    data = dendrite_data(dendrite_context("sqlite"))
    data["key_server"]["database"] = copy.deepcopy(data["federation_api"]["database"])
    problems = rules(data, key_dir)
    assert problems == [
        "key_server.database.connection_string uses the same SQLite file as "
        "federation_api.database.connection_string: each component needs its own file"
    ]


def test_wrong_config_version_is_found(key_dir: Path) -> None:
    data = dendrite_data(dendrite_context())
    data["version"] = 1
    problems = rules(data, key_dir)
    assert problems[0].startswith("version is 1: Dendrite reads only config version 2")


def test_registration_without_the_flag_is_found(key_dir: Path) -> None:
    ctx = dendrite_context(registration__mode="open")
    data = dendrite_data(ctx)
    without_flag = rules(data, key_dir)
    assert len(without_flag) == 1
    assert dendrite.OPEN_REGISTRATION_FLAG in without_flag[0]
    assert rules(data, key_dir, flags=dendrite.start_flags(ctx)) == []
    data["client_api"]["enable_registration_captcha"] = True
    assert rules(data, key_dir) == []


def test_metrics_without_auth_are_found(key_dir: Path) -> None:
    data = dendrite_data(dendrite_context(monitoring__prometheus=True))
    del data["global"]["metrics"]["basic_auth"]
    problems = rules(data, key_dir)
    assert len(problems) == 1
    assert problems[0].startswith("global.metrics is enabled without basic_auth")


def test_bad_turn_lifetime_is_found(key_dir: Path) -> None:
    data = dendrite_data(dendrite_context(calls__turn=True))
    data["client_api"]["turn"]["turn_user_lifetime"] = "one hour"
    problems = rules(data, key_dir)
    assert problems == ["client_api.turn.turn_user_lifetime is not a duration such as 1h or 30m"]


def test_invalid_yaml_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "dendrite.yaml"
    path.write_text("version: 2\nglobal: [unclosed\n", encoding="utf-8")
    problems = check_dendrite_file(path)
    assert len(problems) == 1
    assert "is not valid YAML at line" in problems[0]


def test_missing_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    assert check_dendrite_file(tmp_path / "absent.yaml")[0].startswith("cannot read")
    assert check_conduit_file(tmp_path / "absent.toml")[0].startswith("cannot read")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda s: s.pop("server_name"), "global.server_name is missing"),
        (lambda s: s.update(database_backend="postgresql"), 'must be "rocksdb" or "sqlite"'),
        (lambda s: s.pop("database_path"), "global.database_path is missing"),
        (lambda s: s.pop("port"), "built-in 8000"),
        (lambda s: s.update(port=70000), "from 1 to 65535"),
        (lambda s: s.update(address="localhost"), "must be an IP address"),
        (lambda s: s.pop("allow_federation"), "built-in default is false"),
        (lambda s: s.update(max_request_size=2**32), "below 4 GiB"),
        (lambda s: s.update(turn_uris=["turn:turn.example.com"]), "without turn_secret"),
        (
            lambda s: s.update(media={"backend": "s3", "bucket": "b"}),
            "needs endpoint, region, key, secret",
        ),
        (lambda s: s.update(media={"backend": "disk"}), '"filesystem" or "s3"'),
    ],
)
def test_conduit_rules_find_each_problem(change: Any, expected: str, tmp_path: Path) -> None:
    data = conduit_data()
    assert conduit_rules(data) == []
    change(data["global"])
    path = tmp_path / "conduit.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    problems = check_conduit_file(path)
    assert len(problems) == 1, problems
    assert expected in problems[0]


def test_conduit_without_global_table_is_found() -> None:
    assert conduit_rules({"server_name": "example.com"}) == [
        "there is no [global] table: Conduit reads every setting from [global]"
    ]


def test_invalid_toml_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "conduit.toml"
    path.write_text("[global\nserver_name = 1\n", encoding="utf-8")
    problems = check_conduit_file(path)
    assert len(problems) == 1
    assert "is not valid TOML" in problems[0]


@pytest.mark.parametrize("program", ["continuwuity", "tuwunel"])
def test_a_successors_misspelt_key_is_found(program: str) -> None:
    data = conduit_data(program, registration__mode="token")
    assert check_known_keys(program, data) == []
    data["global"]["registraton_token"] = data["global"].pop("registration_token")
    name = program.capitalize()
    assert check_known_keys(program, data) == [
        f"global.registraton_token is not a {name} setting ({name} ignores it); "
        "did you mean global.registration_token?"
    ]


@pytest.mark.parametrize("program", ["continuwuity", "tuwunel"])
def test_conduits_own_keys_are_not_a_successors(program: str) -> None:
    data = conduit_data(program)
    data["global"]["database_backend"] = "rocksdb"
    problems = check_known_keys(program, data)
    assert len(problems) == 1
    assert problems[0].startswith(f"global.database_backend is not a {program.capitalize()}")


def test_each_successors_own_keys_are_known_to_it_alone() -> None:
    continuwuity = conduit_data("continuwuity")
    tuwunel = conduit_data("tuwunel")
    assert "request_ip_source" in continuwuity["global"]
    assert "ip_source" in tuwunel["global"]
    assert check_known_keys("tuwunel", continuwuity)[0].startswith("global.request_ip_source")
    assert check_known_keys("continuwuity", tuwunel)[0].startswith("global.ip_source")
    assert check_known_keys("conduit", tuwunel)[0].startswith("global.ip_source")


@pytest.mark.parametrize(
    ("program", "change", "expected"),
    [
        ("tuwunel", lambda s: s.pop("port"), "built-in 8008"),
        ("continuwuity", lambda s: s.update(port=[8008, 70000]), "from 1 to 65535"),
        ("tuwunel", lambda s: s.update(address=["127.0.0.1", "localhost"]), "an IP address"),
        ("continuwuity", lambda s: s.update(max_request_size=5_000_000), "below 10000000 bytes"),
        ("tuwunel", lambda s: s.update(max_request_size="lots"), None),
        ("continuwuity", lambda s: s.update(max_request_size="24 MiB"), "a number of bytes"),
        ("continuwuity", lambda s: s.update(registration_token=""), "is empty"),
        (
            "tuwunel",
            lambda s: s.update(allow_registration=True),
            "without registration_token: it refuses to start",
        ),
        (
            "continuwuity",
            lambda s: s.update(allow_registration=True),
            "without registration_token: it refuses every sign-up",
        ),
        ("tuwunel", lambda s: s.update(turn_uris=["turn:turn.example.com"]), "without turn_secret"),
    ],
)
def test_a_successors_rules_find_each_problem(
    program: str, change: Any, expected: str | None, tmp_path: Path
) -> None:
    homeserver = Homeserver(program)
    data = conduit_data(program)
    assert conduit_rules(data, homeserver) == []
    change(data["global"])
    path = tmp_path / f"{program}.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    problems = check_conduit_file(path, homeserver)
    if expected is None:  # tuwunel reads sizes written as text, such as "24 MiB"
        assert problems == []
    else:
        assert len(problems) == 1, problems
        assert expected in problems[0]


@pytest.mark.parametrize("program", ["continuwuity", "tuwunel"])
def test_a_successor_without_allow_federation_still_federates(program: str) -> None:
    data = conduit_data(program)
    data["global"].pop("allow_federation")
    assert conduit_rules(data, Homeserver(program)) == []  # its built-in default is true
    data["global"]["address"] = "127.0.0.1"  # one address is taken as well as a list
    assert conduit_rules(data, Homeserver(program)) == []


def test_conduit_takes_one_address_and_one_port() -> None:
    data = conduit_data()
    data["global"]["address"] = ["127.0.0.1"]
    assert conduit_rules(data) == ["global.address must be one address: Conduit takes no list"]
    data = conduit_data()
    data["global"]["port"] = [8008]
    assert conduit_rules(data) == ["global.port must be a whole number from 1 to 65535"]
