"""A deployment without containers: the packages, users and programs apply.sh installs."""

import importlib.metadata
import re
import tomllib
from typing import Any

import pytest

from tests.bundle_support import answers_for, context_for
from tests.conftest import ROOT
from wizard.answers.model import Homeserver
from wizard.bundle import apply_script, compose, layout, native, readme, versions
from wizard.bundle.context import RenderContext


def _native(**sets: Any) -> RenderContext:
    return context_for(answers_for(deployment__kind="native", **sets))


@pytest.mark.parametrize(
    ("sets", "present", "absent"),
    [
        (
            {"database": "postgresql", "calls__turn": True, "monitoring__prometheus": True},
            {"python3-venv", "libpq-dev", "postgresql", "nginx", "certbot", "coturn", "prometheus"},
            {"caddy"},
        ),
        (
            # Synapse always gets PostgreSQL support, to move to it later with synapse_port_db.
            {"database": "sqlite", "proxy": "caddy"},
            {"python3-venv", "libpq-dev", "caddy"},
            {"postgresql", "certbot", "nginx", "coturn", "prometheus"},
        ),
        (
            {"homeserver": "dendrite", "proxy": "traefik"},
            {"postgresql", "python3", "tar"},
            {"traefik", "python3-venv", "nginx"},
        ),
        (
            {"database": "postgresql", "database__host": "db.example.org"},
            {"libpq-dev", "nginx"},
            {"postgresql"},
        ),
    ],
    ids=["synapse-everything", "synapse-sqlite-caddy", "dendrite-traefik", "external-database"],
)
def test_the_packages_follow_the_choices(
    sets: dict[str, Any], present: set[str], absent: set[str]
) -> None:
    packages = native.apt_packages(_native(**sets))
    assert present <= set(packages)
    assert not absent & set(packages)
    assert len(packages) == len(set(packages))


def test_certbot_comes_only_with_nginx_and_acme() -> None:
    assert "certbot" in native.apt_packages(_native(proxy="nginx"))
    assert "certbot" not in native.apt_packages(_native(proxy="nginx", proxy__tls="external"))


def test_nftables_comes_with_the_firewall_which_loads_its_rules_with_nft() -> None:
    assert "nftables" in native.apt_packages(_native(firewall__enabled=True))
    assert "nftables" not in native.apt_packages(_native(firewall__enabled=False))


def test_apply_sh_creates_the_homeserver_user_and_traefiks() -> None:
    users = native.system_users(_native(homeserver="conduit", proxy="traefik"))
    assert [(user.name, user.home) for user in users] == [
        ("matrix-conduit", "/var/lib/matrix-wizard/conduit"),
        ("traefik", "/var/lib/matrix-wizard/traefik"),
    ]


def test_the_venv_pins_the_synapse_release_the_compose_image_runs() -> None:
    ctx = _native()
    assert native.synapse_venv(ctx) == "/opt/venvs/matrix-synapse"
    release = versions.SYNAPSE_VERSION
    assert native.synapse_requirement(ctx) == f"matrix-synapse[postgres]=={release}"
    assert native.synapse_extra_modules(ctx) == ["psycopg2"]
    assert compose.IMAGES[Homeserver.SYNAPSE].endswith(f":v{release}")


def test_workers_bring_the_distributions_redis_and_synapses_redis_extra() -> None:
    ctx = _native(homeserver__workers=True, database="postgresql")
    assert native.REDIS_PACKAGE in native.apt_packages(ctx)
    release = versions.SYNAPSE_VERSION
    assert native.synapse_requirement(ctx) == f"matrix-synapse[postgres,redis]=={release}"
    assert native.synapse_extra_modules(ctx) == ["psycopg2", "txredisapi", "hiredis"]


def test_without_workers_there_is_no_redis() -> None:
    ctx = _native(homeserver__workers=False, database="postgresql", homeserver__tier="production")
    assert native.REDIS_PACKAGE not in native.apt_packages(ctx)
    assert "redis" not in native.synapse_requirement(ctx)


def test_the_extra_modules_are_what_synapse_declares_for_each_extra_on_cpython() -> None:
    declared = importlib.metadata.requires("matrix-synapse") or []
    for extra in ("postgres", "redis"):
        # Each module is named as the distribution that installs it.
        names = {
            re.split(r"[<>=!~ ;]", line, maxsplit=1)[0]
            for line in declared
            if f"extra == '{extra}'" in line and "== 'PyPy'" not in line
        }
        assert set(native.EXTRA_MODULES[extra]) == names, extra


@pytest.mark.parametrize(
    ("homeserver", "user"), [("continuwuity", "continuwuity"), ("tuwunel", "tuwunel")]
)
def test_apply_sh_creates_a_successors_user_and_no_media_folder(homeserver: str, user: str) -> None:
    ctx = _native(homeserver=homeserver)
    users = native.system_users(ctx)
    assert [(each.name, each.home) for each in users] == [
        (user, f"/var/lib/matrix-wizard/{homeserver}")
    ]
    folders = {folder.path: folder for folder in layout.folders(ctx, turn_tls=False)}
    assert folders[f"/var/lib/matrix-wizard/{homeserver}"].owner == user
    assert "/var/lib/matrix-wizard/media" not in folders  # media lives in the data folder


@pytest.mark.parametrize(
    ("homeserver", "release_page"),
    [
        (
            "continuwuity",
            "https://forgejo.ellis.link/continuwuation/continuwuity/releases/tag/v"
            + versions.CONTINUWUITY_VERSION,
        ),
        (
            "tuwunel",
            "https://github.com/matrix-construct/tuwunel/releases/tag/v" + versions.TUWUNEL_VERSION,
        ),
        ("conduit", "https://gitlab.com/famedly/conduit/-/releases"),
    ],
)
def test_a_conduit_family_binary_comes_from_its_release_page(
    homeserver: str, release_page: str
) -> None:
    binary = native.homeserver_binary(_native(homeserver=homeserver))
    assert binary is not None
    assert release_page in binary.how_to_get
    assert "uname -m" in binary.how_to_get and "0755" in binary.how_to_get


@pytest.mark.parametrize(
    ("homeserver", "program"),
    [
        ("synapse", None),
        ("dendrite", None),
        ("conduit", "matrix-conduit"),
        ("continuwuity", "continuwuity"),
        ("tuwunel", "tuwunel"),
    ],
)
def test_only_the_conduit_family_needs_a_binary_put_in_place_by_hand(
    homeserver: str, program: str | None
) -> None:
    binary = native.homeserver_binary(_native(homeserver=homeserver))
    if program is None:
        assert binary is None
    else:
        assert binary is not None
        assert binary.path == f"/usr/local/bin/{program}"
        assert binary.how_to_get


def test_natively_the_proxy_and_turn_folders_belong_to_their_users() -> None:
    ctx = _native(proxy="caddy", calls__turn=True)
    owners = {folder.path: folder.owner for folder in layout.folders(ctx, turn_tls=False)}
    assert owners["/var/lib/matrix-wizard/caddy/data"] == "caddy"
    assert owners["/var/lib/matrix-wizard/coturn"] == "turnserver"


def test_the_admin_command_uses_the_venv_natively() -> None:
    command = apply_script.admin_command(_native(deployment__ports={"homeserver": 18008}))
    assert command == (
        "/opt/venvs/matrix-synapse/bin/register_new_matrix_user"
        " -c /opt/matrix-wizard/synapse/homeserver.yaml --admin http://localhost:18008"
    )


def test_the_readme_says_what_apply_sh_installs_and_how_to_check_the_server() -> None:
    ctx = _native(
        database="postgresql",
        proxy="traefik",
        monitoring__grafana=True,
        monitoring__prometheus=True,
    )
    text = readme.readme_text(ctx)
    assert "## Running without containers" in text
    assert f"`{native.synapse_requirement(ctx)}`" in text
    assert f"Traefik {versions.TRAEFIK_VERSION}" in text
    assert "`matrix-synapse`, `matrix-wellknown`, `traefik`, `prometheus`" in text
    assert "Grafana is not in Debian or Ubuntu" in text
    assert "matrix-wizard doctor /opt/matrix-wizard" in text
    assert readme.database_check_command(ctx) in text


def test_the_compose_readme_has_no_native_section() -> None:
    assert "## Running without containers" not in readme.readme_text(context_for(answers_for()))


def test_tests_check_with_the_synapse_release_the_bundle_installs() -> None:

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    (pin,) = [item for item in extras["test"] if item.startswith("matrix-synapse")]
    assert pin.endswith(f"=={versions.SYNAPSE_VERSION}")


def test_the_readme_says_redis_stays_on_loopback_and_how_workers_start_and_stop() -> None:
    text = readme.readme_text(_native(homeserver__workers=True, database="postgresql"))
    assert "enables and starts `redis-server` before Synapse. Redis stays on loopback" in text
    assert "`bind 127.0.0.1 -::1` in its redis.conf" in text
    assert "each worker as `matrix-synapse-worker@<name>` (7 of them, side by side)" in text
    assert "stops and disables a `matrix-synapse-worker@<name>`" in text


def test_the_readme_speaks_of_redis_only_with_workers() -> None:
    assert "redis" not in readme.readme_text(_native(database="postgresql")).lower()


def test_the_readme_says_stopping_synapse_stops_its_workers_for_a_restore() -> None:
    sets = {"database": "postgresql", "backups__enabled": True}
    said = "`systemctl stop matrix-synapse` stops the Synapse workers too"
    assert said in readme.readme_text(_native(homeserver__workers=True, **sets))
    assert said not in readme.readme_text(_native(**sets))
