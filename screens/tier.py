"""Step 3, Homeserver and tier: how the machine fits each homeserver, and which to tune for."""

from dataclasses import replace

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from screens.state import Draft, WizardState
from screens.step import StepPane
from screens.widgets.choices import Choices
from screens.widgets.field import Field
from screens.widgets.notes import Notes
from wizard.answers.homeserver_change import kept_for
from wizard.answers.model import Homeserver, Problem, tuned_facts
from wizard.bundle.worker_plan import headline, layout_rows, notes, worker_plan
from wizard.errors import UsageError
from wizard.fit.extras import extra_load
from wizard.fit.tiers import (
    DISPLAY_NAMES,
    HOMESERVERS,
    LABELS,
    TIERS,
    ExtraLoad,
    Fit,
    Recommendation,
    TierCheck,
    borrowed_figures,
    fit,
    hardware_for,
    homeserver_name,
    load_tiers,
    recommend,
    tier_shortfall,
)

# homeserver.workers on screen: None lets the tier decide, the others say it outright.
WORKER_CHOICES = (("tier", "as the tier decides"), ("on", "on"), ("off", "off"))
WORKER_ANSWERS: dict[str, bool | None] = {"tier": None, "on": True, "off": False}
WORKERS_LEFT_OUT = (
    "Synapse workers, chosen on, are left out: they are a Synapse feature, so {name} runs "
    "without them. Choose Synapse again to keep them."
)


def worker_choice(answer: object) -> str:
    """Return the option standing for a homeserver.workers answer, as a draft may hold it.

    Earlier answers gave a count of workers, which the answers file reads as on above 0.
    """
    if isinstance(answer, bool):
        return "on" if answer else "off"
    if isinstance(answer, int):
        return "on" if answer > 0 else "off"
    return "tier"


def plan_text(lines: list[str], rows: list[tuple[str, str]], after: list[str]) -> RenderableType:
    """Return the workers' explanation: its sentences, and a duty beside each process kind.

    The duties sit in a column of their own, so a long one wraps beneath itself.
    """
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True)
    table.add_column(ratio=1)
    for who, duty in rows:
        table.add_row(who, duty)
    parts: list[RenderableType] = [Text(line) for line in lines]
    if rows:
        parts.append(Padding(table, (0, 0, 0, 2)))
    parts.extend(Text(line) for line in after)
    return Group(*parts)


def cell_text(check: TierCheck) -> str:
    """Return one cell of the fit table: met, what is lacking, or not defined."""
    if not check.defined:
        return "not defined"
    if check.met:
        edges = [LABELS[req.name] for req in check.requirements if req.at_edge or not req.known]
        return "meets" + (f" ({', '.join(edges)} at edge)" if edges else "")
    lacking = [
        LABELS[requirement.name]
        for requirement in check.requirements
        if requirement.hardware and not requirement.met
    ]
    return "lacks " + ", ".join(lacking)


def draft_load(draft: Draft, homeserver: str) -> ExtraLoad:
    """Return what the extras chosen so far need beside this homeserver (calls, MAS)."""
    calls, auth = draft.get("calls", {}), draft.get("auth", {})
    return extra_load(
        homeserver, matrix_rtc=bool(calls.get("matrix_rtc")), mas=bool(auth.get("mas"))
    )


def overview_note(homeserver: str) -> str:
    """Return the overview's notes on a homeserver: maturity, idle RAM and its status today."""
    tables = load_tiers()
    name = homeserver_name(homeserver)
    comparison = tables.comparison_for(name)
    borrowed = borrowed_figures(name)
    return (
        f"{DISPLAY_NAMES[name]}{f' ({borrowed})' if borrowed else ''}: {comparison.maturity}, "
        f"features {comparison.features}, idle RAM {comparison.idle_ram}, setup "
        f"{comparison.setup}. {tables.status.homeservers[name].summary}"
    )


def borrowed_note() -> str:
    """Say which rows of the fit table are another homeserver's figures, and whose."""
    borrowing = [name for name in HOMESERVERS if borrowed_figures(name)]
    if not borrowing:
        return ""
    names = " and ".join(DISPLAY_NAMES[name] for name in borrowing)
    whose = {DISPLAY_NAMES[load_tiers().figures_for(name)] for name in borrowing}
    return (
        f"The overview has no figures for {names}: their rows are the overview's figures "
        f"for {' and '.join(sorted(whose))}, which they succeed."
    )


class TierStep(StepPane):
    """Show the fit of every homeserver and tier; pick the homeserver and the tier to tune for."""

    STEP_NAME = "Homeserver and tier"
    HELP = "tier"
    DEPENDS_ON = ("mode", "facts")
    SECTIONS = ("homeserver",)
    # The fit table above takes Enter to pick a cell: the step starts on the homeserver's list.
    FIRST_FOCUS = "#kind"

    def __init__(
        self, state: WizardState, *, position: int, count: int, earlier: tuple[str, ...]
    ) -> None:
        super().__init__(state, position=position, count=count, earlier=earlier)
        self.fits: dict[str, Fit] = {}
        self.recommendation: Recommendation | None = None
        if state.facts is not None:
            self.fits = {
                name: fit(state.facts, name, draft_load(state.draft, name)) for name in HOMESERVERS
            }
            self.recommendation = recommend(state.facts)

    def _defaults(self) -> tuple[str, str]:
        entered = self.view()["homeserver"]
        rec = self.recommendation
        kind = entered.get("kind") or (rec.best if rec and rec.best else None)
        if kind is None:
            kind = rec.ranking[0].homeserver if rec else "synapse"
        reached = self.fits[kind].tier if kind in self.fits else "minimum"
        tier = entered.get("tier") or ("minimum" if reached == "below-minimum" else reached)
        return str(kind), str(tier)

    def compose_form(self) -> ComposeResult:
        """Lay out the recommendation, the fit table, the notes and the two choices."""
        kind, tier = self._defaults()
        rec = self.recommendation
        yield Static(
            rec.summary if rec else "No machine facts: pick by hand.", id="summary", markup=False
        )
        table: DataTable[Text] = DataTable(id="fit-table", cursor_type="cell", zebra_stripes=True)
        yield table
        yield Static(borrowed_note(), id="borrowed", classes="why", markup=False)
        yield Field(
            Choices([(name, DISPLAY_NAMES[name]) for name in HOMESERVERS], kind, id="kind"),
            path="homeserver.kind",
        )
        yield Field(
            Choices([(name, name) for name in TIERS], tier, id="tier", horizontal=True),
            path="homeserver.tier",
        )
        yield Static("", id="tier-warning", markup=False)
        yield Field(
            Choices(
                WORKER_CHOICES,
                worker_choice(self.view()["homeserver"].get("workers")),
                id="workers",
                horizontal=True,
            ),
            path="homeserver.workers",
            id="workers-field",
        )
        yield Static("", id="workers-plan", markup=False)
        yield Notes(id="reasons")
        yield Notes(
            "\n".join(overview_note(name) for name in HOMESERVERS), id="notes", labelled=True
        )
        if rec is not None and rec.below_minimum:
            yield Static("\n".join(rec.advice), id="advice", markup=False)

    def on_mount(self) -> None:
        """Fill the fit table."""
        table = self.query_one("#fit-table", DataTable)
        table.add_column(Text("Homeserver"), key="homeserver")
        for tier in TIERS:
            table.add_column(Text(tier.capitalize()), key=tier)
        for name in HOMESERVERS:
            if name not in self.fits:
                continue
            cells = [Text(cell_text(check)) for check in self.fits[name].checks]
            table.add_row(Text(DISPLAY_NAMES[name]), *cells, key=name)
        self._explain()

    def _choice(self) -> tuple[str, str]:
        kind = self.query_one("#kind", Choices).selected or "synapse"
        tier = self.query_one("#tier", Choices).selected or "recommended"
        return kind, tier

    def _workers(self) -> bool | None:
        """Return homeserver.workers as chosen: None unless Synapse is told on or off."""
        if self._choice()[0] != "synapse":
            return None
        return WORKER_ANSWERS[self.query_one("#workers", Choices).selected or "tier"]

    def _explain_workers(self) -> None:
        """Show the workers' choice for Synapse, and what it gives on the machine tuned for.

        For another homeserver, workers chosen on are said to be left out, and why.
        """
        kind = self._choice()[0]
        synapse = kind == "synapse"
        self.query_one("#workers-field").display = synapse
        shown = self.query_one("#workers-plan", Static)
        if not synapse:
            left_out = self.query_one("#workers", Choices).selected == "on"
            shown.display = left_out
            if left_out:
                shown.update(WORKERS_LEFT_OUT.format(name=DISPLAY_NAMES[homeserver_name(kind)]))
            return
        plan = worker_plan(self.checked, tuned_facts(self.checked)) if self.checked else None
        shown.display = synapse and plan is not None
        if synapse and plan is not None:
            shown.update(plan_text([headline(plan)], layout_rows(plan), notes(plan)))

    def _explain(self) -> None:
        kind, tier = self._choice()
        facts = self.state.facts
        extra = draft_load(self.state.draft, kind)
        lacking = tier_shortfall(facts, kind, tier, extra) if facts is not None else ""
        warning = f"Warning: {lacking}" if lacking else ""
        self.query_one("#tier-warning", Static).update(warning)
        self.query_one("#tier-warning", Static).display = bool(warning)
        reasons = ""
        if self.recommendation is not None:
            choice = next(item for item in self.recommendation.ranking if item.homeserver == kind)
            reasons = f"Why {DISPLAY_NAMES[choice.homeserver]} ranks #{choice.rank}:\n" + "\n".join(
                f"  - {reason}" for reason in choice.reasons
            )
        self.query_one("#reasons", Static).update(reasons)

    def form(self) -> Draft:
        """Return the homeserver section with the chosen homeserver, tier and workers."""
        kind, tier = self._choice()
        return {
            "homeserver": {
                **self.view()["homeserver"],
                "kind": kind,
                "tier": tier,
                "workers": self._workers(),
            }
        }

    def form_changed(self) -> None:
        """Explain the choice, then check it."""
        self._explain()
        self.revalidate()

    def revalidate(self) -> None:
        """Check the choice, then explain Synapse's workers for the answers as checked."""
        super().revalidate()
        self._explain_workers()

    def step_problems(self) -> list[Problem]:
        """Refuse a tier the overview does not define for the homeserver."""
        kind, tier = self._choice()
        try:
            hardware_for(kind, tier)
        except UsageError as error:
            return [Problem(path="homeserver.tier", message=str(error))]
        return []

    @on(DataTable.CellSelected, "#fit-table")
    def _cell_selected(self, event: DataTable.CellSelected) -> None:
        kind = event.cell_key.row_key.value
        tier = event.cell_key.column_key.value
        if kind:
            self.query_one("#kind", Choices).choose(kind)
        if tier in TIERS:
            self.query_one("#tier", Choices).choose(tier)

    def hand_back(self, state: WizardState) -> WizardState:
        """Return the state with the homeserver; the other answers keep what applies to it.

        What the new homeserver cannot take is dropped, and its step says what and why.
        """
        previous = (state.draft.get("homeserver") or {}).get("kind")
        kind = self._choice()[0]
        if previous is not None and previous != kind:
            draft, dropped = kept_for(state.draft, Homeserver(kind))
            state = replace(state, draft=draft, dropped={**state.dropped, **dropped})
        return super().hand_back(state)
