"""Moving about the wizard: back keeps entries, skipped steps, help, drafts, quitting, mouse."""

from pathlib import Path

import pytest
import yaml
from textual.widgets import Button, Input, Markdown, Static

from screens.app import WizardApp
from screens.database import DatabaseStep
from screens.dialogs import HelpDialog, QuitDialog, without_heading
from screens.domain import DomainStep
from screens.draft import DRAFT_HEADER
from screens.machine import MachineStep
from screens.proxy import ProxyStep
from screens.state import DEFAULT_DRAFT_FILE, Mode, WizardState
from screens.step import StepPane
from screens.steps import STEPS
from screens.tier import TierStep
from screens.widgets.choices import Choices
from screens.write import WriteStep
from tests.tui.conftest import (
    assert_generate_reproduces,
    asynctest,
    field_problem,
    go_back,
    go_on,
    refused,
    screen_text,
    settle,
    steady,
    step,
    type_into,
    walk_to,
    wizard,
)
from wizard.answers.model import parse_answers
from wizard.cli import main
from wizard.paths import asset

pytestmark = pytest.mark.tui


def title(shown: StepPane) -> str:
    return str(shown.screen.query_one("#title-bar", Static).content)


def test_the_step_list_agrees_with_each_step() -> None:
    for entry in STEPS:
        screen = entry.pane_class()
        assert entry.sections == screen.SECTIONS
        assert asset(f"help/{screen.HELP}.md").is_file()


@asynctest
async def test_going_back_and_forth_keeps_entries_even_invalid_ones() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        domain = await walk_to(pilot, DomainStep)
        await type_into(pilot, "#server-name", "no-dot")
        assert not domain.valid
        for _ in range(3):
            await go_back(pilot)
        assert isinstance(step(pilot.app), MachineStep)
        for _ in range(2):
            await go_on(pilot)
        domain = await go_on(pilot)
        assert isinstance(domain, DomainStep)
        assert domain.query_one("#server-name", Input).value == "no-dot"
        assert field_problem(domain, "domain.server_name") is not None
        await type_into(pilot, "#server-name", "example.net")
        database = await go_on(pilot)
        database.query_one("#kind", Choices).choose("sqlite")
        await pilot.pause()
        await go_back(pilot)
        database = await go_on(pilot)
        assert database.query_one("#kind", Choices).selected == "sqlite"


@asynctest
async def test_another_homeserver_keeps_a_database_it_can_use_and_drops_one_it_cannot() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        database = await walk_to(pilot, DatabaseStep)
        database.query_one("#kind", Choices).choose("sqlite")
        await pilot.pause()
        for kind, kept in (("conduit", "sqlite"), ("tuwunel", "rocksdb")):
            for _ in range(3):
                await go_back(pilot)
            tier = step(pilot.app)
            assert isinstance(tier, TierStep)
            tier.query_one("#kind", Choices).choose(kind)
            await pilot.pause()
            database = await walk_to(pilot, DatabaseStep)
            assert database.query_one("#kind", Choices).selected == kept


@asynctest
async def test_enter_on_resume_moves_to_the_draft_file_it_reveals(tmp_path: Path) -> None:
    (tmp_path / DEFAULT_DRAFT_FILE).write_text(yaml.safe_dump({"homeserver": {"kind": "synapse"}}))
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        welcome = step(pilot.app)
        modes = welcome.query_one("#mode", Choices)
        modes.focus()
        assert modes.selected is not None
        moves = modes.values.index(Mode.RESUME.value) - modes.values.index(modes.selected)
        await pilot.press(*["down"] * moves)
        await pilot.press("enter")
        await settle(pilot)
        assert step(pilot.app) is welcome
        assert modes.selected == Mode.RESUME.value
        assert pilot.app.focused is welcome.query_one("#draft-path", Input)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(step(pilot.app), MachineStep)


@asynctest
async def test_a_resumed_draft_can_change_its_machine_and_homeserver(tmp_path: Path) -> None:
    draft = tmp_path / "answers.yaml"
    data = {
        "homeserver": {"kind": "conduit", "tier": "minimum"},
        "domain": {"server_name": "example.org"},
        "machine": {"cores": 1, "ram_mb": 1024},
    }
    draft.write_text(yaml.safe_dump(data))
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        welcome = step(pilot.app)
        welcome.query_one("#mode", Choices).choose("resume")
        await pilot.pause()
        await type_into(pilot, "#draft-path", str(draft))
        machine = await go_on(pilot)
        assert isinstance(machine, MachineStep)
        assert "Step 2 of 11: Machine" in title(machine)
        assert machine.query_one("#cores", Input).value == "1"
        await type_into(pilot, "#cores", "4")
        await type_into(pilot, "#ram", "8G")
        await type_into(pilot, "#disk", "80G")  # not in a draft: the free disk is asked again
        tier = await go_on(pilot)
        assert isinstance(tier, TierStep)
        assert tier.query_one("#kind", Choices).selected == "conduit"
        tier.query_one("#kind", Choices).choose("synapse")
        await pilot.pause()
        domain = await walk_to(pilot, DomainStep)
        assert domain.query_one("#server-name", Input).value == "example.org"
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.click("#replace")
        await settle(pilot)
    saved = yaml.safe_load(draft.read_text())
    assert saved["homeserver"]["kind"] == "synapse"
    assert saved["machine"] == {"cores": 4, "ram_mb": 8192}


@asynctest
async def test_resuming_a_complete_draft_reproduces_its_bundle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = tmp_path / "answers.yaml"
    assert (
        main(
            [
                "answers",
                "--homeserver",
                "synapse",
                "--server-name",
                "example.org",
                "--set",
                "machine.cores=4",
                "--set",
                "machine.ram_mb=8192",
                "--set",
                "proxy.federation_ca_path=/etc/ssl/private-federation/ca.pem",
            ]
        )
        == 0
    )
    answers.write_text(capsys.readouterr().out)
    out = tmp_path / "bundle"
    async with wizard(WizardState(out_dir=str(out))).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        step(pilot.app).query_one("#mode", Choices).choose("resume")
        await pilot.pause()
        await type_into(pilot, "#draft-path", str(answers))
        await go_on(pilot)
        await type_into(pilot, "#disk", "80G")  # a draft does not keep the free disk
        while not isinstance(step(pilot.app), WriteStep):
            assert step(pilot.app).valid, step(pilot.app).status
            await go_on(pilot)
        await pilot.click("#write")
        await settle(pilot)
        assert step(pilot.app).valid
    written, _ = parse_answers(yaml.safe_load((out / "answers.yaml").read_text()))
    given, _ = parse_answers(yaml.safe_load(answers.read_text()))
    assert written == given
    assert_generate_reproduces(out, tmp_path, capsys)


@asynctest
async def test_f1_shows_the_steps_help_and_escape_returns() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        proxy = await walk_to(pilot, ProxyStep)
        await pilot.press("f1")
        await pilot.pause()
        dialog = pilot.app.screen
        assert isinstance(dialog, HelpDialog)
        shown = dialog.query_one(Markdown).source
        assert shown == without_heading(asset("help/proxy.md").read_text(encoding="utf-8"))
        await pilot.press("escape")
        await pilot.pause()
        assert step(pilot.app) is proxy


@asynctest
async def test_ctrl_s_saves_a_partial_draft_that_resumes(tmp_path: Path) -> None:
    draft = tmp_path / "draft.yaml"
    async with wizard(WizardState(draft_path=draft)).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await walk_to(pilot, DomainStep)
        await type_into(pilot, "#server-name", "not-yet")
        await pilot.press("ctrl+s")
        await pilot.pause()
    text = draft.read_text()
    assert text.startswith(DRAFT_HEADER)
    saved = yaml.safe_load(text)
    assert saved["domain"]["server_name"] == "not-yet"
    assert saved["homeserver"]["kind"] == "synapse"
    assert "database" not in saved

    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        step(pilot.app).query_one("#mode", Choices).choose("resume")
        await pilot.pause()
        await type_into(pilot, "#draft-path", str(draft))
        await go_on(pilot)
        await type_into(pilot, "#disk", "80G")  # a draft does not keep the free disk
        for _ in range(3):  # Machine, Tier and Deployment show what the draft holds
            await go_on(pilot)
        domain = step(pilot.app)
        assert isinstance(domain, DomainStep)
        assert domain.query_one("#server-name", Input).value == "not-yet"
        assert not domain.valid


@asynctest
async def test_ctrl_s_saves_a_valid_answers_file_once_complete(tmp_path: Path) -> None:
    draft = tmp_path / "draft.yaml"
    async with wizard(WizardState(draft_path=draft)).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await walk_to(pilot, ProxyStep, server_name="complete.example.org")
        await pilot.press("ctrl+s")
        await pilot.pause()
    answers, _ = parse_answers(yaml.safe_load(draft.read_text()))
    assert answers.domain.server_name == "complete.example.org"


@asynctest
async def test_ctrl_q_asks_first_when_answers_are_unsaved() -> None:
    app = wizard()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await walk_to(pilot, DomainStep)
        await type_into(pilot, "#server-name", "unsaved.example.org")
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, QuitDialog)
        await pilot.click("#stay")
        await pilot.pause()
        assert isinstance(step(app), DomainStep)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.return_code is None
        await pilot.click("#discard")
        await pilot.pause()
        assert app.return_code == 0


@asynctest
async def test_ctrl_q_quits_at_once_with_nothing_to_lose() -> None:
    app = wizard()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.return_code is None
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.return_code == 0


@asynctest
async def test_the_mouse_drives_the_steps() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        welcome = step(pilot.app)
        modes = welcome.query_one("#mode", Choices)
        await pilot.click(modes, offset=(2, modes.values.index("plan")))
        await pilot.pause()
        assert modes.selected == "plan"
        await pilot.click("#next")
        await settle(pilot)
        assert isinstance(step(pilot.app), MachineStep)
        await pilot.click("#back")
        await settle(pilot)
        assert step(pilot.app) is welcome
        await pilot.click("KeyBar", offset=(2, 0))
        await settle(pilot)
        assert isinstance(step(pilot.app), MachineStep)


@asynctest
async def test_enter_goes_on_from_a_field_and_from_a_choice() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        domain = await walk_to(pilot, DomainStep)
        domain.query_one("#server-name", Input).focus()
        await type_into(pilot, "#server-name", "enter.example.org")
        await pilot.press("enter")
        await settle(pilot)
        database = step(pilot.app)
        assert isinstance(database, DatabaseStep)
        database.query_one("#kind", Choices).focus()
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(step(pilot.app), ProxyStep)
        await go_back(pilot)
        assert step(pilot.app).query_one("#kind", Choices).selected == "sqlite"


@asynctest
async def test_next_is_greyed_in_the_footer_until_the_step_is_valid() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        domain = await walk_to(pilot, DomainStep)
        assert domain.screen.check_action("next", ()) is None
        assert domain.screen.query_one("#next", Button).disabled
        await type_into(pilot, "#server-name", "example.org")
        assert domain.screen.check_action("next", ()) is True
        assert not domain.screen.query_one("#next", Button).disabled


@asynctest
async def test_markup_in_what_is_typed_is_shown_as_written() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        domain = await walk_to(pilot, DomainStep)
        await type_into(pilot, "#server-name", "[bold red]x")
        assert await refused(pilot)
        problem = field_problem(domain, "domain.server_name")
        assert problem is not None
        assert "[bold red]x" in problem
        assert "[bold red]x" in screen_text(pilot.app)


@asynctest
async def test_both_themes_and_both_sizes_render_every_step_reached() -> None:
    for theme in ("textual-dark", "textual-light"):
        app = wizard()
        async with app.run_test(size=(120, 40)) as pilot:
            app.theme = theme
            await settle(pilot)
            await walk_to(pilot, ProxyStep)
            assert "Step 7 of 11: Proxy and TLS" in screen_text(app)


def test_a_wizard_app_builds_without_a_terminal() -> None:
    app = WizardApp()
    assert app.state == WizardState()


@asynctest
async def test_each_step_first_shown_starts_at_its_top_with_its_first_control_focused() -> None:
    app = wizard()
    async with app.run_test(size=(80, 24)) as pilot:
        await steady(pilot)
        shown = step(app)
        while not isinstance(shown, WriteStep):
            if isinstance(shown, DomainStep):
                await type_into(pilot, "#server-name", "example.com")
            shown = await go_on(pilot)
            await steady(pilot)
            assert shown.scroll_offset.y == 0, f"{shown.STEP_NAME} opened scrolled down"
            assert app.focused is not None and shown in app.focused.ancestors_with_self


@asynctest
async def test_a_terminal_too_small_is_named_and_the_notice_goes_when_it_grows() -> None:
    app = wizard()
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(pilot)
        notice = app.screen.query_one("#too-small", Static)
        assert notice.display
        said = str(notice.content)
        assert said.startswith("This terminal is 60x20; the wizard is made for 80x24")
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert not notice.display
        assert "Step 1 of 11: Welcome" in screen_text(app)
