"""Matrix Authentication Service: the answer, its config against the pinned release's keys, routes.

MAS is Rust under the AGPL and no registry this project reaches serves it (crates.io's
`mas-cli` is an unrelated crate; PyPI's and npm's too), so no MAS runs in these tests. What is
checked instead: every key of the rendered config.yaml is one MAS's configuration reference
documents, the values have the shapes it asks for, and Synapse's side, the database and the
proxies are proven by the real programs in tests/integration. NOT proven: that MAS 1.2.0 starts
with this config (`mas-cli config check` and `mas-cli doctor` never ran), that the reference
read (a revision later than 1.2.0's tag) and 1.2.0 agree on every key used, notably
account.password_registration_email_required, that the release archive and image names exist,
that MAS creates accounts on Synapse through the shared secret, and that a client completes a
login through MAS.
"""

import re
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from tests.bundle_support import FIXED_SECRETS, answers_for, context_for, facts_with
from tests.conftest import run_cli
from wizard.answers.model import AnswersError, dump_answers, parse_answers
from wizard.bundle import discovery, mas, nginx, postgres, systemd, tuning, worker_routes
from wizard.bundle.render import render
from wizard.fit.extras import MAS_RAM, MATRIX_RTC_LOAD, extra_load
from wizard.fit.tiers import tier_shortfall

# The keys config.yaml may hold, as the tree MAS's configuration reference names them
# (element-hq/matrix-authentication-service, docs/reference/configuration.md, sections http,
# http.listeners, database, matrix, secrets, passwords and account; the listener resources
# and bind forms of docs/config.schema.json). A leaf is None; a list of sections is [tree].
MAS_KEYS: dict[str, Any] = {
    "http": {
        "public_base": None,
        "issuer": None,
        "trusted_proxies": None,
        "listeners": [
            {
                "name": None,
                "resources": [{"name": None, "path": None, "playground": None}],
                "prefix": None,
                "binds": [
                    {
                        "address": None,
                        "host": None,
                        "port": None,
                        "socket": None,
                        "mode": None,
                        "fd": None,
                        "kind": None,
                    }
                ],
                "proxy_protocol": None,
                "tls": None,
            }
        ],
    },
    "database": {
        key: None
        for key in [
            "uri",
            "host",
            "port",
            "socket",
            "username",
            "password",
            "database",
            "ssl_mode",
            "ssl_ca",
            "ssl_ca_file",
            "ssl_certificate",
            "ssl_certificate_file",
            "ssl_key",
            "ssl_key_file",
            "min_connections",
            "max_connections",
            "connect_timeout",
            "idle_timeout",
            "max_lifetime",
        ]
    },
    "matrix": {
        "kind": None,
        "homeserver": None,
        "secret": None,
        "secret_file": None,
        "endpoint": None,
    },
    "secrets": {
        "encryption": None,
        "encryption_file": None,
        "keys_dir": None,
        "keys": [
            {"kid": None, "key": None, "key_file": None, "password": None, "password_file": None}
        ],
    },
    "passwords": {"enabled": None, "minimum_complexity": None, "schemes": None},
    "account": {
        key: None
        for key in [
            "email_change_allowed",
            "displayname_change_allowed",
            "password_registration_enabled",
            "password_registration_email_required",
            "password_change_allowed",
            "password_recovery_enabled",
            "account_deactivation_allowed",
            "login_with_email_allowed",
            "password_registration_token_required",
            "registration_token_required",
        ]
    },
}
# The resources of a listener (config.schema.json's Resource) and the kinds of homeserver.
MAS_RESOURCES = {
    "health prometheus discovery human graphql oauth compat assets adminapi connection-info"
}.pop().split()
MAS_HOMESERVER_KINDS = {"synapse", "synapse_read_only", "synapse_modern", "synapse_legacy"}


def _unknown_keys(data: Any, known: Any, where: str = "") -> list[str]:
    """Return the dotted path of every key in data that the known tree does not name."""
    if isinstance(data, dict) and isinstance(known, dict):
        found = []
        for key, value in data.items():
            if key not in known:
                found.append(f"{where}{key}")
            elif known[key] is not None:
                found += _unknown_keys(value, known[key], f"{where}{key}.")
        return found
    if isinstance(data, list) and isinstance(known, list):
        return [path for item in data for path in _unknown_keys(item, known[0], where)]
    return []


def _ctx(**sets: Any) -> Any:
    return context_for(answers_for(database="postgresql", auth__mas=True, **sets))


@pytest.mark.parametrize("deployment", ["compose", "native"])
@pytest.mark.parametrize("mode", ["closed", "token", "open"])
def test_mas_config_uses_only_keys_of_the_pinned_release(deployment: str, mode: str) -> None:
    ctx = _ctx(deployment__kind=deployment, registration__mode=mode)

    data = yaml.safe_load(mas.config_yaml(ctx))

    assert _unknown_keys(data, MAS_KEYS) == []
    assert {"matrix", "secrets"} <= data.keys(), "the two sections MAS requires"
    resources = [r["name"] for r in data["http"]["listeners"][0]["resources"]]
    assert set(resources) <= set(MAS_RESOURCES)
    assert data["matrix"]["kind"] in MAS_HOMESERVER_KINDS
    assert re.fullmatch(r"[0-9a-f]{64}", data["secrets"]["encryption"]), "32 bytes, hex"
    [key_entry] = data["secrets"]["keys"]
    folder = "/config" if deployment == "compose" else "/opt/matrix-wizard/mas"
    assert key_entry["key_file"] == f"{folder}/signing.key"
    pem = render(ctx.answers, None, FIXED_SECRETS)[mas.SIGNING_KEY_FILE]
    assert pem.mode == 0o600
    key = load_pem_private_key(pem.text.encode(), password=None)
    assert isinstance(key, RSAPrivateKey), "MAS needs at least one RSA key"
    assert data["passwords"]["enabled"] is True
    assert data["account"]["password_registration_enabled"] is (mode != "closed")
    assert data["account"].get("registration_token_required", False) is (mode == "token")


def test_an_unknown_key_is_caught_by_the_key_check() -> None:
    data = yaml.safe_load(mas.config_yaml(_ctx()))
    data["account"]["password_registraton_enabled"] = True
    data["http"]["listeners"][0]["binds"][0]["hots"] = "x"

    assert _unknown_keys(data, MAS_KEYS) == [
        "http.listeners.binds.hots",
        "account.password_registraton_enabled",
    ]


def test_mas_and_synapse_share_one_secret_and_reach_each_other() -> None:
    ctx = _ctx(deployment__kind="compose")

    config = yaml.safe_load(mas.config_yaml(ctx))
    section = mas.synapse_section(ctx)

    assert section["matrix_authentication_service"] == {
        "enabled": True,
        "endpoint": f"http://mas:{ctx.ports.mas}/",
        "secret": FIXED_SECRETS.mas_shared_secret,
    }
    assert section["enable_registration"] is False
    assert config["matrix"]["secret"] == FIXED_SECRETS.mas_shared_secret
    assert config["matrix"]["endpoint"] == f"http://synapse:{ctx.ports.homeserver}/"
    assert config["matrix"]["homeserver"] == "example.com"
    assert config["http"]["public_base"] == "https://auth.example.com/"
    assert config["database"]["database"] == "mas" and config["database"]["username"] == "mas"


@pytest.mark.parametrize(
    ("sets", "words"),
    [
        ({"homeserver": "dendrite"}, "works with Synapse only"),
        ({"homeserver": "continuwuity"}, "works with Synapse only"),
        ({"database": "sqlite"}, "PostgreSQL only"),
    ],
)
def test_mas_is_refused_where_it_cannot_run(sets: dict[str, str], words: str) -> None:
    data: dict[str, Any] = {
        "homeserver": {"kind": sets.get("homeserver", "synapse")},
        "domain": {"server_name": "example.com"},
        "auth": {"mas": True},
    }
    if "database" in sets:
        data["database"] = {"kind": sets["database"]}

    with pytest.raises(AnswersError) as refused:
        parse_answers(data)

    problems = [p for p in refused.value.problems if p.path == "auth.mas"]
    assert len(problems) == 1 and words in problems[0].message
    assert "auth.mas: false" in problems[0].message, "it says how to fix it"


def test_mas_is_off_unless_chosen_and_its_host_follows_the_server_name() -> None:
    off, _ = parse_answers({"homeserver": {"kind": "synapse"}, "domain": {"server_name": "a.org"}})
    on, _ = parse_answers(
        {
            "homeserver": {"kind": "synapse", "tier": "production"},
            "domain": {"server_name": "a.org"},
            "auth": {"mas": True},
        }
    )
    chosen, _ = parse_answers(
        {
            "homeserver": {"kind": "synapse"},
            "domain": {"server_name": "a.org"},
            "auth": {"mas": True, "mas_host": "Login.A.org"},
        }
    )

    assert off.auth.mas is False and off.auth.mas_host is None
    assert on.auth.mas_host == "auth.a.org"
    assert chosen.auth.mas_host == "login.a.org"


def test_secrets_stay_out_of_the_answers_and_in_the_private_config() -> None:
    bundle = render(_ctx().answers, None, FIXED_SECRETS)

    answers_text = dump_answers(_ctx().answers)
    assert bundle[mas.CONFIG_FILE].mode == 0o600
    for secret in (FIXED_SECRETS.mas_shared_secret, FIXED_SECRETS.mas_database_password):
        assert secret not in answers_text
        assert secret in bundle[mas.CONFIG_FILE].text


def test_init_sql_makes_mas_its_own_role_and_database_beside_synapses() -> None:
    sql = postgres.init_sql(_ctx())

    assert 'CREATE ROLE "mas"' in sql
    assert 'CREATE DATABASE "mas" WITH OWNER "mas"' in sql
    assert FIXED_SECRETS.mas_database_password in sql
    assert 'CREATE ROLE "synapse"' in sql, "Synapse's own role is still made first"
    assert "mas" not in postgres.init_sql(context_for(answers_for(database="postgresql")))


@pytest.mark.parametrize(
    ("path", "to_mas"),
    [
        ("/_matrix/client/v3/login", True),
        ("/_matrix/client/r0/login", True),
        ("/_matrix/client/v3/logout/all", True),
        ("/_matrix/client/v3/refresh", True),
        ("/_matrix/client/unstable/org.matrix.msc2918.refresh/refresh", True),
        ("/_matrix/client/v3/sync", False),
        ("/_matrix/client/v3/register", False),
    ],
)
def test_the_compat_route_takes_login_logout_and_refresh(path: str, to_mas: bool) -> None:
    route = worker_routes.routes(_ctx())[0]

    assert route.name == "mas-compat"
    assert route.upstreams == (mas.upstream(_ctx()),)
    assert any(re.search(p, path) for p in route.spec.client) is to_mas


def test_with_workers_logins_reach_mas_not_a_client_reader() -> None:
    found = worker_routes.routes(_ctx(homeserver__workers=True))

    assert found[0].name == "mas-compat"
    for route in found[1:]:
        assert not any(re.search(p, "/_matrix/client/v3/login") for p in route.spec.client)
    without_mas = worker_routes.routes(context_for(answers_for(homeserver__workers=True)))
    assert any(
        re.search(p, "/_matrix/client/v3/login") for r in without_mas for p in r.spec.client
    ), "without MAS a worker takes logins, as before"


def test_the_mas_host_has_dns_records_and_a_place_in_the_certificate() -> None:
    ctx = _ctx()

    hosts = {record.name for record in discovery.dns_records(ctx)}

    assert "auth.example.com" in hosts
    assert ("auth.example.com", "mas") in nginx.certificate_names(ctx)


def test_natively_mas_runs_from_its_release_folder_after_synapse() -> None:
    ctx = _ctx(deployment__kind="native")

    order = systemd.start_order(ctx)
    units = {unit.path: unit.text() for unit in systemd.unit_files(ctx)}
    unit = units[systemd.unit_path("matrix-authentication-service")]

    assert order.index("matrix-authentication-service") == order.index("matrix-synapse") + 1
    assert "WorkingDirectory=/opt/matrix-authentication-service" in unit
    assert "User=matrix-mas" in unit
    assert "mas-cli server --config /opt/matrix-wizard/mas/config.yaml" in unit


def test_the_readme_makes_the_first_user_with_mas_and_drops_synapses_admin_paths() -> None:
    readme = render(_ctx(deployment__kind="compose").answers, None, FIXED_SECRETS)["README.md"]

    assert "docker compose exec mas mas-cli manage register-user --admin" in readme.text
    assert "register_new_matrix_user -c" not in readme.text
    assert "_synapse/admin/v1/registration_tokens" not in readme.text


def test_synapse_leaves_mas_its_ram() -> None:
    with_mas = tuning.tuning_for(_ctx().answers, None)
    without = tuning.tuning_for(answers_for(database="postgresql"), None)

    assert with_mas.ram == without.ram, "the machine is the same"
    assert with_mas.postgres_ram == without.postgres_ram
    assert with_mas.synapse_cache_factor < without.synapse_cache_factor


def test_a_machine_that_fits_the_tier_only_without_mas_is_told_so() -> None:
    answers = answers_for(database="postgresql", auth__mas=True, homeserver__tier="production")
    tight = facts_with(ram_gib=7.3, cores=8, disk_gib=200)

    said = tier_shortfall(tight, "synapse", "production", tuning.answers_load(answers))

    assert "production tier: RAM 8.2 GiB (found 7.3 GiB)" in said
    without = answers_for(database="postgresql", homeserver__tier="production")
    assert tier_shortfall(tight, "synapse", "production", tuning.answers_load(without)) == ""


def test_mas_counts_for_synapse_only() -> None:
    assert extra_load("synapse", matrix_rtc=False, mas=True).ram == MAS_RAM
    assert extra_load("dendrite", matrix_rtc=False, mas=True).ram == 0
    both = extra_load("synapse", matrix_rtc=True, mas=True)
    assert both.ram == MAS_RAM + MATRIX_RTC_LOAD.ram


def test_plan_counts_mas_in_when_asked() -> None:
    args = ["plan", "--cpus", "2", "--ram", "2G", "--disk", "60G", "--homeserver", "synapse"]
    assert "1.2 GiB" not in run_cli(*args, check=True).stdout
    assert "1.2 GiB" in run_cli(*args, "--mas", check=True).stdout
