"""FactsTable: a machine's facts as label and value rows, in the words of the text report."""

from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import Static

from wizard import report
from wizard.facts import HostFacts
from wizard.tiers import unknown_fact

SOURCES = {
    "local": "this machine",
    "ssh": "a machine reached over SSH",
    "profile": "a machine profile",
    "manual": "a machine described by hand",
}


def fact_rows(facts: HostFacts) -> list[tuple[str, str]]:
    """Return the facts worth showing for where they came from, as label and value."""
    rows = [
        ("Machine", SOURCES[facts.source]),
        ("CPU", report._cpu_text(facts)),
        ("RAM", report._ram_text(facts)),
        ("Disk", report._disk_text(facts)),
    ]
    if facts.source in ("local", "ssh"):
        rows[1:1] = [("Hostname", facts.hostname or unknown_fact(facts, "hostname", "system"))]
        rows += [
            ("System", report._system_text(facts)),
            ("Rights", report._rights_text(facts)),
            ("Ports in use", report._ports_text(facts)),
            ("Tools", report._tools_text(facts)),
        ]
    return rows


class FactsTable(Grid):
    """The facts of one machine in two columns whose values wrap; outside text is never markup."""

    DEFAULT_CSS = """
    FactsTable { grid-size: 2; grid-columns: 14 1fr; grid-rows: auto; height: auto; }
    FactsTable > .fact-label { color: $text-muted; }
    """

    def __init__(self, facts: HostFacts | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._facts = facts

    def compose(self) -> ComposeResult:
        """Lay out one label and value per fact."""
        if self._facts is None:
            return
        for label, value in fact_rows(self._facts):
            yield Static(label, classes="fact-label", markup=False)
            yield Static(value, classes="fact-value", markup=False)

    async def show(self, facts: HostFacts | None) -> None:
        """Replace the rows with the facts of a machine, or clear them."""
        self._facts = facts
        await self.recompose()
