"""FactsTable: a machine's facts as label and value rows, in the words of the text report."""

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from screens.advice import facts_on_screen
from wizard.fit import report
from wizard.fit.tiers import unknown_fact
from wizard.probe.facts import HostFacts

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
        ("Disk", facts_on_screen(report._disk_text(facts), facts.source)),
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


class FactsTable(Static):
    """The facts of one machine in two columns whose values wrap; outside text is never markup.

    One widget draws every row, so showing new facts redraws it rather than rebuilding rows.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"facts-table--label"}
    DEFAULT_CSS = """
    FactsTable { height: auto; }
    FactsTable > .facts-table--label { color: $text-muted; }
    """

    def __init__(self, facts: HostFacts | None = None, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self._facts = facts

    def on_mount(self) -> None:
        """Draw the facts given at the start."""
        self.show(self._facts)

    def show(self, facts: HostFacts | None) -> None:
        """Replace the rows with the facts of a machine, or clear them."""
        self._facts = facts
        if facts is None:
            self.update("")
            return
        table = Table.grid(padding=(0, 1))
        table.add_column(width=13, no_wrap=True)
        table.add_column(ratio=1)
        label_style = self.get_component_rich_style("facts-table--label")
        for label, value in fact_rows(facts):
            table.add_row(Text(label, style=label_style), Text(value))
        self.update(table)
