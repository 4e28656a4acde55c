"""The server-discovery algorithm's pure parts: server names, m.server, and the order of lookups."""

import pytest

from wizard.errors import UsageError
from wizard.verify.discovery import (
    ServerName,
    SrvRecord,
    WellKnown,
    find_endpoint,
    parse_m_server,
    parse_server_name,
)
from wizard.verify.lookup import parse_resolver


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("example.com", "example.com", None),
        ("matrix.example.com:8448", "matrix.example.com", 8448),
        ("192.0.2.7", "192.0.2.7", None),
        ("192.0.2.7:443", "192.0.2.7", 443),
        ("[2001:db8::1]", "2001:db8::1", None),
        ("[2001:db8::1]:8448", "2001:db8::1", 8448),
    ],
)
def test_a_server_name_splits_into_host_and_port(text: str, host: str, port: int | None) -> None:
    name = parse_server_name(text)
    assert (name.host, name.port) == (host, port)
    assert str(name) == text


@pytest.mark.parametrize(
    "text", ["", "exa mple.com", "example.com:", "example.com:0", "example.com:65536",
             "example.com:84a8", "2001:db8::1", "[2001:db8::1", "[nothing]", "[::1]8448",
             "-example.com", "https://example.com"],
)  # fmt: skip
def test_a_bad_server_name_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not|port"):
        parse_server_name(text)


def test_m_server_must_be_a_string_in_an_object() -> None:
    assert parse_m_server({"m.server": "matrix.example.com:443"}) == ServerName(
        "matrix.example.com", 443
    )
    with pytest.raises(ValueError, match="not a JSON object"):
        parse_m_server(["matrix.example.com"])
    with pytest.raises(ValueError, match=r"no m\.server string"):
        parse_m_server({"m.homeserver": {"base_url": "https://matrix.example.com"}})
    with pytest.raises(ValueError, match=r"no m\.server string"):
        parse_m_server({"m.server": 8448})
    with pytest.raises(ValueError, match="port"):
        parse_m_server({"m.server": "matrix.example.com:port"})


class Dns:
    """Lookups answered from tables, recording what was asked in order."""

    def __init__(
        self, wellknown: dict[str, str] | None = None, srv: dict[str, tuple[str, int]] | None = None
    ) -> None:
        self.wellknown = wellknown or {}
        self.records = srv or {}
        self.asked: list[str] = []

    def fetch(self, host: str) -> WellKnown:
        self.asked.append(f"well-known {host}")
        url = f"https://{host}/.well-known/matrix/server"
        if host not in self.wellknown:
            return WellKnown(url, None, f"{url} answers 404")
        return WellKnown(url, parse_server_name(self.wellknown[host]))

    def srv(self, name: str) -> list[SrvRecord]:
        self.asked.append(f"SRV {name}")
        found = self.records.get(name)
        return [SrvRecord(name, *found)] if found else []

    def endpoint(self, server_name: str) -> tuple[str, int, str, str, str]:
        found = find_endpoint(parse_server_name(server_name), self.fetch, self.srv)
        return found.host, found.port, found.tls_name, found.host_header, found.source


def test_an_explicit_port_or_ip_is_used_as_is_without_any_lookup() -> None:
    dns = Dns({"example.com": "elsewhere.example.com:1"})
    assert dns.endpoint("example.com:8449") == (
        "example.com", 8449, "example.com", "example.com:8449", "port"
    )  # fmt: skip
    assert dns.endpoint("192.0.2.7") == ("192.0.2.7", 8448, "192.0.2.7", "192.0.2.7", "ip")
    assert dns.asked == []


def test_well_known_with_a_port_is_final_and_the_certificate_names_the_delegated_host() -> None:
    dns = Dns({"example.com": "matrix.example.com:443"}, {"_matrix-fed._tcp.example.com": ("x", 1)})
    assert dns.endpoint("example.com") == (
        "matrix.example.com", 443, "matrix.example.com", "matrix.example.com:443", "well-known"
    )  # fmt: skip
    assert dns.asked == ["well-known example.com"]


def test_well_known_without_a_port_asks_srv_of_the_delegated_host_then_the_old_service() -> None:
    dns = Dns(
        {"example.com": "matrix.example.com"},
        {"_matrix._tcp.matrix.example.com": ("fed.example.net", 8449)},
    )
    assert dns.endpoint("example.com") == (
        "fed.example.net", 8449, "matrix.example.com", "matrix.example.com", "srv"
    )  # fmt: skip
    assert dns.asked == [
        "well-known example.com",
        "SRV _matrix-fed._tcp.matrix.example.com",
        "SRV _matrix._tcp.matrix.example.com",
    ]


def test_well_known_without_a_port_and_no_srv_goes_to_8448_of_the_delegated_host() -> None:
    dns = Dns({"example.com": "matrix.example.com"})
    assert dns.endpoint("example.com") == (
        "matrix.example.com", 8448, "matrix.example.com", "matrix.example.com", "default"
    )  # fmt: skip


def test_without_well_known_srv_of_the_server_name_is_asked_and_its_name_is_certified() -> None:
    dns = Dns(srv={"_matrix-fed._tcp.example.com": ("matrix.example.com", 443)})
    found = find_endpoint(parse_server_name("example.com"), dns.fetch, dns.srv)
    assert (found.host, found.port, found.tls_name, found.source) == (
        "matrix.example.com", 443, "example.com", "srv"
    )  # fmt: skip
    assert found.srv == SrvRecord("_matrix-fed._tcp.example.com", "matrix.example.com", 443)
    assert dns.asked == ["well-known example.com", "SRV _matrix-fed._tcp.example.com"]
    assert "answers 404" in found.how


def test_with_nothing_published_servers_try_the_server_name_on_8448() -> None:
    dns = Dns()
    assert dns.endpoint("example.com") == (
        "example.com", 8448, "example.com", "example.com", "default"
    )  # fmt: skip
    assert dns.asked == [
        "well-known example.com",
        "SRV _matrix-fed._tcp.example.com",
        "SRV _matrix._tcp.example.com",
    ]


def test_the_path_taken_reads_as_a_sentence() -> None:
    dns = Dns({"example.com": "matrix.example.com:443"})
    found = find_endpoint(parse_server_name("example.com"), dns.fetch, dns.srv)
    assert found.how == "example.com delegates to matrix.example.com:443 (.well-known)"


@pytest.mark.parametrize(
    ("text", "server"),
    [
        ("192.0.2.53", ("192.0.2.53", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("2001:db8::53", ("2001:db8::53", 53)),
        ("[2001:db8::53]:5353", ("2001:db8::53", 5353)),
        ("ns1.example.net", ("ns1.example.net", 53)),
    ],
)
def test_resolver_takes_an_address_and_an_optional_port(text: str, server: tuple[str, int]) -> None:
    assert parse_resolver(text) == server


@pytest.mark.parametrize("text", ["", "127.0.0.1:0", "127.0.0.1:dns", "ns 1"])
def test_a_bad_resolver_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="--resolver"):
        parse_resolver(text)
