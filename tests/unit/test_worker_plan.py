"""The worker plan the steps show: the bundle's own layout, for the answers and their machine."""

from tests.bundle_support import answers_for, context_for, facts_with
from wizard.answers.model import tuned_facts
from wizard.bundle import synapse_workers
from wizard.bundle.tuning import tuning, tuning_for
from wizard.bundle.worker_layout import MAIN_DUTY, ROLES, Role, role_count
from wizard.bundle.worker_plan import (
    below_production,
    headline,
    in_words,
    layout_rows,
    notes,
    worker_plan,
)
from wizard.units import GIB

PRODUCTION = {"database": "postgresql", "homeserver__tier": "production"}


def test_the_plan_is_the_layout_the_bundle_renders() -> None:
    answers = answers_for(**PRODUCTION, machine__cores=8, machine__ram_mb=16 * 1024)
    plan = worker_plan(answers, tuned_facts(answers))
    assert plan is not None
    facts = tuned_facts(answers)
    assert facts is not None
    rendered = synapse_workers.workers(context_for(answers, facts))
    assert plan.workers == rendered
    assert plan.runs
    assert plan.processes == len(rendered) + 1
    assert (plan.cores, plan.ram) == (8, 16 * GIB)


def test_tuning_for_answers_and_facts_is_the_bundles_tuning() -> None:
    ctx = context_for(answers_for(**PRODUCTION))
    assert tuning_for(ctx.answers, ctx.facts) == tuning(ctx)
    external = answers_for(**PRODUCTION, database__host="db.example.com")
    assert tuning_for(external, None).postgres_ram == 0


def test_other_homeservers_have_no_plan() -> None:
    assert worker_plan(answers_for("dendrite", homeserver__tier="production"), None) is None
    assert in_words(None) == "off: a Synapse feature"


def test_each_process_kind_is_listed_with_its_duty_main_first() -> None:
    plan = worker_plan(answers_for(**PRODUCTION), facts_with(ram_gib=16, cores=8))
    assert plan is not None
    rows = layout_rows(plan)
    assert rows[0] == ("main process", MAIN_DUTY)
    assert rows[1:] == [
        (role_count(role, sum(w.role is role for w in plan.workers)), spec.duty)
        for role, spec in ROLES.items()
    ]
    assert ("2 sync workers", ROLES[Role.SYNC].duty) in rows
    assert ("1 task worker", ROLES[Role.TASKS].duty) in rows
    assert headline(plan).startswith(
        f"Synapse runs as {plan.processes} processes, as the production tier does"
    )
    assert "8 cores and 16 GiB of RAM" in headline(plan)


def test_the_tier_decides_unless_answered() -> None:
    recommended = worker_plan(answers_for(database="postgresql"), None)
    assert recommended is not None and not recommended.runs
    assert layout_rows(recommended) == []
    assert "as the recommended tier does" in headline(recommended)
    assert in_words(recommended) == "off, as the tier decides"

    turned_on = worker_plan(answers_for(database="postgresql", homeserver__workers=True), None)
    assert turned_on is not None and turned_on.runs
    assert in_words(turned_on) == f"on: {len(turned_on.workers)} workers"

    turned_off = worker_plan(answers_for(**PRODUCTION, homeserver__workers=False), None)
    assert turned_off is not None and not turned_off.runs
    assert headline(turned_off) == "Synapse runs as one process: workers are off."
    assert in_words(turned_off) == "off: one process"


def test_workers_need_postgresql_and_say_so() -> None:
    plan = worker_plan(answers_for(**PRODUCTION), None)
    assert plan is not None
    assert any("need PostgreSQL" in note for note in notes(plan))
    sqlite = worker_plan(
        answers_for(
            database="sqlite",
            homeserver__tier="production",
            database__accept_sqlite_in_production=True,
        ),
        None,
    )
    assert sqlite is not None and not sqlite.runs
    assert headline(sqlite) == "Synapse runs as one process: workers need PostgreSQL."
    assert in_words(sqlite) == "off: workers need PostgreSQL"


def test_below_the_production_tier_one_process_is_recommended() -> None:
    assert below_production(cores=2, ram=4 * GIB)
    assert below_production(cores=2, ram=16 * GIB)
    assert not below_production(cores=4, ram=8 * GIB)
    # RAM within 10 % under the tier still meets it, as the fit table reads it.
    assert not below_production(cores=4, ram=int(7.5 * GIB))

    small = worker_plan(answers_for(database="postgresql"), facts_with(ram_gib=4, cores=2))
    assert small is not None and small.small
    said = " ".join(notes(small))
    assert "2 cores and 4 GiB of RAM is below Synapse's production tier" in said
    assert "one process is recommended" in said
    big = worker_plan(answers_for(**PRODUCTION), facts_with(ram_gib=8, cores=4))
    assert big is not None and not big.small
    assert not any("one process" in note for note in notes(big))
