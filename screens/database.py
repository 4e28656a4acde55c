"""Step 6, Database: only what the homeserver supports, with the overview's warnings."""

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Checkbox, Input, Static

from screens import validation
from screens.state import Draft
from screens.step import StepPane
from screens.widgets.choices import Choices
from screens.widgets.entry import Entry
from screens.widgets.field import Field
from screens.widgets.notes import Notes
from screens.words import label
from wizard.answers.model import (
    SUPPORTED_DATABASES,
    DatabaseKind,
    Homeserver,
    Problem,
    Tier,
    warnings,
)
from wizard.bundle.migrate import move_cost
from wizard.fit.tiers import DISPLAY_NAMES, homeserver_name, load_tiers

# The answers file reports this at homeserver.workers; here it is said beside the database.
WORKERS_NEED_POSTGRESQL = (
    "Synapse workers are on (step Homeserver and tier) and need PostgreSQL: choose "
    "postgresql, or go back and set workers to off or as the tier decides"
)


def database_label(homeserver: Homeserver, kind: DatabaseKind) -> str:
    """Return a database choice with the overview's word on it for this homeserver."""
    name = homeserver_name(homeserver.value)
    if kind is DatabaseKind.ROCKSDB:
        only = SUPPORTED_DATABASES[homeserver] == (kind,)
        which = "its only one" if only else "the default"
        return f"rocksdb: {DISPLAY_NAMES[name]}'s own store, {which}"
    tables = load_tiers()
    support = tables.databases.homeservers[tables.figures_for(name)]
    said = support.sqlite if kind is DatabaseKind.SQLITE else support.postgresql
    return f"{kind.value}: the overview says {said.lower()}"


class DatabaseStep(StepPane):
    """Pick the database among those the homeserver supports; PostgreSQL may be external."""

    STEP_NAME = "Database"
    HELP = "database"
    SECTIONS = ("database",)
    BUILT_FROM = ("homeserver",)

    def compose_form(self) -> ComposeResult:
        """Lay out the choices, the warnings, the SQLite acceptance and PostgreSQL's details."""
        view = self.view()
        self.homeserver = Homeserver(view["homeserver"]["kind"])
        self.tier = Tier(view["homeserver"]["tier"])
        self.workers_chosen = view["homeserver"].get("workers")
        database = view["database"]
        # A draft may hold a database the homeserver cannot use: it is checked, and refused
        # with the reason, until another is chosen.
        self.entered_kind = str(database.get("kind") or "")
        supported = SUPPORTED_DATABASES[self.homeserver]
        yield Static(
            f"The databases {DISPLAY_NAMES[self.homeserver.value]} can use:", classes="why"
        )
        yield Field(
            Choices(
                [(kind.value, database_label(self.homeserver, kind)) for kind in supported],
                str(database.get("kind")),
                id="kind",
            ),
            path="database.kind",
        )
        yield Notes(id="database-warnings", labelled=True)
        yield Notes(id="database-move", labelled=True)
        yield Checkbox(
            label("database.accept_sqlite_in_production"),
            bool(database.get("accept_sqlite_in_production")),
            id="accept-sqlite",
        )
        with Vertical(id="postgres"):
            yield Field(
                Entry(
                    str(database.get("host") or ""),
                    id="host",
                    placeholder="empty: the bundle runs its own PostgreSQL",
                    validators=[validation.host_name(optional=True)],
                ),
                path="database.host",
                why="leave empty to run PostgreSQL beside the homeserver, unpublished",
            )
            yield Field(Entry(str(database.get("port", 5432)), id="port"), path="database.port")
            yield Field(
                Entry(str(database.get("name", "")), id="name"),
                path="database.name",
            )
            yield Field(Entry(str(database.get("user", "")), id="user"), path="database.user")

    def on_mount(self) -> None:
        """Show only what applies to the chosen database."""
        self._arrange()

    def _kind(self) -> str:
        return self.query_one("#kind", Choices).selected or self.entered_kind

    def _arrange(self) -> None:
        kind = self._kind()
        self.query_one("#postgres").display = kind == DatabaseKind.POSTGRESQL.value
        self.query_one("#accept-sqlite").display = (
            self.homeserver is Homeserver.SYNAPSE
            and self.tier is Tier.PRODUCTION
            and kind == DatabaseKind.SQLITE.value
        )

    def _value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value.strip()

    def form(self) -> Draft:
        """Return the database section as entered."""
        kind = self._kind()
        section: dict[str, object] = {
            "kind": kind,
            "accept_sqlite_in_production": self.query_one("#accept-sqlite", Checkbox).value,
        }
        if kind == DatabaseKind.POSTGRESQL.value:
            section.update(
                host=self._value("host") or None,
                port=self._value("port"),
                name=self._value("name"),
                user=self._value("user"),
            )
        return {"database": section}

    def step_problems(self) -> list[Problem]:
        """Refuse a database other than PostgreSQL when Synapse's workers were turned on."""
        if self.workers_chosen and self._kind() != DatabaseKind.POSTGRESQL.value:
            return [Problem(path="database.kind", message=WORKERS_NEED_POSTGRESQL)]
        return []

    def form_changed(self) -> None:
        """Show what applies to the choice, then check again."""
        self._arrange()
        self.revalidate()

    def revalidate(self) -> None:
        """Check again, then show the overview's warnings on the choice."""
        super().revalidate()
        said = []
        if self.checked is not None:
            said = [text for text in warnings(self.checked) if "SQLite" in text]
        box = self.query_one("#database-warnings", Static)
        box.update("\n".join(f"Warning: {text}" for text in said))
        box.display = bool(said)
        kind = self._kind()
        known = kind in {choice.value for choice in DatabaseKind}
        cost = move_cost(self.homeserver, DatabaseKind(kind)) if known else None
        move = self.query_one("#database-move", Static)
        move.update(f"{label('plan.sqlite_move')}: {cost}" if cost else "")
        move.display = cost is not None
