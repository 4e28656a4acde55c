"""The words on screen: each answer named by the label of its field."""

import pytest

from screens.domain import DomainStep
from screens.widgets.choices import Choices
from tests.tui.conftest import (
    asynctest,
    go_on,
    settle,
    status_line,
    step,
    type_into,
    walk_to,
    wizard,
)

pytestmark = pytest.mark.tui


@asynctest
async def test_a_problem_on_the_domain_step_is_named_by_its_label() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        domain = await walk_to(pilot, DomainStep)
        await type_into(pilot, "#server-name", "")
        said = status_line(pilot.app)
        assert said.startswith("Server name: "), said
        assert "domain.server_name" not in said
        await type_into(pilot, "#server-name", "example.org")
        await type_into(pilot, "#homeserver-host", "-bad-.example.org")
        said = status_line(pilot.app)
        assert said.startswith("Homeserver host: "), said
        assert "domain." not in said
        assert not domain.valid


@asynctest
async def test_a_size_typed_wrong_on_the_machine_step_is_named_by_its_label() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        step(pilot.app).query_one("#mode", Choices).choose("plan")
        await pilot.pause()
        machine = await go_on(pilot)
        machine.query_one("#source", Choices).choose("hand")
        await pilot.pause()
        await type_into(pilot, "#cores", "2")
        await type_into(pilot, "#ram", "lots")
        await type_into(pilot, "#disk", "60G")
        said = status_line(pilot.app)
        assert said.startswith("RAM: "), said
        assert "plan.ram" not in said
