"""MatrixRTC calls in the answers and the bundle: LiveKit, lk-jwt-service, Synapse and discovery."""

import json
import tomllib
from typing import Any

import pytest
import yaml

from tests.bundle_support import FIXED_SECRETS, answers_for, context_for, facts_with
from tests.conftest import run_cli
from wizard.answers.model import AnswersError
from wizard.bundle import compose, discovery, firewall, matrix_rtc, synapse, systemd
from wizard.bundle.model import PRIVATE, PUBLIC
from wizard.bundle.render import render
from wizard.fit import tiers
from wizard.fit.extras import extra_load

ADDRESS = "203.0.113.10"
CALLS: dict[str, Any] = {"calls__matrix_rtc": True, "calls__external_ip": ADDRESS}
# Every variable the README of lk-jwt-service 0.5.0 (the pinned release) lists; the bundle may
# set only these. LIVEKIT_URL, the key, the secret and the full-access homeservers are required.
LK_JWT_VARIABLES = {
    "LIVEKIT_URL",
    "LIVEKIT_KEY",
    "LIVEKIT_KEY_FROM_FILE",
    "LIVEKIT_SECRET",
    "LIVEKIT_SECRET_FROM_FILE",
    "LIVEKIT_KEY_FILE",
    "LIVEKIT_JWT_BIND",
    "LIVEKIT_JWT_PORT",
    "LIVEKIT_FULL_ACCESS_HOMESERVERS",
    "LIVEKIT_SANITY_CHECK_INTERVAL_SECONDS",
    "LIVEKIT_CAN_UPDATE_OWN_METADATA",
    "LIVEKIT_LOG_LEVEL",
    "LIVEKIT_CS_API_URL_OVERRIDES",
    "LIVEKIT_REDIS_URL",
    "LIVEKIT_REDIS_PASSWORD",
    "LIVEKIT_AS_TOKEN",
    "LIVEKIT_HS_TOKEN",
    "LIVEKIT_AS_REGISTRATION_FILE",
    "LIVEKIT_HS_SERVER_NAME",
    "LIVEKIT_INSECURE_SKIP_VERIFY_TLS",
}
LK_JWT_REQUIRED = {
    "LIVEKIT_URL",
    "LIVEKIT_KEY",
    "LIVEKIT_SECRET",
    "LIVEKIT_FULL_ACCESS_HOMESERVERS",
}


def _problems(**sets: Any) -> dict[str, str]:
    with pytest.raises(AnswersError) as refused:
        answers_for(**sets)
    return {problem.path: problem.message for problem in refused.value.problems}


def _environment(text: str) -> dict[str, str]:
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_calls_are_off_unless_chosen_and_then_add_only_their_files() -> None:
    plain = render(answers_for(), None, FIXED_SECRETS)
    with_calls = render(answers_for(**CALLS), None, FIXED_SECRETS)
    assert not any(path.startswith("livekit/") for path in plain)
    assert with_calls[matrix_rtc.LIVEKIT_CONFIG].mode == PUBLIC
    assert with_calls[matrix_rtc.LIVEKIT_ENV].mode == PRIVATE
    assert with_calls[matrix_rtc.LK_JWT_ENV].mode == PRIVATE


@pytest.mark.parametrize("homeserver", ["dendrite", "conduit"])
def test_a_homeserver_without_what_element_call_needs_is_refused(homeserver: str) -> None:
    problems = _problems(homeserver=homeserver, **CALLS)
    assert "delayed events" in problems["calls.matrix_rtc"]
    assert "matrix_rtc: false" in problems["calls.matrix_rtc"]


def test_calls_without_a_public_address_are_refused_with_an_example() -> None:
    problems = _problems(calls__matrix_rtc=True)
    assert "203.0.113.10" in problems["calls.external_ip"]


def test_livekit_ports_may_not_collide_with_each_other_or_turn() -> None:
    same = _problems(**CALLS, calls__rtc_tcp_port=7882)
    assert "different" in same["calls.rtc_udp_port"]
    relay = _problems(**CALLS, calls__turn=True, calls__rtc_udp_port=49200)
    assert "TURN's relay range" in relay["calls.rtc_udp_port"]
    taken = _problems(**CALLS, calls__rtc_tcp_port=8448)
    assert "deployment.ports.federation" in taken["calls.rtc_tcp_port"]


def test_livekit_advertises_only_the_answered_address_and_never_creates_rooms() -> None:
    ctx = context_for(answers_for(deployment__kind="compose", **CALLS))
    config = yaml.safe_load(matrix_rtc.livekit_yaml(ctx))
    assert config["rtc"] == {
        "tcp_port": 7881,
        "udp_port": 7882,
        "use_external_ip": False,
        "node_ip": ADDRESS,
    }
    assert config["room"] == {"auto_create": False}
    assert config["bind_addresses"] == ["0.0.0.0"]
    assert config["webhook"] == {
        "api_key": FIXED_SECRETS.livekit_api_key,
        "urls": ["http://lk-jwt-service:6080/sfu_webhook"],
    }
    assert FIXED_SECRETS.livekit_api_secret not in matrix_rtc.livekit_yaml(ctx)


def test_natively_both_services_listen_on_loopback_only() -> None:
    ctx = context_for(answers_for(deployment__kind="native", **CALLS))
    assert yaml.safe_load(matrix_rtc.livekit_yaml(ctx))["bind_addresses"] == ["127.0.0.1"]
    assert matrix_rtc.jwt_environment(ctx)["LIVEKIT_JWT_BIND"] == "127.0.0.1:6080"


def test_livekit_reads_the_key_pair_of_the_secrets() -> None:
    files = render(answers_for(**CALLS), None, FIXED_SECRETS)
    keys = _environment(files[matrix_rtc.LIVEKIT_ENV].text)["LIVEKIT_KEYS"]
    assert keys == f"{FIXED_SECRETS.livekit_api_key}: {FIXED_SECRETS.livekit_api_secret}"


def test_lk_jwt_service_gets_the_variables_its_pinned_release_reads() -> None:
    files = render(answers_for(**CALLS), None, FIXED_SECRETS)
    environment = _environment(files[matrix_rtc.LK_JWT_ENV].text)
    assert LK_JWT_REQUIRED <= set(environment) <= LK_JWT_VARIABLES
    assert environment["LIVEKIT_URL"] == "wss://matrix.example.com/livekit/sfu"
    assert environment["LIVEKIT_FULL_ACCESS_HOMESERVERS"] == "example.com"
    assert environment["LIVEKIT_SECRET"] == FIXED_SECRETS.livekit_api_secret
    assert environment["LIVEKIT_JWT_BIND"] == ":6080"


def test_the_well_known_client_file_names_the_foci_even_without_delegation() -> None:
    ctx = context_for(
        answers_for(server_name="matrix.example.com", domain__delegation="none", **CALLS)
    )
    client = discovery.wellknown_documents(ctx)["client"]
    assert client["org.matrix.msc4143.rtc_foci"] == [
        {"type": "livekit", "livekit_service_url": "https://matrix.example.com/livekit/jwt"}
    ]


def test_synapse_gets_the_settings_element_calls_guide_lists() -> None:
    ctx = context_for(answers_for(rate_limits__preset="strict", **CALLS))
    config = synapse.homeserver_config(ctx)
    assert config["experimental_features"] == {
        "msc3266_enabled": True,
        "msc4143_enabled": True,
        "msc4222_enabled": True,
    }
    assert config["max_event_delay_duration"] == "24h"
    assert config["rc_message"] == {"per_second": 0.5, "burst_count": 30}
    assert config["rc_delayed_event_mgmt"] == {"per_second": 1.0, "burst_count": 20}
    assert config["matrix_rtc"]["transports"] == matrix_rtc.foci(ctx)
    assert "experimental_features" not in synapse.homeserver_config(context_for(answers_for()))


def test_the_successors_announce_the_service_their_own_way() -> None:
    def settings(homeserver: str) -> dict[str, Any]:
        files = render(answers_for(homeserver=homeserver, **CALLS), None, FIXED_SECRETS)
        found: dict[str, Any] = tomllib.loads(files[f"{homeserver}/{homeserver}.toml"].text)
        table: dict[str, Any] = found["global"]
        return table

    url = "https://matrix.example.com/livekit/jwt"
    assert settings("continuwuity")["matrix_rtc"] == {
        "foci": [{"type": "livekit", "livekit_service_url": url}]
    }
    assert settings("tuwunel")["well_known"]["livekit_url"] == url


def test_compose_publishes_only_livekits_media_ports() -> None:
    ctx = context_for(answers_for(deployment__kind="compose", **CALLS))
    services = compose.services(ctx)
    assert services["livekit"]["ports"] == ["7881:7881/tcp", "7882:7882/udp"]
    assert "ports" not in services["lk-jwt-service"]
    assert {"livekit", "lk-jwt-service"} <= set(services["nginx"]["depends_on"])
    text = compose.render(ctx)[compose.COMPOSE_FILE].text
    assert FIXED_SECRETS.livekit_api_secret not in text


def test_natively_both_run_as_throwaway_users_with_their_environment_files() -> None:
    ctx = context_for(answers_for(deployment__kind="native", **CALLS))
    units = {unit.path: unit.text() for unit in systemd.unit_files(ctx)}
    livekit = units["systemd/livekit.service"]
    assert "DynamicUser=yes" in livekit
    assert "EnvironmentFile=/opt/matrix-wizard/livekit/livekit.env" in livekit
    assert "--config /opt/matrix-wizard/livekit/livekit.yaml" in livekit
    assert (
        "EnvironmentFile=/opt/matrix-wizard/livekit/lk-jwt-service.env"
        in (units["systemd/lk-jwt-service.service"])
    )
    assert systemd.start_order(ctx)[-2:] == ["lk-jwt-service", "livekit"]


def test_the_firewall_opens_livekits_media_ports() -> None:
    ctx = context_for(answers_for(firewall__enabled=True, **CALLS))
    rules = {(rule.ports, rule.protocol) for rule in firewall.open_ports(ctx)}
    assert {("7881", "tcp"), ("7882", "udp")} <= rules


def test_the_answers_file_keeps_the_choice_and_no_secret() -> None:
    files = render(answers_for(**CALLS), None, FIXED_SECRETS)
    answers = yaml.safe_load(files["answers.yaml"].text)
    assert answers["calls"]["matrix_rtc"] is True
    text = json.dumps(answers)
    assert FIXED_SECRETS.livekit_api_key not in text
    assert FIXED_SECRETS.livekit_api_secret not in text


def test_calls_raise_every_tiers_ram_and_the_production_tiers_cores() -> None:
    facts = facts_with(ram_gib=2, cores=2)
    plain = tiers.fit(facts, "synapse").checks
    with_calls = tiers.fit(facts, "synapse", extra_load("synapse", matrix_rtc=True, mas=False))
    with_calls_checks = with_calls.checks
    for before, after in zip(plain, with_calls_checks, strict=True):
        assert after.requirements[0].needed != before.requirements[0].needed, after.tier
    assert [check.requirements[1].needed for check in with_calls_checks] == [
        "1 core",
        "2 cores",
        "5 cores",
    ]
    assert extra_load("synapse", matrix_rtc=False, mas=False) == tiers.NO_EXTRA


def test_plan_counts_calls_in_when_asked() -> None:
    args = ["plan", "--cpus", "2", "--ram", "2G", "--disk", "60G", "--homeserver", "synapse"]
    assert "1.3 GiB" not in run_cli(*args, check=True).stdout
    assert "1.3 GiB" in run_cli(*args, "--matrix-rtc", check=True).stdout
