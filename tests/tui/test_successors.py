"""Choosing continuwuity or tuwunel on the Tier step, on to a written bundle `generate` remakes."""

import tomllib
from pathlib import Path

import pytest
import yaml
from textual.widgets import DataTable, Static

from screens.database import DatabaseStep
from screens.deployment import DeploymentStep
from screens.extras import ExtrasStep
from screens.tier import TierStep
from screens.widgets.choices import Choices
from tests.tui.conftest import (
    assert_generate_reproduces,
    asynctest,
    field_problem,
    go_on,
    screen_text,
    settle,
    step,
    walk_to,
    wizard,
)
from tests.tui.test_flow import review_write_and_finish

pytestmark = pytest.mark.tui

SUCCESSORS = ["continuwuity", "tuwunel"]


@pytest.mark.parametrize("name", SUCCESSORS)
@asynctest
async def test_choosing_a_successor_runs_on_to_its_own_bundle(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bundle"
    display = name.capitalize()
    app = wizard()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        tier = await walk_to(pilot, TierStep)
        assert "their rows are the overview's figures for Conduit" in str(
            tier.query_one("#borrowed", Static).content
        )
        tier.query_one("#kind", Choices).choose(name)
        await pilot.pause()
        reasons = " ".join(str(tier.query_one("#reasons", Static).content).split())
        assert f"Why {display} ranks" in reasons
        assert "the overview's figures for Conduit: maturity Beta" in reasons
        assert "Actively developed" in reasons
        tier.query_one("#tier", Choices).choose("production")
        await pilot.pause()
        assert field_problem(tier, "homeserver.tier") is not None  # Conduit has no production
        tier.query_one("#tier", Choices).choose("recommended")
        await pilot.pause()
        assert tier.valid

        deployment = await go_on(pilot)
        assert isinstance(deployment, DeploymentStep)
        deployment.query_one("#kind", Choices).choose("native")
        await pilot.pause()
        needs = " ".join(str(deployment.query_one("#needs", Static).content).split())
        assert f"the {display} binary is put in place by hand" in needs

        database = await walk_to(pilot, DatabaseStep)
        kinds = database.query_one("#kind", Choices)
        assert kinds.selected == "rocksdb"
        assert f"rocksdb: {display}'s own store, its only one" in screen_text(app)

        extras = await walk_to(pilot, ExtrasStep)
        for mode in ("open", "token"):
            extras.query_one("#registration", Choices).choose(mode)
            await pilot.pause()
            said = field_problem(extras, "registration.mode") or ""
            assert ("refuses to start with registration open" in said) is (mode == "open")
        assert extras.valid
        await review_write_and_finish(pilot, out)
    assert app.return_code == 0
    assert_native_token_bundle(out, name)
    assert_generate_reproduces(out, tmp_path, capsys)


def assert_native_token_bundle(out: Path, name: str) -> None:
    """Check the written bundle runs the successor natively, on RocksDB, sign-up by token."""
    saved = yaml.safe_load((out / "answers.yaml").read_text())
    kinds = [saved[section]["kind"] for section in ("homeserver", "database", "deployment")]
    assert kinds == [name, "rocksdb", "native"]
    config = tomllib.loads((out / name / f"{name}.toml").read_text())["global"]
    assert config["allow_registration"] is True and config["registration_token"]
    assert (out / "systemd" / f"{name}.service").is_file()


@asynctest
async def test_the_tier_step_says_where_each_homeserver_stands() -> None:
    async with wizard().run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        tier = await walk_to(pilot, TierStep)
        notes = " ".join(str(tier.query_one("#notes", Static).content).split())
        assert "Dendrite: Stable" in notes and "Element X works poorly with it" in notes
        assert "still on the 0.10.x line" in notes
        for name in ("Continuwuity", "Tuwunel"):
            assert f"{name} (the overview's figures for Conduit): Beta" in notes
        rows = [row.value for row in tier.query_one("#fit-table", DataTable).rows]
        assert rows == ["synapse", "dendrite", "conduit", "continuwuity", "tuwunel"]
        assert isinstance(step(pilot.app), TierStep)
