"""The bundle README: the checklist each stack needs, and never a secret."""

from typing import Any

import pytest

from tests.bundle_support import FIXED_SECRETS, answers_for, context_for
from wizard.bundle import firewall, readme

COMBINATIONS: list[dict[str, Any]] = [
    {"homeserver": "synapse", "database": "postgresql"},
    {"homeserver": "synapse", "database": "sqlite", "registration__mode": "token"},
    {"homeserver": "dendrite", "database": "postgresql", "registration__mode": "open"},
    {"homeserver": "conduit", "database": "rocksdb", "registration__mode": "token"},
    {"homeserver": "conduit", "database": "sqlite"},
    {"homeserver": "continuwuity", "registration__mode": "token", "calls__turn": True},
    {"homeserver": "tuwunel", "deployment__kind": "native", "monitoring__prometheus": True},
    {
        "homeserver": "synapse",
        "calls__turn": True,
        "monitoring__prometheus": True,
        "monitoring__grafana": True,
        "domain__delegation": "srv",
    },
    {"homeserver": "dendrite", "deployment__kind": "native", "monitoring__prometheus": True},
]


def text_for(**sets: Any) -> str:
    return readme.render(context_for(answers_for(**sets)))[readme.README].text


@pytest.mark.parametrize("sets", COMBINATIONS)
def test_no_secret_value_is_in_the_readme(sets: dict[str, Any]) -> None:
    text = text_for(**sets)
    for value in FIXED_SECRETS.values():
        assert value not in text
    assert "sudo ./apply.sh --dry-run" in text
    assert "secrets.yaml" in text


def test_the_summary_names_the_stack() -> None:
    text = text_for(homeserver="dendrite", database="postgresql", proxy="caddy")
    assert "| Homeserver | dendrite, tuned for the recommended tier |" in text
    assert "| Reverse proxy | caddy, certificates: acme |" in text


def test_dns_rows_cover_each_host_once() -> None:
    ctx = context_for(answers_for(calls__turn=True))
    rows = readme.dns_rows(ctx)
    assert [(row.name, row.kind) for row in rows] == [
        ("matrix.example.com", "A/AAAA"),
        ("example.com", "A/AAAA"),
        ("turn.example.com", "A/AAAA"),
    ]


def test_srv_delegation_adds_the_record_and_the_certificate_caveat() -> None:
    ctx = context_for(answers_for(domain__delegation="srv"))
    srv = [row for row in readme.dns_rows(ctx) if row.kind == "SRV"]
    assert [(row.name, row.value) for row in srv] == [
        ("_matrix-fed._tcp.example.com", "10 5 8448 matrix.example.com.")
    ]
    assert "must cover `example.com`" in text_for(domain__delegation="srv")


def test_the_firewall_table_lists_every_open_port() -> None:
    ctx = context_for(answers_for(calls__turn=True))
    text = readme.readme_text(ctx)
    for rule in firewall.open_ports(ctx):
        assert f"| {rule.ports} | {rule.protocol} | {rule.purpose} |" in text


def test_the_database_check_is_explained_for_postgres_only() -> None:
    assert "datcollate" in text_for(homeserver="synapse", database="postgresql")
    assert "datcollate" not in text_for(homeserver="synapse", database="sqlite")


@pytest.mark.parametrize(
    ("homeserver", "phrase"),
    [
        ("synapse", "register_new_matrix_user"),
        ("dendrite", "create-account"),
        ("conduit", "first account registered"),
        ("continuwuity", "Continuwuity makes the first account registered on it the server admin"),
        ("tuwunel", "Tuwunel makes the first account registered on it the server admin"),
    ],
)
def test_the_first_admin_step_fits_the_homeserver(homeserver: str, phrase: str) -> None:
    assert phrase in text_for(homeserver=homeserver)


@pytest.mark.parametrize(
    ("homeserver", "phrase"),
    [
        ("synapse", "/_synapse/admin/v1/registration_tokens/new"),
        ("conduit", "only to the people you invite"),
        ("continuwuity", "`registration_token` from `continuwuity/continuwuity.toml`"),
        ("tuwunel", "`registration_token` from `tuwunel/tuwunel.toml`"),
    ],
)
def test_token_registration_says_how_to_make_tokens(homeserver: str, phrase: str) -> None:
    assert phrase in text_for(homeserver=homeserver, registration__mode="token")
    assert phrase not in text_for(homeserver=homeserver, registration__mode="closed")


def test_monitoring_is_reached_through_an_ssh_tunnel() -> None:
    text = text_for(monitoring__prometheus=True, monitoring__grafana=True)
    assert "ssh -L 9090:127.0.0.1:9090 -L 3000:127.0.0.1:3000" in text
    assert "## Monitoring" not in text_for()


@pytest.mark.parametrize("homeserver", ["conduit", "continuwuity", "tuwunel"])
def test_the_conduit_family_says_it_has_no_metrics(homeserver: str) -> None:
    text = text_for(homeserver=homeserver, monitoring__prometheus=True)
    assert f"{homeserver.capitalize()} has no metrics endpoint" in text


def test_continuwuity_points_at_the_one_time_token_in_its_log() -> None:
    text = " ".join(text_for(homeserver="continuwuity").split())
    assert "prints a one-time registration token for that first account in its log" in text
    assert "docker compose -f /opt/matrix-wizard/docker-compose.yml logs continuwuity" in text
    closed = " ".join(text_for(homeserver="tuwunel").split())
    assert (
        "registration is closed: set `allow_registration = true` and a `registration_token` "
        "in `tuwunel/tuwunel.toml`" in closed
    )
    assert "one-time" not in closed


@pytest.mark.parametrize("homeserver", ["continuwuity", "tuwunel"])
def test_a_successors_native_steps_say_where_its_binary_comes_from(homeserver: str) -> None:
    text = " ".join(text_for(homeserver=homeserver, deployment__kind="native").split())
    assert f"expects {homeserver} at `/usr/local/bin/{homeserver}`" in text
    assert "/releases/tag/v" in text


def test_backups_say_when_they_run_how_to_copy_them_off_and_how_to_restore() -> None:
    text = text_for()
    assert "systemctl list-timers matrix-wizard-backup.timer" in text
    assert "cron" not in text
    assert "rsync -a root@matrix.example.com:/var/backups/matrix-wizard/ " in text
    assert "sudo /opt/matrix-wizard/restore.sh --dry-run" in text
    assert "sudo sh /var/backups/matrix-wizard/YYYYMMDDTHHMMSSZ/restore.sh --yes" in text
    assert "## Backups" not in text_for(backups__enabled=False)


@pytest.mark.parametrize(("kind", "what"), [("compose", "container"), ("native", "service")])
def test_applying_again_says_it_restarts_what_reads_a_changed_file(kind: str, what: str) -> None:
    sentence = f"Applied again after a change, it restarts each {what} whose files changed"
    text = text_for(deployment__kind=kind)
    assert sentence in text
    assert f"`/var/lib/matrix-wizard/{kind}-checksums.txt`" in text


def test_acme_with_certbot_says_which_names_it_asks_for_and_how_to_add_one_later() -> None:
    text = text_for(calls__turn=True, calls__turn_host="turn.example.com")

    assert (
        "apply.sh asks the certificate authority (through certbot) for `matrix.example.com`, "
        "and for each of these only when it resolves to this server's address:"
    ) in text
    assert "- `example.com`: serves /.well-known/matrix/ when it points here" in text
    assert "- `turn.example.com`: clients check it for TURN over TLS" in text
    assert "prints each name it leaves out, with why and what to do" in text
    assert "point its DNS record here, wait until it resolves, and run `sudo ./apply.sh` again" in (
        text
    )


@pytest.mark.parametrize(
    "sets",
    [
        {"proxy": "caddy"},
        {"proxy": "nginx", "proxy__tls": "external"},
        {"server_name": "matrix.example.com", "domain__homeserver_host": "matrix.example.com"},
    ],
)
def test_no_certificate_names_are_told_without_certbot_or_other_names(
    sets: dict[str, Any],
) -> None:
    assert "only when it resolves to this server's address" not in text_for(**sets)


def test_compose_says_how_a_cluster_of_an_older_bundle_gets_its_roles() -> None:
    phrase = "Older bundles made `synapse` the cluster's superuser."
    assert phrase in text_for(homeserver="synapse", database="postgresql")
    assert phrase not in text_for(
        homeserver="synapse", database="postgresql", deployment__kind="native"
    )


def test_a_successors_backup_copies_its_media_inside_the_data_folder() -> None:
    text = " ".join(text_for(homeserver="tuwunel").split())
    assert "a copy of the data folder, taken with tuwunel stopped for a moment (its media" in text
    assert "the media and this bundle" in " ".join(text_for(homeserver="conduit").split())


def test_dendrites_backups_name_its_state_folders() -> None:
    text = text_for(homeserver="dendrite")
    assert "its jetstream and searchindex folders (copied with dendrite stopped" in text


@pytest.mark.parametrize(("proxy", "said"), [("nginx", True), ("caddy", False)])
def test_compose_with_nginx_says_to_reload_it_after_a_restart_by_hand(
    proxy: str, said: bool
) -> None:
    text = readme.readme_text(context_for(answers_for(proxy=proxy, deployment__kind="compose")))
    assert ("`docker compose exec nginx nginx -s reload`" in text) is said
