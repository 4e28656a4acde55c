"""apply.sh: valid sh for every stack, the steps each stack needs, and no secret inside."""

import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.bundle_support import FIXED_SECRETS, answers_for, context_for
from wizard.bundle import apply_script, compose, nginx, postgres, shell, synapse_workers, systemd
from wizard.bundle.model import EXECUTABLE

STACKS: list[dict[str, Any]] = [
    {"homeserver": "synapse", "database": "postgresql"},
    {"homeserver": "synapse", "database": "sqlite", "proxy": "caddy"},
    {"homeserver": "dendrite", "database": "postgresql", "proxy": "traefik"},
    {"homeserver": "conduit", "database": "rocksdb", "calls__turn": True},
    {"homeserver": "synapse", "database": "postgresql", "deployment__kind": "native"},
    {"homeserver": "conduit", "database": "sqlite", "deployment__kind": "native"},
    {"homeserver": "continuwuity", "registration__mode": "token", "calls__turn": True},
    {"homeserver": "continuwuity", "proxy": "caddy", "deployment__kind": "native"},
    {"homeserver": "tuwunel", "proxy": "traefik", "registration__mode": "token"},
    {"homeserver": "tuwunel", "calls__turn": True, "deployment__kind": "native"},
    {"homeserver": "synapse", "database": "postgresql", "auth__mas": True},
    {"homeserver": "synapse", "auth__mas": True, "deployment__kind": "native", "proxy": "traefik"},
    {
        "homeserver": "synapse",
        "database": "postgresql",
        "calls__turn": True,
        "monitoring__prometheus": True,
        "monitoring__grafana": True,
        "firewall__enabled": False,
    },
]


def setting(text: str, name: str) -> str:
    for line in text.splitlines():
        if line.startswith(f"{name}="):
            return line.partition("=")[2]
    raise AssertionError(f"{name} is not set")


@pytest.mark.parametrize("sets", STACKS)
def test_the_script_is_executable_valid_sh_without_secrets(
    sets: dict[str, Any], tmp_path: Path
) -> None:
    file = apply_script.render(context_for(answers_for(**sets)))[apply_script.APPLY_SCRIPT]
    assert file.mode == EXECUTABLE
    assert "set -eu" in file.text
    script = tmp_path / "apply.sh"
    script.write_text(file.text)
    subprocess.run(["sh", "-n", str(script)], check=True)
    for value in FIXED_SECRETS.values():
        assert value not in file.text


@pytest.mark.parametrize(
    ("sets", "certbot"),
    [
        ({"proxy": "nginx"}, "1"),
        ({"proxy": "nginx", "proxy__tls": "external"}, "0"),
        ({"proxy": "caddy"}, "0"),
        ({"proxy": "traefik"}, "0"),
    ],
)
def test_certbot_runs_only_for_nginx_with_acme(sets: dict[str, Any], certbot: str) -> None:
    text = apply_script.apply_script(context_for(answers_for(**sets)))
    assert setting(text, "USE_CERTBOT") == certbot


def test_certbot_may_cover_the_names_the_proxy_serves_and_turn_each_with_why() -> None:
    ctx = context_for(answers_for(calls__turn=True, calls__turn_host="turn.example.com"))
    assert nginx.certificate_names(ctx) == [
        ("example.com", "wellknown"),
        ("turn.example.com", "turn"),
    ]
    srv = context_for(answers_for(domain__delegation="srv"))
    assert nginx.certificate_names(srv) == [("example.com", "federation")]
    text = apply_script.apply_script(ctx)
    assert setting(text, "CERT_NAME") == "matrix.example.com"
    assert "CERT_OTHER_NAMES='example.com wellknown\nturn.example.com turn'\n" in text


def test_only_the_homeserver_name_when_it_is_the_server_name() -> None:
    ctx = context_for(
        answers_for(server_name="matrix.example.com", domain__homeserver_host="matrix.example.com")
    )
    assert nginx.certificate_names(ctx) == []


@pytest.mark.parametrize(
    ("sets", "check"),
    [
        ({"database": "postgresql"}, "1"),
        ({"database": "sqlite"}, "0"),
        ({"database": "postgresql", "database__host": "db.example.org"}, "0"),
        ({"database": "postgresql", "deployment__kind": "native"}, "1"),
    ],
)
def test_the_database_is_checked_when_the_bundle_runs_its_own(
    sets: dict[str, Any], check: str
) -> None:
    text = apply_script.apply_script(context_for(answers_for(**sets)))
    assert setting(text, "CHECK_DATABASE") == check


def test_synapse_needs_c_collation_and_dendrite_only_utf8() -> None:
    assert apply_script.expected_database_locale(context_for(answers_for("synapse"))) == "UTF8|C|C"
    assert apply_script.expected_database_locale(context_for(answers_for("dendrite"))) == "UTF8|*"


def test_secrets_are_listed_as_private_and_the_homeserver_config_as_required() -> None:
    ctx = context_for(
        answers_for(
            "synapse", calls__turn=True, monitoring__grafana=True, monitoring__prometheus=True
        )
    )
    private = apply_script.private_paths(ctx)
    for path in (
        "secrets.yaml",
        "synapse",
        "coturn/turnserver.conf",
        "postgres/postgres.env",
        "grafana/grafana.env",
    ):
        assert path in private
    assert "synapse/homeserver.yaml" in apply_script.required_files(ctx)
    assert "docker-compose.yml" in apply_script.required_files(ctx)


def quoted_setting(text: str, name: str) -> str:
    lexer = shlex.shlex(text[text.index(f"\n{name}=") + len(name) + 2 :], posix=True)
    lexer.whitespace_split = True
    return lexer.get_token() or ""


def test_under_compose_apply_knows_which_files_each_service_reads_and_where_to_record() -> None:
    ctx = context_for(answers_for(calls__turn=True, monitoring__prometheus=True))
    text = apply_script.apply_script(ctx)
    rows = [line.split() for line in quoted_setting(text, "SERVICE_FILES").splitlines()]
    assert {row[0]: row[1:] for row in rows} == compose.service_files(ctx)
    assert {"synapse", "nginx", "postgres", "coturn", "prometheus"} == {row[0] for row in rows}
    assert setting(text, "CHECKSUM_RECORD") == "/var/lib/matrix-wizard/compose-checksums.txt"


def test_without_containers_apply_knows_which_files_each_unit_reads_and_where_to_record() -> None:
    ctx = context_for(answers_for(deployment__kind="native", calls__turn=True))
    text = apply_script.apply_script(ctx)
    rows = [line.split() for line in quoted_setting(text, "SERVICE_FILES").splitlines()]
    assert {row[0]: row[1:] for row in rows} == systemd.service_files(ctx)
    assert [row[0] for row in rows] == systemd.start_order(ctx)
    assert setting(text, "CHECKSUM_RECORD") == "/var/lib/matrix-wizard/native-checksums.txt"
    assert text.count("\nservice_file_checksums() {") == 1


def test_synapse_files_are_handed_to_uid_991_under_compose() -> None:
    text = apply_script.apply_script(context_for(answers_for("synapse")))
    assert "synapse 991:991" in text
    assert "/var/lib/matrix-wizard/synapse 750 991:991" in text


@pytest.mark.parametrize(
    ("homeserver", "expected"),
    [
        (
            "synapse",
            "docker compose exec synapse register_new_matrix_user"
            " -c /config/homeserver.yaml --admin http://localhost:8008",
        ),
        (
            "dendrite",
            "docker compose exec dendrite /usr/bin/create-account -config /config/dendrite.yaml"
            " -username YOURNAME -admin -url http://localhost:8008",
        ),
        ("conduit", None),
        ("continuwuity", None),
        ("tuwunel", None),
    ],
)
def test_the_first_admin_command_fits_the_homeserver(homeserver: str, expected: str | None) -> None:
    assert apply_script.admin_command(context_for(answers_for(homeserver))) == expected


def test_compose_asks_the_roles_query_and_knows_what_logs_in_to_the_database() -> None:
    ctx = context_for(answers_for("synapse", database="postgresql", homeserver__workers=True))
    text = apply_script.apply_script(ctx)
    native = apply_script.apply_script(
        context_for(answers_for(database="postgresql", deployment__kind="native"))
    )

    assert f"ROLES_QUERY={shell.quote(postgres.roles_query(ctx))}\n" in text
    clients = setting(text, "DATABASE_CLIENTS").strip("'").split()
    assert clients[:3] == ["synapse", "synapse-event-persister1", "synapse-sync1"]
    assert len(clients) == 8
    assert "ROLES_QUERY=" not in native


@pytest.mark.parametrize("homeserver", ["continuwuity", "tuwunel"])
def test_a_successor_is_waited_for_through_the_proxy_or_on_loopback(homeserver: str) -> None:
    compose_text = apply_script.apply_script(context_for(answers_for(homeserver)))
    assert "_matrix/client/versions answers through the proxy" in compose_text
    assert quoted_setting(compose_text, "LOG_COMMAND").endswith(f"logs {homeserver} nginx")
    native_ctx = context_for(answers_for(homeserver, deployment__kind="native"))
    native_text = apply_script.apply_script(native_ctx)
    assert "http://127.0.0.1:8008/_matrix/client/versions answers" in native_text
    assert quoted_setting(native_text, "HOMESERVER_UNIT") == homeserver
    assert quoted_setting(native_text, "HOMESERVER_BINARY") == f"/usr/local/bin/{homeserver}"
    steps = " ".join(apply_script.next_steps(native_ctx))
    assert f"on {homeserver.capitalize()} the first account becomes the admin" in steps
    required = apply_script.required_files(native_ctx)
    assert f"{homeserver}/{homeserver}.toml" in required
    assert f"systemd/{homeserver}.service" in required


def test_with_native_workers_apply_knows_redis_the_template_and_each_workers_port() -> None:
    ctx = context_for(
        answers_for(deployment__kind="native", database="postgresql", homeserver__workers=True)
    )
    text = apply_script.apply_script(ctx)
    assert setting(text, "REDIS_UNIT") == "redis-server"
    assert setting(text, "WORKER_TEMPLATE") == "matrix-synapse-worker"
    rows = [line.split() for line in quoted_setting(text, "WORKERS").splitlines()]
    found = synapse_workers.workers(ctx)
    assert rows == [[synapse_workers.unit(w), str(synapse_workers.port(ctx, w))] for w in found]
    assert rows[0] == ["matrix-synapse-worker@event_persister1", "8101"]
    files = [line.split() for line in quoted_setting(text, "SERVICE_FILES").splitlines()]
    assert [row[0] for row in files][-len(found) :] == systemd.worker_units(ctx)
    assert "\nwait_for_homeserver\nwait_for_workers\n" in text


@pytest.mark.parametrize(
    ("sets", "template"),
    [
        ({"database": "postgresql"}, "matrix-synapse-worker"),
        ({"homeserver": "dendrite"}, ""),
    ],
)
def test_without_workers_apply_still_looks_for_synapse_workers_to_stop(
    sets: dict[str, Any], template: str
) -> None:
    text = apply_script.apply_script(context_for(answers_for(deployment__kind="native", **sets)))
    assert quoted_setting(text, "WORKERS") == ""
    assert quoted_setting(text, "REDIS_UNIT") == ""
    assert quoted_setting(text, "WORKER_TEMPLATE") == template
