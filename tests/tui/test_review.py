"""Review: every answer, the warnings, and each file of the bundle without a secret on screen."""

from pathlib import Path

import pytest
from textual.widgets import DataTable, Static, TabbedContent, TextArea, Tree
from textual.widgets.tree import TreeNode

from screens.review import ReviewStep, answer_rows, language_for, machine_warnings
from screens.state import WizardState
from screens.widgets.choices import Choices
from tests.bundle_support import answers_for, facts_with
from tests.tui.conftest import asynctest, screen_text, settle, walk_to, wizard
from wizard.answers.secret_store import SECRETS_FILE
from wizard.bundle.model import PRIVATE

pytestmark = pytest.mark.tui


@asynctest
async def test_every_file_is_shown_with_every_secret_redacted(tmp_path: Path) -> None:
    app = wizard(WizardState(out_dir=str(tmp_path / "bundle")))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        review = await walk_to(pilot, ReviewStep)
        assert isinstance(review, ReviewStep)
        assert review.bundle is not None
        assert review.secrets is not None
        secrets = review.secrets.values()
        assert SECRETS_FILE in review.bundle
        assert any(file.mode == PRIVATE for file in review.bundle.values())
        review.query_one("#review-tabs", TabbedContent).active = "files-tab"
        await pilot.pause()
        viewer = review.query_one("#viewer", TextArea)
        for path, file in review.bundle.items():
            review.show_file(path)
            await pilot.pause()
            assert viewer.read_only
            assert viewer.language == language_for(path)
            assert not [secret for secret in secrets if secret in viewer.text], path
            if any(secret in file.text for secret in secrets):
                assert "<secret>" in viewer.text
            on_screen = screen_text(app)
            assert not [secret for secret in secrets if secret in on_screen], path


@asynctest
async def test_the_tree_lists_every_file_and_selecting_one_shows_it() -> None:
    async with wizard().run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        review = await walk_to(pilot, ReviewStep)
        assert isinstance(review, ReviewStep)
        assert review.bundle is not None
        tree: Tree[str] = review.query_one("#files", Tree)
        leaves = leaves_in_order(tree)
        assert sorted(leaves) == sorted(review.bundle)
        review.query_one("#review-tabs", TabbedContent).active = "files-tab"
        await pilot.pause()
        tree.focus()
        await pilot.pause()
        assert tree.cursor_node is not None
        assert tree.cursor_node.data == leaves[0] == "README.md"
        await pilot.press("down")
        await pilot.pause()
        assert review.query_one("#viewer", TextArea).border_title == leaves[1]


def leaves_in_order(tree: Tree[str]) -> list[str]:
    order: list[str] = []

    def walk(node: TreeNode[str]) -> None:
        if node.data is not None:
            order.append(node.data)
        for child in node.children:
            walk(child)

    walk(tree.root)
    return order


@asynctest
async def test_answers_and_warnings_are_listed() -> None:
    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        review = await walk_to(pilot, ReviewStep)
        table = review.query_one("#answers", DataTable)
        rows = {
            str(table.get_row_at(index)[0]): str(table.get_row_at(index)[1])
            for index in range(table.row_count)
        }
        assert rows["Server name"] == "example.com"
        assert rows["Homeserver"] == "synapse"
        assert "version" not in rows


@asynctest
async def test_open_registration_is_warned_about() -> None:
    from screens.extras import ExtrasStep

    async with wizard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        extras = await walk_to(pilot, ExtrasStep)
        extras.query_one("#registration", Choices).choose("open")
        await pilot.pause()
        review = await walk_to(pilot, ReviewStep)
        warnings = str(review.query_one("#warnings", Static).content)
        assert "open registration invites spam accounts" in warnings


def test_answer_rows_flatten_in_order() -> None:
    rows = answer_rows({"a": {"b": 1, "c": {"d": None}}, "e": "x"})
    assert rows == [("a.b", "1"), ("a.c.d", "(none)"), ("e", "x")]


def test_answer_rows_say_yes_no_and_empty_in_words() -> None:
    rows = answer_rows({"a": True, "b": False, "c": "", "d": 0})
    assert rows == [("a", "yes"), ("b", "no"), ("c", "(empty)"), ("d", "0")]


def test_review_warns_when_group_calls_take_the_machine_below_its_tier() -> None:
    """LiveKit's RAM is counted: a machine that just fits the tier no longer does with calls."""
    plain = answers_for(database="sqlite", homeserver__tier="minimum")
    calls = answers_for(
        database="sqlite",
        homeserver__tier="minimum",
        calls__matrix_rtc=True,
        calls__external_ip="203.0.113.10",
    )
    facts = facts_with(ram_gib=1, cores=1)
    assert machine_warnings(plain, facts) == []
    (warning,) = machine_warnings(calls, facts)
    assert "RAM 1.3 GiB" in warning
