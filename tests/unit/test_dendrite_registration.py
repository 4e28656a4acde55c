"""Dendrite's sign-up as a real Dendrite showed it: no tokens, and create-account's prompt."""

from typing import Any

import pytest
import yaml

from tests.bundle_support import answers_for, context_for
from wizard.answers.model import AnswersError, parse_answers
from wizard.bundle import dendrite, readme


def base(homeserver: str, mode: str) -> dict[str, Any]:
    return {
        "homeserver": {"kind": homeserver},
        "domain": {"server_name": "example.com"},
        "registration": {"mode": mode},
    }


def test_registration_by_token_is_refused_for_dendrite_which_would_not_check_tokens() -> None:
    with pytest.raises(AnswersError) as caught:
        parse_answers(base("dendrite", "token"))
    problems = [str(problem) for problem in caught.value.problems]
    assert len(problems) == 1
    assert problems[0].startswith("registration.mode: Dendrite does not check registration tokens")
    assert "create-account" in problems[0]


@pytest.mark.parametrize("homeserver", ["synapse", "conduit"])
def test_registration_by_token_stays_for_homeservers_that_check_tokens(homeserver: str) -> None:
    answers, _ = parse_answers(base(homeserver, "token"))
    assert answers.registration.mode.value == "token"


@pytest.mark.parametrize(
    ("mode", "flags"), [("closed", []), ("open", ["-really-enable-open-registration"])]
)
def test_only_open_registration_turns_registration_on(mode: str, flags: list[str]) -> None:
    ctx = context_for(answers_for("dendrite", registration__mode=mode))
    client = yaml.safe_load(dendrite.render(ctx)[dendrite.CONFIG_FILE].text)["client_api"]
    assert client["registration_disabled"] is (mode == "closed")
    assert "registration_requires_token" not in client
    assert dendrite.start_flags(ctx) == flags


def test_the_readme_says_create_account_takes_the_name_and_asks_for_the_password() -> None:
    ctx = context_for(answers_for("dendrite"))
    text = readme.render(ctx)[readme.README].text
    assert "with your name in place of YOURNAME; it asks for a password" in text
    assert "asks for a name" not in text


def test_open_registration_on_dendrite_is_told_to_close_not_to_use_tokens() -> None:
    ctx = context_for(answers_for("dendrite", registration__mode="open"))
    text = readme.render(ctx)[readme.README].text
    assert "Registration is open to anyone: watch for spam accounts, or close it." in text
    assert "switch to tokens" not in text
