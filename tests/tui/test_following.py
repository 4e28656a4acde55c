"""An answer the person never typed follows the answer it comes from; one they typed stays."""

from pathlib import Path

import pytest
import yaml
from textual.pilot import Pilot
from textual.widgets import Input

from screens.domain import DomainStep
from screens.extras import ExtrasStep
from screens.proxy import ProxyStep
from screens.step import StepPane
from screens.widgets.choices import Choices
from screens.write import WriteStep
from tests.tui.conftest import asynctest, go_back, go_on, settle, step, type_into, walk_to, wizard
from wizard.cli import main

pytestmark = pytest.mark.tui


async def back_to(pilot: Pilot[int], target: type[StepPane]) -> StepPane:
    """Go back step by step until the target step shows."""
    current = step(pilot.app)
    while not isinstance(current, target):
        current = await go_back(pilot)
    return current


async def on_to(pilot: Pilot[int], target: type[StepPane]) -> StepPane:
    """Go on step by step until the target step shows."""
    current = step(pilot.app)
    while not isinstance(current, target):
        current = await go_on(pilot)
    return current


async def change_domain(pilot: Pilot[int], server_name: str) -> None:
    """Go back to the Domain step, give another server_name, and come back to the Proxy step."""
    await back_to(pilot, DomainStep)
    await type_into(pilot, "#server-name", server_name)
    await on_to(pilot, ProxyStep)


def shown(pilot: Pilot[int], selector: str) -> str:
    """Return the text of an entry on the step shown."""
    return step(pilot.app).query_one(selector, Input).value


async def write_bundle(pilot: Pilot[int], out_dir: Path) -> dict[str, dict[str, object]]:
    """Go on to Write, write the bundle to out_dir, and return its answers."""
    write = await on_to(pilot, WriteStep)
    await type_into(pilot, "#out-dir", str(out_dir))
    await pilot.click("#write")
    await settle(pilot)
    assert write.valid
    answers: dict[str, dict[str, object]] = yaml.safe_load((out_dir / "answers.yaml").read_text())
    return answers


@asynctest
async def test_the_acme_email_follows_the_domain_until_typed(tmp_path: Path) -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await walk_to(pilot, ProxyStep, server_name="example.org")
        assert shown(pilot, "#acme-email") == "admin@example.org"

        await change_domain(pilot, "example.net")
        assert shown(pilot, "#acme-email") == "admin@example.net"
        out = tmp_path / "followed"
        answers = await write_bundle(pilot, out)
        assert answers["proxy"]["acme_email"] == "admin@example.net"
        assert answers["domain"]["homeserver_host"] == "matrix.example.net"
        assert "admin@example.net" in (out / "apply.sh").read_text()

        await back_to(pilot, ProxyStep)
        await type_into(pilot, "#acme-email", "ops@example.org")
        await change_domain(pilot, "example.com")
        assert shown(pilot, "#acme-email") == "ops@example.org"
        answers = await write_bundle(pilot, tmp_path / "typed")
        assert answers["proxy"]["acme_email"] == "ops@example.org"
        assert answers["domain"]["server_name"] == "example.com"


@asynctest
async def test_a_resumed_answers_file_lets_what_it_derived_follow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    given = ["--homeserver", "synapse", "--server-name", "example.org", "--set", "calls.turn=true"]
    machine = ["--set", "machine.cores=2", "--set", "machine.ram_mb=4096"]
    assert main(["answers", *given, *machine]) == 0
    answers_file = tmp_path / "answers.yaml"
    answers_file.write_text(capsys.readouterr().out)
    written = yaml.safe_load(answers_file.read_text())
    assert written["calls"]["turn_host"] == "turn.example.org"
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        step(pilot.app).query_one("#mode", Choices).choose("resume")
        await pilot.pause()
        await type_into(pilot, "#draft-path", str(answers_file))
        await go_on(pilot)
        await type_into(pilot, "#disk", "80G")
        await on_to(pilot, DomainStep)
        assert shown(pilot, "#homeserver-host") == "matrix.example.org"
        await type_into(pilot, "#server-name", "example.net")
        assert shown(pilot, "#homeserver-host") == "matrix.example.net"
        await on_to(pilot, ProxyStep)
        assert shown(pilot, "#acme-email") == "admin@example.net"
        await on_to(pilot, ExtrasStep)
        assert shown(pilot, "#turn-host") == ""
        answers = await write_bundle(pilot, tmp_path / "bundle")
    assert answers["calls"]["turn_host"] == "turn.example.net"
    assert answers["proxy"]["acme_email"] == "admin@example.net"
    assert answers["database"]["name"] == "synapse"
