"""The words on screen: each answer named by its label, and yes or no for its value."""

import pytest
from textual.widgets import DataTable

from screens.domain import DomainStep
from screens.review import ReviewStep
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


def answers_listed(review: ReviewStep) -> list[tuple[str, str]]:
    """Return the Answers tab's rows as they read, name and value, in order."""
    table = review.query_one("#answers", DataTable)
    return [
        (str(table.get_row_at(index)[0]), str(table.get_row_at(index)[1]))
        for index in range(table.row_count)
    ]


@asynctest
async def test_a_problem_on_the_domain_step_is_named_by_its_label() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        domain = await walk_to(pilot, DomainStep)
        await type_into(pilot, "#server-name", "")
        await pilot.press("ctrl+n")  # trying to go on shows the problems
        await pilot.pause()
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
        await pilot.press("ctrl+n")  # trying to go on shows the problems
        await pilot.pause()
        said = status_line(pilot.app)
        assert said.startswith("RAM: "), said
        assert "plan.ram" not in said


@asynctest
async def test_review_lists_answers_by_label_in_yes_and_no_with_the_rest_apart() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        review = await walk_to(pilot, ReviewStep)
        assert isinstance(review, ReviewStep)
        rows = answers_listed(review)
        heading = rows.index(("Not asked on screen", "from defaults or the answers file"))
        asked, not_asked = dict(rows[:heading]), dict(rows[heading + 1 :])
        in_order = list(asked)
        assert in_order[:4] == ["Homeserver", "Tune for tier", "Synapse workers", "Run it with"]
        assert asked["Server name"] == "example.com"
        assert asked["Nightly backups"] == "yes"
        assert asked["TURN server"] == "no"
        assert asked["Use SQLite at production anyway"] == "no"
        assert not_asked["homeserver.report_stats"] == "no"
        assert not_asked["deployment.ports.http"] == "80"
        assert "domain.server_name" not in asked and "Server name" not in not_asked
        values = [value for _, value in rows]
        assert "True" not in values and "False" not in values
