"""coturn's config: shared-secret auth, private peers refused, TLS only with a certificate."""

import base64
import ipaddress
from typing import Any

import pytest

from tests.bundle_support import FIXED_SECRETS, answers_for, context_for
from wizard.answers.secret_store import Secrets
from wizard.bundle import calls
from wizard.bundle.context import RenderContext
from wizard.bundle.model import PRIVATE
from wizard.errors import WizardError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def settings(text: str) -> list[tuple[str, str]]:
    """Return the config as (key, value) pairs in order; flags have an empty value."""
    pairs = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs.append((key, value))
    return pairs


def denied_ranges(text: str) -> list[tuple[IPAddress, IPAddress]]:
    ranges = []
    for key, value in settings(text):
        if key == "denied-peer-ip":
            first, _, last = value.partition("-")
            ranges.append((ipaddress.ip_address(first), ipaddress.ip_address(last or first)))
    return ranges


def is_denied(address: str, ranges: list[tuple[IPAddress, IPAddress]]) -> bool:
    ip = ipaddress.ip_address(address)
    return any(
        first.version == ip.version and first <= ip <= last  # type: ignore[operator]
        for first, last in ranges
    )


def conf(**sets: Any) -> str:
    return calls.render(context_for(answers_for(calls__turn=True, **sets)))[calls.TURN_CONFIG].text


def test_nothing_without_turn() -> None:
    assert calls.render(context_for(answers_for())) == {}
    assert calls.turn_uris(context_for(answers_for())) == []


def test_the_config_is_private_and_uses_the_shared_secret_and_chosen_ports() -> None:
    ctx = context_for(
        answers_for(
            calls__turn=True,
            calls__relay_min_port=50000,
            calls__relay_max_port=50100,
            deployment__ports__turn=3479,
        )
    )
    file = calls.render(ctx)[calls.TURN_CONFIG]
    assert file.mode == PRIVATE
    values = dict(settings(file.text))
    assert values["listening-port"] == "3479"
    assert values["min-port"] == "50000"
    assert values["max-port"] == "50100"
    assert values["static-auth-secret"] == FIXED_SECRETS.turn_shared_secret
    assert values["realm"] == "turn.example.com"
    assert values["user-quota"] == "12"
    assert values["total-quota"] == "1200"
    assert values["log-file"] == "stdout"
    for flag in ("use-auth-secret", "no-multicast-peers", "no-tcp-relay", "fingerprint", "no-cli"):
        assert flag in values
    assert "lt-cred-mech" not in values


@pytest.mark.parametrize(
    "address",
    [
        "0.1.2.3",
        "10.1.2.3",
        "100.64.0.1",
        "127.0.0.1",
        "169.254.169.254",
        "172.16.5.4",
        "172.31.255.255",
        "192.0.0.8",
        "192.0.2.1",
        "192.88.99.1",
        "192.168.1.1",
        "198.18.0.1",
        "198.19.255.255",
        "198.51.100.7",
        "203.0.113.9",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "64:ff9b::a00:1",
        "::ffff:10.0.0.1",
        "100::1",
        "2001:1::1",
        "2002::1",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
    ],
)
def test_private_loopback_and_reserved_peers_are_refused(address: str) -> None:
    assert is_denied(address, denied_ranges(conf()))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "172.32.0.1", "2606:4700::1111"])
def test_public_peers_are_allowed(address: str) -> None:
    assert not is_denied(address, denied_ranges(conf()))


def test_tls_is_served_when_certbot_keeps_a_certificate_on_the_host() -> None:
    ctx = context_for(answers_for(proxy="nginx", calls__turn=True))
    values = dict(settings(calls.turnserver_conf(ctx)))
    assert values["tls-listening-port"] == "5349"
    assert values["cert"] == "/etc/coturn/certs/fullchain.pem"
    assert values["pkey"] == "/etc/coturn/certs/privkey.pem"
    assert "no-tlsv1" in values and "no-tlsv1_1" in values
    assert "no-tls" not in values
    assert "turns:turn.example.com:5349?transport=tcp" in calls.turn_uris(ctx)


def test_natively_coturn_reads_its_certificate_copy_from_the_data_folder() -> None:
    ctx = context_for(answers_for(calls__turn=True, deployment__kind="native"))
    values = dict(settings(calls.turnserver_conf(ctx)))
    assert values["cert"] == "/var/lib/matrix-wizard/coturn/fullchain.pem"


@pytest.mark.parametrize("proxy", ["caddy", "traefik"])
def test_without_a_certificate_on_the_host_turn_is_plain_only(proxy: str) -> None:
    ctx = context_for(answers_for(proxy=proxy, calls__turn=True))
    values = dict(settings(calls.turnserver_conf(ctx)))
    assert "no-tls" in values and "no-dtls" in values
    assert "tls-listening-port" not in values and "cert" not in values
    assert calls.turn_uris(ctx) == [
        "turn:turn.example.com:3478?transport=udp",
        "turn:turn.example.com:3478?transport=tcp",
    ]


def test_rest_credentials_carry_the_expiry_and_a_sha1_hmac() -> None:
    username, password = calls.turn_credentials("secret", "@alice:example.com", 1_900_000_000)
    assert username == "1900000000:@alice:example.com"
    assert len(base64.b64decode(password, validate=True)) == 20
    _, other = calls.turn_credentials("other secret", "@alice:example.com", 1_900_000_000)
    assert other != password
    _, later = calls.turn_credentials("secret", "@alice:example.com", 1_900_000_001)
    assert later != password


def test_a_secret_that_would_break_the_config_line_is_refused() -> None:
    secrets = Secrets(**{**FIXED_SECRETS.model_dump(), "turn_shared_secret": "half # comment"})
    ctx = RenderContext(answers=answers_for(calls__turn=True), facts=None, secrets=secrets)
    with pytest.raises(WizardError, match="turn_shared_secret"):
        calls.render(ctx)


def test_no_own_address_is_allowed_when_the_answers_give_none() -> None:
    keys = [key for key, _ in settings(conf())]
    assert "allowed-peer-ip" not in keys
    assert "external-ip" not in keys


def test_a_server_on_a_private_address_may_relay_to_itself_and_nothing_else_private() -> None:
    text = conf(calls__external_ip="10.0.0.5")
    assert ("allowed-peer-ip", "10.0.0.5") in settings(text)
    assert "external-ip" not in [key for key, _ in settings(text)]
    assert is_denied("10.0.0.6", denied_ranges(text))


def test_behind_nat_the_public_address_is_advertised_and_the_private_one_allowed() -> None:
    pairs = settings(conf(calls__external_ip="203.0.114.7", calls__internal_ip="192.168.1.20"))
    assert ("external-ip", "203.0.114.7/192.168.1.20") in pairs
    assert ("allowed-peer-ip", "192.168.1.20") in pairs
    assert [key for key, _ in pairs].count("allowed-peer-ip") == 1


def test_an_ipv6_address_is_written_in_its_short_form() -> None:
    assert ("allowed-peer-ip", "2001:db8::7") in settings(
        conf(calls__external_ip="2001:0db8:0000::0007")
    )
