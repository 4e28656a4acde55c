"""Any answers give a bundle whose files parse back to the chosen values, or a clear error."""

import json
import tomllib
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.bundle_support import FIXED_SECRETS
from wizard.answers.model import Answers, AnswersError, parse_answers
from wizard.bundle.model import Bundle
from wizard.bundle.render import render
from wizard.errors import WizardError

labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
good_names = st.builds(lambda a, b: f"{a}.{b}", labels, st.sampled_from(["com", "org", "net"]))
server_names = st.one_of(good_names, good_names, good_names, st.text(max_size=20))

answers_data = st.fixed_dictionaries(
    {
        "homeserver": st.fixed_dictionaries(
            {
                "kind": st.sampled_from(
                    ["synapse", "dendrite", "conduit", "continuwuity", "tuwunel"]
                ),
                "tier": st.sampled_from(["minimum", "recommended", "production"]),
            }
        ),
        "domain": st.fixed_dictionaries(
            {
                "server_name": server_names,
                "delegation": st.sampled_from(["well-known", "srv", "none"]),
            }
        ),
        "database": st.fixed_dictionaries(
            {"kind": st.sampled_from(["sqlite", "postgresql", "rocksdb"])}
        ),
        "proxy": st.fixed_dictionaries(
            {
                "kind": st.sampled_from(["nginx", "caddy", "traefik"]),
                "tls": st.sampled_from(["acme", "external"]),
                "federation_port": st.sampled_from([443, 8448]),
            }
        ),
        "media": st.fixed_dictionaries({"max_upload_mb": st.integers(-5, 5000)}),
        "calls": st.fixed_dictionaries({"turn": st.booleans()}),
        "registration": st.fixed_dictionaries(
            {"mode": st.sampled_from(["closed", "token", "open"])}
        ),
        "monitoring": st.fixed_dictionaries({"prometheus": st.booleans()}),
        "deployment": st.fixed_dictionaries({"kind": st.sampled_from(["compose", "native"])}),
    }
)


def parsed(path: str, text: str) -> Any:
    if path.endswith((".yaml", ".yml")) or path == "log.config" or path.endswith("log.config"):
        return yaml.safe_load(text)
    if path.endswith(".toml"):
        return tomllib.loads(text)
    if path.endswith(".json") or path.startswith("well-known/"):
        return json.loads(text)
    return None


def homeserver_settings(answers: Answers, bundle: Bundle) -> dict[str, Any]:
    kind = answers.homeserver.kind.value
    if kind == "synapse":
        data: dict[str, Any] = yaml.safe_load(bundle["synapse/homeserver.yaml"].text)
        return {"server_name": data["server_name"]}
    if kind == "dendrite":
        data = yaml.safe_load(bundle["dendrite/dendrite.yaml"].text)
        return {"server_name": data["global"]["server_name"]}
    data = tomllib.loads(bundle[f"{kind}/{kind}.toml"].text)
    return {"server_name": data["global"]["server_name"]}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers_data)
def test_any_answers_render_files_that_parse_back(data: dict[str, Any]) -> None:
    try:
        answers, _ = parse_answers(data)
    except AnswersError as error:
        event("refused by validation")
        assert error.problems and all(str(problem) for problem in error.problems)
        return
    try:
        bundle = render(answers, None, FIXED_SECRETS)
    except WizardError as error:
        event("refused by the renderer")
        assert error.message and "Traceback" not in str(error)
        return
    event("rendered")
    for path, file in bundle.items():
        parsed(path, file.text)  # every structured file parses
    assert homeserver_settings(answers, bundle)["server_name"] == answers.domain.server_name
    assert yaml.safe_load(bundle["answers.yaml"].text) == answers.model_dump(mode="json")
    if "well-known/matrix/server" in bundle:
        server = json.loads(bundle["well-known/matrix/server"].text)
        assert server["m.server"].startswith(answers.domain.homeserver_host + ":")
    for path, file in bundle.items():
        if file.mode & 0o077:
            for secret in FIXED_SECRETS.values():
                assert secret not in file.text, f"{path} is readable by others and holds a secret"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers_data)
def test_rendering_is_deterministic(data: dict[str, Any]) -> None:
    try:
        answers, _ = parse_answers(data)
        first = render(answers, None, FIXED_SECRETS)
    except WizardError:
        return
    assert render(answers, None, FIXED_SECRETS) == first
