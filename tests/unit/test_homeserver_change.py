"""What the answers keep when the homeserver changes, and the words for what they drop."""

from wizard.answers.homeserver_change import kept_for
from wizard.answers.model import Homeserver, derived_answers, parse_answers

EXTERNAL = {
    "host": "db.example.org",
    "port": 5433,
    "user": "owner",
    "accept_sqlite_in_production": False,
}
SYNAPSE = {
    "homeserver": {"kind": "synapse"},
    "domain": {"server_name": "example.org"},
    "database": EXTERNAL,
}


def test_dendrite_keeps_an_external_postgresql_as_named_and_says_nothing() -> None:
    kept, said = kept_for(SYNAPSE, Homeserver.DENDRITE)
    assert kept["database"] == {**EXTERNAL, "name": "synapse"}
    assert said == {}
    bundled = {**SYNAPSE, "database": {"port": 5432}}
    assert kept_for(bundled, Homeserver.DENDRITE)[0]["database"] == {"port": 5432}


def test_conduit_drops_the_postgresql_settings_given_and_names_them() -> None:
    kept, said = kept_for(SYNAPSE, Homeserver.CONDUIT)
    assert kept["database"] == {"accept_sqlite_in_production": False}
    assert said == {
        "database": "Conduit has no PostgreSQL support: it keeps its data in its built-in store, "
        "so the PostgreSQL host db.example.org, port 5433 and user owner were dropped"
    }
    parse_answers({**kept, "homeserver": {"kind": "conduit"}})


def test_a_database_the_homeserver_cannot_use_gives_way_to_its_default() -> None:
    data = {**SYNAPSE, "database": {"kind": "sqlite"}}
    kept, said = kept_for(data, Homeserver.CONDUIT)
    assert kept["database"] == {"kind": "sqlite"}  # Conduit can use SQLite too
    kept, said = kept_for(data, Homeserver.TUWUNEL)
    assert kept["database"] == {}
    assert (
        said["database"] == "Tuwunel cannot use sqlite, so the database is now rocksdb, its default"
    )


def test_settings_with_no_place_in_the_new_homeserver_are_dropped_with_the_reason() -> None:
    data = {
        **SYNAPSE,
        "proxy": {"federation_ca_path": "/etc/ssl/ca.pem"},
        "media": {"path": "/srv/media"},
    }
    kept, said = kept_for(data, Homeserver.CONTINUWUITY)
    assert kept["proxy"] == {} and kept["media"] == {}
    assert "no setting for a private federation's CA" in said["proxy"]
    assert said["media"] == (
        "Continuwuity keeps media inside its data folder, so the media folder /srv/media was "
        "dropped"
    )
    kept, said = kept_for(data, Homeserver.SYNAPSE)
    assert kept == data and said == {}


def test_derived_answers_follow_the_server_name_and_the_homeserver() -> None:
    data = {
        "homeserver": {"kind": "dendrite"},
        "domain": {"server_name": "Example.ORG"},
        "calls": {"turn": True},
    }
    assert derived_answers(data) == {
        ("domain", "homeserver_host"): "matrix.example.org",
        ("proxy", "acme_email"): "admin@example.org",
        ("calls", "turn_host"): "turn.example.org",
        ("database", "kind"): "postgresql",
        ("database", "name"): "dendrite",
        ("database", "user"): "dendrite",
    }
    without = derived_answers({"domain": {"server_name": "no dot"}, "proxy": {"tls": "files"}})
    assert without == {}


def test_mas_is_turned_off_for_another_homeserver_with_the_reason() -> None:
    data = {"auth": {"mas": True, "mas_host": "login.example.com"}}

    kept, said = kept_for(data, Homeserver.DENDRITE)
    stays, quiet = kept_for(data, Homeserver.SYNAPSE)

    assert kept["auth"] == {}
    assert "Synapse only" in said["auth"] and "Dendrite" in said["auth"]
    assert stays == data and "auth" not in quiet
