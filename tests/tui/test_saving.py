"""Saving never loses what a person kept: no file replaced unasked, no bundle written by a draft."""

from pathlib import Path

import yaml
from textual.widgets import Button, Static

from screens.dialogs import QuitDialog, ReplaceDialog
from screens.domain import DomainStep
from screens.machine import MachineStep
from screens.state import DEFAULT_DRAFT_FILE, Mode, WizardState
from screens.widgets.choices import Choices
from tests.tui.conftest import (
    asynctest,
    dialog_on_screen,
    go_on,
    settle,
    step,
    type_into,
    walk_to,
    wizard,
)
from wizard.cli import main

EARLIER_DRAFT = {"homeserver": {"kind": "dendrite"}, "domain": {"server_name": "kept.example"}}


def _earlier_draft(path: Path) -> str:
    """Write a draft as an earlier run would have, and return its text."""
    text = yaml.safe_dump(EARLIER_DRAFT)
    path.write_text(text)
    return text


@asynctest
async def test_ctrl_s_asks_before_replacing_a_draft_it_did_not_write(tmp_path: Path) -> None:
    draft = tmp_path / DEFAULT_DRAFT_FILE
    earlier = _earlier_draft(draft)
    app = wizard(WizardState(draft_path=draft))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await walk_to(pilot, DomainStep)
        await pilot.press("ctrl+s")
        dialog = await dialog_on_screen(pilot, ReplaceDialog)
        asked = str(dialog.query_one("#replace-what", Static).content)
        assert str(draft) in asked and str(tmp_path / "matrix-wizard-draft-2.yaml") in asked
        assert app.focused is dialog.query_one("#beside", Button)
        await pilot.press("escape")
        await pilot.pause()
        assert draft.read_text() == earlier

        await pilot.press("ctrl+s")
        await dialog_on_screen(pilot, ReplaceDialog)
        await pilot.press("enter")
        await settle(pilot)
        beside = tmp_path / "matrix-wizard-draft-2.yaml"
        assert draft.read_text() == earlier
        assert yaml.safe_load(beside.read_text())["homeserver"]["kind"] == "synapse"
        assert f"Draft saved to {beside}" in _toasts(app)

        # The file it wrote now is its own: saving again replaces it without asking.
        await type_into(pilot, "#server-name", "again.example")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, ReplaceDialog)
        assert yaml.safe_load(beside.read_text())["domain"]["server_name"] == "again.example"


@asynctest
async def test_replace_on_the_dialog_replaces_the_earlier_draft(tmp_path: Path) -> None:
    draft = tmp_path / DEFAULT_DRAFT_FILE
    _earlier_draft(draft)
    app = wizard(WizardState(draft_path=draft))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await walk_to(pilot, DomainStep)
        await pilot.press("ctrl+s")
        await dialog_on_screen(pilot, ReplaceDialog)
        await pilot.click("#replace")
        await settle(pilot)
    assert yaml.safe_load(draft.read_text())["homeserver"]["kind"] == "synapse"
    assert not (tmp_path / "matrix-wizard-draft-2.yaml").exists()


@asynctest
async def test_save_and_quit_asks_too_and_quits_once_saved(tmp_path: Path) -> None:
    draft = tmp_path / DEFAULT_DRAFT_FILE
    earlier = _earlier_draft(draft)
    app = wizard(WizardState(draft_path=draft))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await walk_to(pilot, DomainStep)
        await type_into(pilot, "#server-name", "typed.example")
        await pilot.press("ctrl+q")
        await dialog_on_screen(pilot, QuitDialog)
        await pilot.click("#save")
        await dialog_on_screen(pilot, ReplaceDialog)
        assert app.return_code is None
        await pilot.click("#beside")
        await settle(pilot)
        assert app.return_code == 0
    assert draft.read_text() == earlier
    beside = tmp_path / "matrix-wizard-draft-2.yaml"
    assert yaml.safe_load(beside.read_text())["domain"]["server_name"] == "typed.example"


@asynctest
async def test_a_draft_resumed_from_a_bundle_is_saved_beside_it(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    answers = tmp_path / "answers.yaml"
    answers.write_text(yaml.safe_dump({**EARLIER_DRAFT, "machine": {"cores": 2, "ram_mb": 4096}}))
    assert main(["generate", "--answers", str(answers), "--out", str(bundle)]) == 0
    written = (bundle / "answers.yaml").read_text()
    app = wizard()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        step(app).query_one("#mode", Choices).choose("resume")
        await pilot.pause()
        await type_into(pilot, "#draft-path", str(bundle / "answers.yaml"))
        await go_on(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, ReplaceDialog)
    assert (bundle / "answers.yaml").read_text() == written
    beside = tmp_path / DEFAULT_DRAFT_FILE
    assert yaml.safe_load(beside.read_text())["domain"] == yaml.safe_load(written)["domain"]


@asynctest
async def test_ctrl_q_asks_once_a_host_is_typed() -> None:
    app = wizard(WizardState(mode=Mode.REMOTE))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await go_on(pilot)
        assert isinstance(step(app), MachineStep)
        await type_into(pilot, "#host", "vps.example.org")
        await pilot.press("ctrl+q")
        await dialog_on_screen(pilot, QuitDialog)
        assert app.return_code is None


@asynctest
async def test_ctrl_q_asks_once_plan_figures_are_typed() -> None:
    app = wizard(WizardState(mode=Mode.PLAN))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await go_on(pilot)
        step(app).query_one("#source", Choices).choose("hand")
        await pilot.pause()
        await type_into(pilot, "#cores", "3")
        await pilot.press("ctrl+q")
        await dialog_on_screen(pilot, QuitDialog)
        assert app.return_code is None


def _toasts(app: object) -> str:
    """Return the text of every notification shown so far."""
    from textual.app import App

    assert isinstance(app, App)
    return "\n".join(str(notification.message) for notification in app._notifications)
