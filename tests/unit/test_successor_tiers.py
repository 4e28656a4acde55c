"""Continuwuity and tuwunel in the tier tables: the overview's figures for Conduit, said so.

The overview has no column for Conduit's successors, so every tier, database and comparison
figure shown for them is Conduit's, and the wizard says so; where each project stands today
comes from the facts reference.
"""

import json

import pytest

from tests.conftest import run_cli
from wizard.fit import report
from wizard.fit.tiers import TIERS, Homeserver, fit, hardware_for, load_tiers, recommend
from wizard.probe.profile import load_profile

SUCCESSORS: list[Homeserver] = ["continuwuity", "tuwunel"]
TABLES = load_tiers()


@pytest.mark.parametrize("name", SUCCESSORS)
def test_a_successor_is_sized_with_conduits_figures(name: Homeserver) -> None:
    for tier in TIERS:
        assert TABLES.hardware(name, tier) == TABLES.hardware("conduit", tier)
    for profile in ("vps-512m", "vps-1g", "vps-8g"):
        facts = load_profile(profile)
        assert fit(facts, name).tier == fit(facts, "conduit").tier


@pytest.mark.parametrize("name", SUCCESSORS)
def test_where_a_successors_figures_come_from_is_said(name: Homeserver) -> None:
    facts = load_profile("vps-1g")
    table = " ".join(report.fit_table(fit(facts, name)).split())
    assert "tiers from the overview's figures for Conduit" in table
    need = hardware_for(name, "minimum")
    assert need.database == "RocksDB only (built in)"
    assert need.source.endswith("(the overview's figures for Conduit)")
    with pytest.raises(Exception) as caught:
        hardware_for(name, "production")
    assert "no production tier for Conduit, whose figures" in str(caught.value)


def test_the_successors_rank_before_conduit_and_each_says_where_it_stands() -> None:
    result = recommend(load_profile("vps-1g"))
    order = [choice.homeserver for choice in result.ranking]
    assert order.index("continuwuity") < order.index("conduit")
    assert order.index("tuwunel") < order.index("conduit")
    assert result.best == "continuwuity"
    reasons = {choice.homeserver: " ".join(choice.reasons) for choice in result.ranking}
    for name in SUCCESSORS:
        assert "the overview's figures for Conduit: maturity Beta" in reasons[name]
        assert "Actively developed" in reasons[name]
    assert "0.10.x" in reasons["conduit"] and "Slower-moving" in reasons["conduit"]
    assert "maintenance mode" in reasons["dendrite"] and "Element X" in reasons["dendrite"]


def test_plan_prints_every_homeserver_and_where_it_stands() -> None:
    result = run_cli("plan", "--profile", "vps-1g")
    assert result.returncode == 0, result.stderr
    flat = " ".join(result.stdout.split())
    for name in ("Continuwuity", "Tuwunel", "Conduit", "Dendrite", "Synapse"):
        assert f"{name}: " in flat
    assert "Element X works poorly" in flat
    assert "still on the 0.10.x line" in flat
    assert flat.count("Actively developed") == 3  # Synapse and both successors


@pytest.mark.parametrize("name", SUCCESSORS)
def test_hardware_and_plan_take_a_successor(name: str) -> None:
    hardware = run_cli("hardware", name, "recommended", "--json")
    assert hardware.returncode == 0, hardware.stderr
    assert json.loads(hardware.stdout)["database"] == "RocksDB only (built in)"
    plan = run_cli("plan", "--profile", "vps-512m", "--homeserver", name, "--json")
    assert plan.returncode == 0, plan.stderr
    assert [item["homeserver"] for item in json.loads(plan.stdout)["fits"]] == [name]
