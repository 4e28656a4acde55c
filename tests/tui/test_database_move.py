"""The Database step says what moving from SQLite to PostgreSQL costs, for Synapse only."""

import pytest
from textual.widgets import Static

from screens.database import DatabaseStep
from screens.tier import TierStep
from screens.widgets.choices import Choices
from screens.words import label
from tests.tui.conftest import asynctest, settle, walk_to, wizard

pytestmark = pytest.mark.tui


@asynctest
async def test_postgresql_for_synapse_says_the_disk_and_downtime_of_a_move_from_sqlite() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        database = await walk_to(pilot, DatabaseStep)
        note = database.query_one("#database-move", Static)
        database.query_one("#kind", Choices).choose("postgresql")
        await pilot.pause()
        said = str(note.content)
        assert note.display
        assert said.startswith(f"{label('plan.sqlite_move')}: ")
        assert "3 x the SQLite file" in said
        assert "Synapse is down for the final port" in said
        database.query_one("#kind", Choices).choose("sqlite")
        await pilot.pause()
        assert not note.display


@asynctest
async def test_dendrite_hears_nothing_of_the_move() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        tier = await walk_to(pilot, TierStep)
        tier.query_one("#kind", Choices).choose("dendrite")
        await pilot.pause()
        database = await walk_to(pilot, DatabaseStep)
        database.query_one("#kind", Choices).choose("postgresql")
        await pilot.pause()
        assert not database.query_one("#database-move", Static).display
