"""The well-known documents and DNS records, parsed back from the rendered bundle."""

import json
from typing import Any

from tests.bundle_support import answers_for, context_for
from wizard.bundle import discovery
from wizard.bundle.context import RenderContext
from wizard.bundle.discovery import DnsRecord


def _ctx(**sets: Any) -> RenderContext:
    return context_for(answers_for(**sets))


def _documents(ctx: RenderContext) -> dict[str, Any]:
    files = discovery.render(ctx)
    prefix = "well-known/matrix/"
    return {
        path.removeprefix(prefix): json.loads(file.text)
        for path, file in files.items()
        if path.startswith(prefix)
    }


def _records(ctx: RenderContext, kind: str) -> list[DnsRecord]:
    return [record for record in discovery.dns_records(ctx) if record.type == kind]


def test_well_known_delegation_points_servers_at_the_homeserver_and_federation_port() -> None:
    documents = _documents(_ctx())
    assert documents["server"] == {"m.server": "matrix.example.com:8448"}
    assert documents["client"] == {"m.homeserver": {"base_url": "https://matrix.example.com"}}


def test_federation_on_443_is_what_the_server_file_names() -> None:
    documents = _documents(_ctx(proxy__federation_port=443))
    assert documents["server"] == {"m.server": "matrix.example.com:443"}


def test_client_base_url_has_no_trailing_slash_and_keeps_an_unusual_https_port() -> None:
    ctx = _ctx(deployment__ports__https=8443)
    base_url = _documents(ctx)["client"]["m.homeserver"]["base_url"]
    assert base_url == "https://matrix.example.com:8443"
    assert ctx.public_baseurl == base_url + "/"


def test_no_identity_server_is_advertised_without_one() -> None:
    assert "m.identity_server" not in _documents(_ctx())["client"]


def test_srv_delegation_writes_the_srv_record_and_no_server_file() -> None:
    ctx = _ctx(domain__delegation="srv")
    documents = _documents(ctx)
    assert "server" not in documents  # a server file would override the SRV record
    assert "client" in documents  # clients never read SRV records
    [srv] = _records(ctx, "SRV")
    assert srv.name == "_matrix-fed._tcp.example.com"
    assert (
        srv.zone_line() == "_matrix-fed._tcp.example.com. 3600 IN SRV 10 0 8448 matrix.example.com."
    )
    text = discovery.render(ctx)["dns-records.txt"].text
    assert srv.zone_line() in text
    assert "certificate must cover" in text


def test_srv_target_port_follows_the_federation_port() -> None:
    [srv] = _records(_ctx(domain__delegation="srv", proxy__federation_port=443), "SRV")
    assert srv.value == "10 0 443 matrix.example.com."


def test_no_srv_record_without_srv_delegation() -> None:
    assert _records(_ctx(), "SRV") == []
    assert "_matrix" not in discovery.render(_ctx())["dns-records.txt"].text


def test_no_well_known_when_the_server_name_is_the_homeserver_and_not_delegated() -> None:
    ctx = _ctx(domain__homeserver_host="example.com", domain__delegation="none")
    assert _documents(ctx) == {}
    assert list(discovery.render(ctx)) == ["dns-records.txt"]


def test_client_file_when_user_ids_name_another_host_even_without_delegation() -> None:
    documents = _documents(_ctx(domain__delegation="none"))
    assert documents == {"client": {"m.homeserver": {"base_url": "https://matrix.example.com"}}}


def test_an_explicit_port_in_the_server_name_means_no_delegation_lookup() -> None:
    ctx = _ctx(server_name="example.com:8449")
    assert "server" not in _documents(ctx)
    assert _records(_ctx(server_name="example.com:8449", domain__delegation="srv"), "SRV") == []


def test_address_records_cover_every_public_host() -> None:
    ctx = _ctx(calls__turn=True, domain__element_host="chat.example.com")
    names = [record.name for record in _records(ctx, "A")]
    assert names == ["example.com", "matrix.example.com", "turn.example.com", "chat.example.com"]
    assert [record.name for record in _records(ctx, "AAAA")] == names
    assert all(record.optional for record in _records(ctx, "AAAA"))
    assert all(record.value == discovery.IPV4_PLACEHOLDER for record in _records(ctx, "A"))


def test_turn_host_only_with_turn() -> None:
    names = {record.name for record in discovery.dns_records(_ctx())}
    assert "turn.example.com" not in names


def test_caa_hint_is_optional_and_only_for_acme() -> None:
    caa = _records(_ctx(), "CAA")
    assert caa and all(record.optional for record in caa)
    assert all("letsencrypt.org" in record.value for record in caa)
    external = _ctx(proxy__tls="external")
    assert _records(external, "CAA") == []


def test_dns_text_lists_every_record_as_a_zone_line() -> None:
    ctx = _ctx(calls__turn=True, domain__delegation="srv")
    text = discovery.render(ctx)["dns-records.txt"].text
    for record in discovery.dns_records(ctx):
        assert record.zone_line() in text
    assert discovery.IPV4_PLACEHOLDER in text


def test_rendering_is_deterministic() -> None:
    first = discovery.render(_ctx(calls__turn=True))
    second = discovery.render(_ctx(calls__turn=True))
    assert first == second
