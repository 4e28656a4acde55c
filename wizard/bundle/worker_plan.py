"""Synapse's workers as the steps explain them: the layout a bundle would get, in words.

The layout is the tuning's (tuning_for), from the answers and the machine they name, so what the
Homeserver and tier step and the Review step say is what the bundle gets. Synapse's
docs/workers.md recommends a single process for small instances, and every worker is one more
process with its own caches (beyond-the-overview.md, "Workers"), so below Synapse's production
tier the words say one process is recommended there.
"""

from dataclasses import dataclass

from wizard.answers.model import Answers, DatabaseKind, Homeserver, Tier
from wizard.bundle.tuning import tier_cores, tier_ram, tuning_for
from wizard.bundle.worker_layout import MAIN_DUTY, ROLES, Worker, of_role, role_count
from wizard.fit.tiers import RAM_TOLERANCE
from wizard.probe.facts import HostFacts
from wizard.units import format_cores, format_size


@dataclass(frozen=True)
class WorkerPlan:
    """Whether Synapse runs workers for some answers, which ones, and for what machine."""

    workers: tuple[Worker, ...]  # the workers the bundle gets; none: one process
    chosen: bool | None  # homeserver.workers as answered; None lets the tier decide
    tier: Tier
    postgresql: bool  # whether the database is PostgreSQL, which workers need
    cores: int  # the cores and RAM the layout is sized to
    ram: int
    small: bool  # below Synapse's production tier in cores or RAM

    @property
    def runs(self) -> bool:
        """Return whether Synapse runs workers."""
        return bool(self.workers)

    @property
    def processes(self) -> int:
        """Return how many Synapse processes run: the main one and every worker."""
        return 1 + len(self.workers)


def below_production(cores: int, ram: int) -> bool:
    """Return whether cores and RAM fall below Synapse's production tier, as the fit table reads.

    RAM up to RAM_TOLERANCE under the tier's still meets it, as in the fit table.
    """
    needed_ram = tier_ram(Homeserver.SYNAPSE, Tier.PRODUCTION)
    needed_cores = tier_cores(Homeserver.SYNAPSE, Tier.PRODUCTION)
    return cores < needed_cores or ram < needed_ram * (1 - RAM_TOLERANCE)


def worker_plan(answers: Answers, facts: HostFacts | None) -> WorkerPlan | None:
    """Return Synapse's worker plan for the answers and the machine; None for other homeservers.

    Pass the machine the bundle is tuned for (answers.tuned_facts), as rendering does.
    """
    if answers.homeserver.kind is not Homeserver.SYNAPSE:
        return None
    tuned = tuning_for(answers, facts)
    return WorkerPlan(
        workers=tuned.workers,
        chosen=answers.homeserver.workers,
        tier=answers.homeserver.tier,
        postgresql=answers.database.kind is DatabaseKind.POSTGRESQL,
        cores=tuned.cores,
        ram=tuned.ram,
        small=below_production(tuned.cores, tuned.ram),
    )


def layout_rows(plan: WorkerPlan) -> list[tuple[str, str]]:
    """Return one row per process kind, the main process first: who, and what it does."""
    if not plan.runs:
        return []
    rows = [("main process", MAIN_DUTY)]
    for role, spec in ROLES.items():
        count = len(of_role(plan.workers, role))
        if count:
            rows.append((role_count(role, count), spec.duty))
    return rows


def _machine(cores: int, ram: int) -> str:
    return f"{format_cores(cores)} and {format_size(ram)} of RAM"


def headline(plan: WorkerPlan) -> str:
    """Return one sentence on how Synapse runs: how many processes, and why."""
    if plan.runs:
        why = ", as the production tier does" if plan.chosen is None else ""
        return (
            f"Synapse runs as {plan.processes} processes{why}: the main process and "
            f"{len(plan.workers)} workers, sized to {_machine(plan.cores, plan.ram)}."
        )
    if plan.chosen and not plan.postgresql:
        return "Synapse cannot run workers here: they need PostgreSQL."
    if plan.chosen is False:
        return "Synapse runs as one process: workers are off."
    if plan.tier is Tier.PRODUCTION:
        return "Synapse runs as one process: workers need PostgreSQL."
    return (
        f"Synapse runs as one process, as the {plan.tier.value} tier does; "
        "the production tier runs workers."
    )


POSTGRESQL_NOTE = "Workers need PostgreSQL, the Database step's default for Synapse."


def notes(plan: WorkerPlan) -> list[str]:
    """Return what to know beside the layout: PostgreSQL, and one process on a small machine."""
    said = []
    if plan.runs or plan.chosen:
        said.append(POSTGRESQL_NOTE)
    if plan.small:
        production = _machine(
            tier_cores(Homeserver.SYNAPSE, Tier.PRODUCTION),
            tier_ram(Homeserver.SYNAPSE, Tier.PRODUCTION),
        )
        said.append(
            f"A machine of {_machine(plan.cores, plan.ram)} is below Synapse's production tier "
            f"({production}): one process is recommended there, as Synapse's docs advise for "
            "small instances; workers would cost more RAM than they save."
        )
    return said


def in_words(plan: WorkerPlan | None) -> str:
    """Return homeserver.workers as the Review step lists it: on or off, and why, in brief."""
    if plan is None:
        return "off: a Synapse feature"
    if plan.runs:
        why = ", as the tier decides" if plan.chosen is None else ""
        return f"on{why}: {len(plan.workers)} workers"
    if plan.chosen:
        return "on, but workers need PostgreSQL"
    if plan.chosen is False:
        return "off: one process"
    if plan.tier is Tier.PRODUCTION:
        return "off: workers need PostgreSQL"
    return "off, as the tier decides"
