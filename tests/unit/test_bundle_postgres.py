"""PostgreSQL's files: the init script's quoting and guards, and the tuned settings."""

from typing import Any

import pytest

from tests.bundle_support import FIXED_SECRETS, answers_for, context_for, facts_with
from wizard.bundle import postgres
from wizard.bundle.context import RenderContext
from wizard.bundle.model import PRIVATE, PUBLIC
from wizard.bundle.tuning import tuning
from wizard.errors import WizardError


def _conf_values(text: str) -> dict[str, str]:
    """Return postgresql.conf's settings, unquoted."""
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition(" = ")
            assert value.startswith("'") and value.endswith("'"), line
            values[key] = value[1:-1].replace("''", "'")
    return values


@pytest.mark.parametrize(
    ("homeserver", "database"),
    [("synapse", "sqlite"), ("dendrite", "sqlite"), ("conduit", "rocksdb")],
)
def test_nothing_without_postgres(homeserver: str, database: str) -> None:
    assert postgres.render(context_for(answers_for(homeserver, database=database))) == {}


@pytest.mark.parametrize("homeserver", ["synapse", "dendrite"])
def test_bundled_postgres_gets_its_files_and_compose_the_role_upgrade(homeserver: str) -> None:
    files = postgres.render(context_for(answers_for(homeserver, database="postgresql")))
    native = postgres.render(
        context_for(answers_for(homeserver, database="postgresql", deployment__kind="native"))
    )

    assert {path: file.mode for path, file in files.items()} == {
        "postgres/init.sql": PRIVATE,
        "postgres/postgresql.conf": PUBLIC,
        "postgres/upgrade-roles.sql": PUBLIC,
    }
    assert list(native) == ["postgres/init.sql", "postgres/postgresql.conf"]


def test_an_external_server_gets_only_the_init_script() -> None:
    ctx = context_for(answers_for(database="postgresql", database__host="db.example.net"))

    assert list(postgres.render(ctx)) == ["postgres/init.sql"]


def test_init_script_creates_role_and_database_with_c_collation() -> None:
    ctx = context_for(answers_for(database__name="chat", database__user="chat_owner"))
    text = postgres.init_sql(ctx)

    assert text.splitlines()[2] == "\\set ON_ERROR_STOP on"
    assert "WHERE rolname = 'chat_owner')\\gexec" in text
    password = FIXED_SECRETS.database_password
    assert (
        'ALTER ROLE "chat_owner" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION '
        f"NOBYPASSRLS PASSWORD '{password}';"
    ) in text
    assert (
        "CREATE DATABASE \"chat\" WITH OWNER \"chat_owner\" ENCODING ''UTF8'' "
        "LC_COLLATE ''C'' LC_CTYPE ''C'' TEMPLATE template0"
    ) in text
    assert "WHERE datname = 'chat')\\gexec" in text
    assert 'ALTER DATABASE "chat" OWNER TO "chat_owner";' in text


def test_the_guard_runs_before_anything_is_created() -> None:
    text = postgres.init_sql(context_for())

    assert text.index("RAISE EXCEPTION") < text.index("CREATE ROLE")


def test_dendrite_needs_utf8_but_not_c_collation() -> None:
    synapse_guard = postgres.init_sql(context_for(answers_for("synapse")))
    dendrite_guard = postgres.init_sql(context_for(answers_for("dendrite", database="postgresql")))

    assert "datcollate <> 'C'" in synapse_guard
    assert "datcollate" not in dendrite_guard
    assert "pg_encoding_to_char(encoding) <> 'UTF8'" in dendrite_guard


def test_a_password_with_a_quote_is_one_literal() -> None:
    secrets = FIXED_SECRETS.model_copy(update={"database_password": "it's"})
    ctx = RenderContext(answers=answers_for(), facts=facts_with(), secrets=secrets)

    assert "PASSWORD 'it''s';" in postgres.init_sql(ctx)


@pytest.mark.parametrize(
    ("text", "literal"),
    [("plain", "'plain'"), ("it's", "'it''s'"), ("a\\b", "'a\\b'"), ("''", "''''''")],
)
def test_sql_literal(text: str, literal: str) -> None:
    assert postgres.sql_literal(text) == literal


def test_sql_identifier_quotes_reserved_words() -> None:
    assert postgres.sql_identifier("user") == '"user"'
    assert postgres.sql_identifier('a"b') == '"a""b"'


def test_nul_characters_are_refused() -> None:
    with pytest.raises(WizardError, match="NUL"):
        postgres.sql_literal("a\0b")
    with pytest.raises(WizardError, match="NUL"):
        postgres.sql_identifier("a\0b")


@pytest.mark.parametrize(("kind", "listen"), [("compose", "*"), ("native", "127.0.0.1")])
def test_listen_address_and_port(kind: str, listen: str) -> None:
    ctx = context_for(answers_for(deployment__kind=kind, deployment__ports__postgres=5544))
    values = _conf_values(postgres.postgresql_conf(ctx))

    assert values["listen_addresses"] == listen
    assert values["port"] == "5544"


def test_conf_carries_the_tuning() -> None:
    ctx = context_for(answers_for(), facts_with(ram_gib=32, cores=8))
    tuned = tuning(ctx)
    values = _conf_values(postgres.postgresql_conf(ctx))

    assert values["shared_buffers"] == f"{tuned.shared_buffers_mb}MB"
    assert values["effective_cache_size"] == f"{tuned.effective_cache_size_mb}MB"
    assert values["work_mem"] == f"{tuned.work_mem_mb}MB"
    assert values["maintenance_work_mem"] == f"{tuned.maintenance_work_mem_mb}MB"
    assert values["max_connections"] == str(tuned.max_connections)


def test_more_ram_means_more_shared_buffers() -> None:
    small = _conf_values(postgres.postgresql_conf(context_for(facts=facts_with(ram_gib=2))))
    large = _conf_values(postgres.postgresql_conf(context_for(facts=facts_with(ram_gib=32))))

    assert int(small["shared_buffers"].removesuffix("MB")) < int(
        large["shared_buffers"].removesuffix("MB")
    )


def test_compose_command_matches_the_conf() -> None:
    ctx = context_for()
    command = postgres.compose_command(ctx)
    pairs: list[Any] = list(zip(command[1::2], command[2::2], strict=True))

    assert command[0] == "postgres"
    assert all(flag == "-c" for flag, _ in pairs)
    assert dict(setting.split("=", 1) for _, setting in pairs) == _conf_values(
        postgres.postgresql_conf(ctx)
    )


def test_collation_check_query_names_the_database() -> None:
    ctx = context_for(answers_for(database__name="chat"))

    assert postgres.collation_check_query(ctx) == (
        "SELECT datcollate, datctype FROM pg_database WHERE datname = 'chat';"
    )


def test_the_role_upgrade_is_one_transaction_without_a_secret() -> None:
    text = postgres.upgrade_roles_sql(context_for(answers_for("synapse", database="postgresql")))
    lines = text.splitlines()

    changes = [line for line in lines if line.startswith(("CREATE", "ALTER", "DROP", "SET"))]
    assert lines.index("BEGIN;") < lines.index(changes[0])
    assert lines[-1] == "COMMIT;"
    assert "\\getenv superuser_password POSTGRES_PASSWORD" in lines
    for value in FIXED_SECRETS.values():
        assert value not in text


def test_the_first_superuser_is_renamed_by_a_role_that_lives_only_in_the_transaction() -> None:
    ctx = context_for(answers_for("synapse", database="postgresql", database__user="chat"))
    lines = postgres.upgrade_roles_sql(ctx).splitlines()

    order = [
        'CREATE ROLE "matrix_wizard_swap" WITH SUPERUSER NOLOGIN;',
        'SET SESSION AUTHORIZATION "matrix_wizard_swap";',
        'ALTER ROLE "chat" RENAME TO "postgres";',
        "ALTER ROLE \"postgres\" WITH PASSWORD :'superuser_password';",
        "RESET SESSION AUTHORIZATION;",
        'DROP ROLE "matrix_wizard_swap";',
    ]
    assert [lines.index(line) for line in order] == sorted(lines.index(line) for line in order)
    assert not any("NOSUPERUSER" in line and '"postgres"' in line for line in lines)


def test_the_role_upgrade_makes_the_role_as_init_sql_does() -> None:
    ctx = context_for(
        answers_for(
            "dendrite", database="postgresql", database__name="chat_db", database__user="chat"
        )
    )
    plain = (
        'ALTER ROLE "chat" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS'
    )
    owner = 'ALTER DATABASE "chat_db" OWNER TO "chat";'
    upgrade, init = postgres.upgrade_roles_sql(ctx), postgres.init_sql(ctx)

    assert upgrade.count(f"{plain};") == 2
    assert upgrade.count(owner) == 2
    assert f"{plain} PASSWORD" in init
    assert owner in init
