"""Element Web in the bundle: config.json, the refusals, the container, apply.sh and the README.

Element Web's files are in no registry this project reaches (npm has no element-web package,
Debian none either), so nothing here runs Element Web: config.json is checked against the
keys its configuration docs name (below), and tests/integration/test_element_web_proxies.py
serves the bundle's config.json through the real proxies.
"""

import json
from typing import Any

import pytest
import yaml

from tests.bundle_support import answers_for, context_for
from tests.conftest import run_cli
from wizard.answers.model import AnswersError
from wizard.bundle import (
    apply_script,
    caddy,
    compose,
    element_web,
    native,
    nginx,
    readme,
    traefik,
    versions,
)
from wizard.bundle.context import RenderContext

ELEMENT = "element.example.com"

# The top-level keys of Element Web's config.json, from element-web's docs/config.md in its
# snake_case form (the 1.11/1.12 line: `element_call` with `guest_spa_url`, `oidc_static_clients`,
# `force_verification`), read with the project's document search; the exact revision of the
# pinned v1.12.32 was not among the stored copies. Only keys the bundle may write are needed.
DOCUMENTED_KEYS = frozenset(
    {
        "default_server_config",
        "default_server_name",
        "disable_custom_urls",
        "features",
        "show_labs_settings",
        "default_federate",
        "default_country_code",
        "room_directory",
        "setting_defaults",
        "default_theme",
        "default_device_display_name",
        "brand",
        "permalink_prefix",
        "disable_3pid_login",
        "disable_login_language_selector",
        "disable_guests",
        "element_call",
        "jitsi",
        "voip",
        "sso_redirect_options",
        "oidc_static_clients",
        "map_style_url",
        "embedded_pages",
        "branding",
        "report_event",
        "help_url",
    }
)
# m.homeserver in default_server_config: the well-known client document's base_url, and the
# server_name Element Web shows (docs/config.md).
HOMESERVER_KEYS = frozenset({"base_url", "server_name"})


def _ctx(**sets: Any) -> RenderContext:
    return context_for(answers_for(domain__element_host=ELEMENT, **sets))


def _config(ctx: RenderContext) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(element_web.render(ctx)[element_web.CONFIG_FILE].text)
    return document


def test_config_json_points_at_this_server_with_documented_keys_only() -> None:
    ctx = _ctx()
    document = _config(ctx)
    assert set(document) <= DOCUMENTED_KEYS
    homeserver = document["default_server_config"]["m.homeserver"]
    assert set(homeserver) <= HOMESERVER_KEYS
    assert homeserver == {"base_url": "https://matrix.example.com", "server_name": "example.com"}
    assert document["disable_custom_urls"] is False
    assert document["show_labs_settings"] is False
    assert "default_country_code" not in document  # the answers do not know the country
    assert "element_call" not in document  # no MatrixRTC backend in the answers


def test_config_json_turns_on_element_call_with_matrix_rtc() -> None:
    document = _config(_ctx(calls__matrix_rtc=True, calls__external_ip="203.0.113.7"))
    assert set(document) <= DOCUMENTED_KEYS
    assert document["element_call"] == {"use_exclusively": True}
    assert document["features"] == dict.fromkeys(element_web.GROUP_CALL_FEATURES, True)


def test_config_json_names_a_port_other_than_443() -> None:
    document = _config(_ctx(deployment__ports__https=8443))
    assert document["default_server_config"]["m.homeserver"]["base_url"] == (
        "https://matrix.example.com:8443"
    )


def test_no_element_web_without_its_host() -> None:
    ctx = context_for(answers_for())
    assert element_web.render(ctx) == {}
    assert "element" not in nginx.render_config(ctx)
    assert element_web.SERVICE not in compose.services(ctx)
    assert "## Element Web" not in readme.readme_text(ctx)


@pytest.mark.parametrize(
    ("host", "taken"),
    [("example.com", "the server_name"), ("matrix.example.com", "the homeserver host")],
)
def test_element_web_on_a_homeserver_host_is_refused_with_the_reason(host: str, taken: str) -> None:
    with pytest.raises(AnswersError) as caught:
        answers_for(domain__element_host=host)
    message = str(caught.value)
    assert message.startswith("domain.element_host: ")
    assert f"must not share {taken} ({host})" in message
    assert "element.example.com" in message  # a host that would do


def test_native_traefik_is_refused_with_what_to_choose_instead() -> None:
    with pytest.raises(AnswersError) as caught:
        answers_for(proxy="traefik", deployment__kind="native", domain__element_host=ELEMENT)
    assert str(caught.value).startswith("proxy.kind: Traefik cannot serve Element Web's files")
    assert "choose nginx or Caddy, or the compose deployment" in str(caught.value)
    answers_for(proxy="traefik", deployment__kind="compose", domain__element_host=ELEMENT)


def test_compose_runs_the_pinned_image_with_config_json_and_the_proxy_waits_for_it() -> None:
    ctx = _ctx()
    services = compose.services(ctx)
    service = services[element_web.SERVICE]
    assert service["image"] == f"vectorim/element-web:v{versions.ELEMENT_WEB_VERSION}"
    assert service["environment"] == {"ELEMENT_WEB_PORT": str(element_web.CONTAINER_PORT)}
    assert service["volumes"] == [
        f"{ctx.install_dir}/{element_web.CONFIG_FILE}:{element_web.CONTAINER_CONFIG}:ro"
    ]
    assert "ports" not in service  # reached through the proxy only
    assert element_web.SERVICE in services["nginx"]["depends_on"]
    assert compose.service_files(ctx)[element_web.SERVICE] == [element_web.CONFIG_FILE]


@pytest.mark.parametrize("kind", ["native", "compose"])
def test_certbot_asks_for_the_element_host_when_dns_allows(kind: str) -> None:
    ctx = _ctx(deployment__kind=kind)
    assert (ELEMENT, "element") in nginx.certificate_names(ctx)
    assert ELEMENT in nginx.certbot_domains(ctx)


def test_each_proxy_sends_the_element_host_to_element_web() -> None:
    native_nginx = nginx.render_config(_ctx(deployment__kind="native"))
    assert f"server_name {ELEMENT};" in native_nginx
    assert "element-web/element-v" in native_nginx
    compose_caddy = caddy.render_caddyfile(_ctx(proxy="caddy"))
    assert f"reverse_proxy {element_web.upstream()}" in compose_caddy
    dynamic = traefik.dynamic_config(_ctx(proxy="traefik"))["http"]
    assert dynamic["routers"][element_web.SERVICE]["rule"] == f"Host(`{ELEMENT}`)"
    assert dynamic["services"][element_web.SERVICE]["loadBalancer"]["servers"] == [
        {"url": f"http://{element_web.upstream()}"}
    ]
    assert yaml.safe_dump(dynamic).count("&id") == 0  # no shared objects: plain YAML


def test_native_apply_installs_the_pinned_release_and_takes_a_local_tarball() -> None:
    ctx = _ctx(deployment__kind="native")
    script = apply_script.apply_script(ctx)
    assert f"\nELEMENT_WEB_ROOT={element_web.web_root(ctx)}\n" in script
    assert f"\nELEMENT_WEB_URL={element_web.tarball_url()}\n" in script
    assert element_web.tarball_url().endswith(
        f"/v{versions.ELEMENT_WEB_VERSION}/element-v{versions.ELEMENT_WEB_VERSION}.tar.gz"
    )
    assert "--element-web-tarball=FILE" in script
    assert "tar" in native.apt_packages(ctx)


def test_the_readme_says_where_element_web_is_and_what_is_trusted() -> None:
    native_text = readme.readme_text(_ctx(deployment__kind="native"))
    assert f"| Element Web | https://{ELEMENT} |" in native_text
    assert "no checksum of it is pinned here" in native_text
    assert "--element-web-tarball=" in native_text
    compose_text = readme.readme_text(_ctx(proxy__tls="files", **_files()))
    assert versions.ELEMENT_WEB_IMAGE in compose_text
    assert f"must cover `{ELEMENT}` too" in compose_text


def _files() -> dict[str, str]:
    return {"proxy__cert_path": "/etc/ssl/chain.pem", "proxy__key_path": "/etc/ssl/key.pem"}


def test_the_command_line_takes_an_element_host_and_refuses_a_bad_one_in_one_line() -> None:
    base = ("answers", "--homeserver", "synapse", "--server-name", "example.com")
    taken = run_cli(*base, "--set", "domain.element_host=matrix.example.com")
    assert taken.returncode == 2
    assert taken.stderr.count("\n") == 1 and "Traceback" not in taken.stderr
    assert "Element Web must not share the homeserver host" in taken.stderr
    given = run_cli(*base, "--set", f"domain.element_host={ELEMENT}")
    assert given.returncode == 0, given.stderr
    assert yaml.safe_load(given.stdout)["domain"]["element_host"] == ELEMENT
