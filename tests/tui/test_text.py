"""Text at 80 columns: counts agree with their nouns, and long lines wrap under their own text."""

import re

import pytest
from textual.widget import Widget
from textual.widgets import Static

from screens.domain import DomainStep
from screens.done import DoneStep
from screens.proxy import TLS_MODES, ProxyStep
from screens.tier import TierStep
from screens.widgets.field import Field
from screens.write import WriteStep
from tests.tui.conftest import (
    asynctest,
    plan_state,
    screen_lines,
    settle,
    walk_to,
    wizard,
)
from wizard.verify.checks import CheckResult

pytestmark = pytest.mark.tui

# A line that starts a note: its indent, a bullet or a label, then its text.
NOTE_START = re.compile(r"^(\s*)(- |\w[\w ()'-]*: |Why )")


def indent(line: str) -> int:
    """Return how many spaces a line starts with."""
    return len(line) - len(line.lstrip(" "))


def shown_lines(lines: list[str], widget: Widget) -> list[str]:
    """Return the lines of the screen a widget covers, cut to its columns."""
    region = widget.region
    return [line[region.x : region.right] for line in lines[region.y : region.bottom]]


def one_line(lines: list[str]) -> str:
    """Return lines as one line, with every run of spaces made one."""
    return " ".join(" ".join(lines).split())


def hangs(lines: list[str]) -> bool:
    """Return whether every line that goes on from the one before starts further in than it."""
    wrapped = False
    start = 0
    for line in lines:
        if not line.strip():
            continue
        if NOTE_START.match(line):
            start = indent(line)
            continue
        wrapped = True
        if indent(line) <= start:
            return False
    return wrapped


@asynctest
async def test_long_choices_wrap_under_their_own_text_at_80_columns() -> None:
    app = wizard(plan_state())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        proxy = await walk_to(pilot, ProxyStep)
        lines = shown_lines(screen_lines(app), proxy.query_one("#tls"))
        shown = one_line(lines)
        for _, label in TLS_MODES:
            assert label in shown
        assert "…" not in shown
        acme = next(index for index, line in enumerate(lines) if "ACME:" in line)
        assert indent(lines[acme + 1]) == lines[acme].index("ACME:")


@asynctest
async def test_the_tier_steps_notes_and_reasons_wrap_under_their_own_text() -> None:
    app = wizard(plan_state())
    async with app.run_test(size=(80, 60)) as pilot:
        await settle(pilot)
        tier = await walk_to(pilot, TierStep)
        lines = screen_lines(app)
        assert hangs(shown_lines(lines, tier.query_one("#reasons")))
        notes = shown_lines(lines, tier.query_one("#notes"))
        assert hangs(notes)
        dendrite = next(index for index, line in enumerate(notes) if "Dendrite: " in line)
        assert indent(notes[dendrite + 1]) == notes[dendrite].index("Stable")


@asynctest
async def test_a_fields_notes_wrap_under_their_own_text() -> None:
    app = wizard(plan_state())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        domain = await walk_to(pilot, DomainStep)
        field = next(field for field in domain.query(Field) if field.path == "domain.delegation")
        lines = shown_lines(screen_lines(app), field.query_one(".detail"))
        assert hangs(lines)
        srv = next(index for index, line in enumerate(lines) if line.lstrip().startswith("SRV: "))
        assert indent(lines[srv + 1]) == indent(lines[srv]) + len("SRV: ")


@asynctest
async def test_the_dns_records_notes_wrap_under_their_own_text() -> None:
    app = wizard(plan_state())
    async with app.run_test(size=(80, 60)) as pilot:
        await settle(pilot)
        await walk_to(pilot, WriteStep)
        await pilot.click("#write")
        await settle(pilot)
        done = await walk_to(pilot, DoneStep)
        records = shown_lines(screen_lines(app), done.query_one("#dns"))
        ipv6 = next(index for index, line in enumerate(records) if "(only if" in line)
        assert indent(records[ipv6 + 1]) == records[ipv6].index("optional:")


@asynctest
async def test_every_checks_detail_is_shown_whole_at_80_columns() -> None:
    app = wizard(plan_state())
    async with app.run_test(size=(80, 120)) as pilot:
        await settle(pilot)
        write = await walk_to(pilot, WriteStep)
        await pilot.click("#write")
        await settle(pilot)
        assert isinstance(write, WriteStep) and write.results
        table = shown_lines(screen_lines(app), write.query_one("#checks"))
        details_start = table[0].index("Detail")
        details = "".join("".join(line[details_start:].split()) for line in table)
        for result in write.results:
            last = result.detail.strip().splitlines()[-1] if result.detail.strip() else ""
            assert "".join(last.split()) in details, f"{result.file}: {last!r} is cut"


@asynctest
async def test_failed_checks_are_counted_with_a_noun_that_agrees() -> None:
    app = wizard(plan_state())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        write = await walk_to(pilot, WriteStep)
        assert isinstance(write, WriteStep)
        await pilot.click("#write")
        await settle(pilot)
        assert write.written is not None
        write.check_finished(CheckResult("nginx/matrix.conf", "nginx -t", "failed", "bad"))
        write.write_finished(write.written)
        said = str(write.query_one("#write-status", Static).content)
        count = re.search(r"\n(\d+) (checks?) failed:", said)
        assert count is not None, said
        assert count.group(2) == ("check" if count.group(1) == "1" else "checks")
