"""Another homeserver keeps the answers that still apply, and says what it dropped and why."""

from pathlib import Path

import pytest
import yaml
from textual.pilot import Pilot
from textual.widgets import Input, Static

from screens.database import DatabaseStep
from screens.step import StepPane
from screens.tier import TierStep
from screens.widgets.choices import Choices
from tests.tui.conftest import (
    answers_file_says,
    asynctest,
    field_problem,
    go_back,
    go_on,
    settle,
    step,
    type_into,
    walk_to,
    wizard,
)

pytestmark = pytest.mark.tui

EXTERNAL = {"#host": "db.example.org", "#port": "5433", "#user": "matrix_owner"}


async def synapse_with_external_postgresql(pilot: Pilot[int]) -> DatabaseStep:
    """Walk a planning run to the Database step and give an external PostgreSQL for Synapse."""
    await settle(pilot)
    database = await walk_to(pilot, DatabaseStep)
    assert isinstance(database, DatabaseStep)
    for selector, value in EXTERNAL.items():
        await type_into(pilot, selector, value)
    assert database.valid
    return database


async def choose_homeserver(pilot: Pilot[int], kind: str) -> DatabaseStep:
    """Go on from Database, back to Tier, choose another homeserver, and on to Database."""
    await go_on(pilot)
    current: StepPane = step(pilot.app)
    while not isinstance(current, TierStep):
        current = await go_back(pilot)
    current.query_one("#kind", Choices).choose(kind)
    await pilot.pause()
    while not isinstance(current, DatabaseStep):
        current = await go_on(pilot)
    return current


def entries(database: DatabaseStep) -> dict[str, str]:
    """Return the text of the PostgreSQL entries."""
    return {selector: database.query_one(selector, Input).value for selector in EXTERNAL}


def dropped_notice(pane: StepPane) -> str:
    """Return what the step says a change of homeserver dropped, or ""."""
    found = pane.query("#step-dropped")
    return str(found.first(Static).content) if found else ""


@asynctest
async def test_dendrite_keeps_synapses_external_postgresql() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await synapse_with_external_postgresql(pilot)
        database = await choose_homeserver(pilot, "dendrite")
        assert database.query_one("#kind", Choices).selected == "postgresql"
        assert entries(database) == EXTERNAL
        # The external database is named as it was: it exists by that name.
        assert database.query_one("#name", Input).value == "synapse"
        assert dropped_notice(database) == ""
        assert database.valid


@asynctest
async def test_conduit_drops_postgresql_and_says_why() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await synapse_with_external_postgresql(pilot)
        database = await choose_homeserver(pilot, "conduit")
        assert database.query_one("#kind", Choices).selected == "rocksdb"
        assert dropped_notice(database) == (
            "Conduit has no PostgreSQL support: it keeps its data in its built-in store, so the "
            "PostgreSQL host db.example.org, port 5433 and user matrix_owner were dropped"
        )
        assert database.valid
        # Said once: the notice is gone when the step is next built.
        await go_on(pilot)
        tier = await walk_back_to_tier(pilot)
        tier.query_one("#kind", Choices).choose("dendrite")
        await pilot.pause()
        while not isinstance(step(pilot.app), DatabaseStep):
            await go_on(pilot)
        assert dropped_notice(step(pilot.app)) == ""


async def walk_back_to_tier(pilot: Pilot[int]) -> TierStep:
    """Go back step by step to the Homeserver and tier step."""
    current = step(pilot.app)
    while not isinstance(current, TierStep):
        current = await go_back(pilot)
    return current


@asynctest
async def test_a_resumed_conduit_on_postgresql_is_refused_in_the_clis_words(
    tmp_path: Path,
) -> None:
    data = {
        "homeserver": {"kind": "conduit", "tier": "minimum"},
        "domain": {"server_name": "example.org"},
        "database": {"kind": "postgresql"},
        "machine": {"cores": 2, "ram_mb": 4096},
    }
    draft = tmp_path / "draft.yaml"
    draft.write_text(yaml.safe_dump(data))
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        step(pilot.app).query_one("#mode", Choices).choose("resume")
        await pilot.pause()
        await type_into(pilot, "#draft-path", str(draft))
        await go_on(pilot)
        await type_into(pilot, "#disk", "80G")
        while not isinstance(step(pilot.app), DatabaseStep):
            await go_on(pilot)
        database = step(pilot.app)
        assert field_problem(database, "database.kind") == answers_file_says(data)["database.kind"]
        assert not database.valid
        database.query_one("#kind", Choices).choose("rocksdb")
        await pilot.pause()
        assert database.valid
