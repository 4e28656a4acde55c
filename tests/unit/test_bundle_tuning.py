"""Tuning: from the machine or the tier, growing with RAM and staying within sane bounds."""

from dataclasses import fields
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.bundle_support import FIXED_SECRETS, answers_for, facts_with
from wizard.answers.model import Homeserver, Tier
from wizard.bundle.context import RenderContext
from wizard.bundle.tuning import (
    RESERVED_CONNECTIONS,
    Tuning,
    compute_tuning,
    tier_ram,
    tuning,
)
from wizard.probe.facts import HostFacts, MemoryFacts
from wizard.units import GIB, MIB

RAM = st.integers(min_value=512 * MIB, max_value=64 * GIB)
CORES = st.integers(min_value=1, max_value=64)
HOMESERVERS = st.sampled_from(list(Homeserver))
TIERS = st.sampled_from(list(Tier))


def _ctx(facts: HostFacts | None, **sets: Any) -> RenderContext:
    return RenderContext(answers=answers_for(**sets), facts=facts, secrets=FIXED_SECRETS)


@pytest.mark.parametrize(
    ("homeserver", "database", "tier", "gib"),
    [
        ("synapse", "postgresql", "minimum", 1),
        ("synapse", "postgresql", "recommended", 4),
        ("synapse", "postgresql", "production", 8),
        ("dendrite", "postgresql", "minimum", 0.5),
        ("dendrite", "postgresql", "recommended", 2),
        ("dendrite", "postgresql", "production", 4),
        ("conduit", "rocksdb", "minimum", 0.25),
        ("conduit", "rocksdb", "recommended", 1),
        ("conduit", "rocksdb", "production", 1),
    ],
)
def test_without_facts_the_tier_ram_of_the_overview_is_used(
    homeserver: str, database: str, tier: str, gib: float
) -> None:
    ctx = _ctx(None, homeserver=homeserver, database=database, homeserver__tier=tier)

    assert tuning(ctx).ram == int(gib * GIB)


def test_facts_ram_wins_over_the_tier_and_a_memory_limit_caps_it() -> None:
    probed = facts_with(ram_gib=16, cores=8)
    limited = probed.model_copy(update={"memory": MemoryFacts(total=16 * GIB, limit=3 * GIB)})

    assert tuning(_ctx(probed)).ram == 16 * GIB
    assert tuning(_ctx(probed)).cores == 8
    assert tuning(_ctx(limited)).ram == 3 * GIB


def test_unknown_memory_in_the_facts_falls_back_to_the_tier() -> None:
    unknown = facts_with().model_copy(update={"memory": MemoryFacts()})

    assert tuning(_ctx(unknown, homeserver__tier="production")).ram == tier_ram(
        Homeserver.SYNAPSE, Tier.PRODUCTION
    )


def test_postgres_settings_come_from_its_share_not_the_whole_host() -> None:
    bundled = tuning(_ctx(facts_with(ram_gib=8)))
    external = tuning(_ctx(facts_with(ram_gib=8), database__host="db.example.com"))

    assert 0 < bundled.postgres_ram < bundled.ram
    assert bundled.shared_buffers_mb * MIB <= bundled.postgres_ram * 0.25
    assert bundled.shared_buffers_mb * MIB < bundled.ram * 0.25
    assert bundled.effective_cache_size_mb * MIB <= bundled.postgres_ram * 0.5
    # Without a PostgreSQL on the host, Synapse keeps the whole RAM for its caches.
    assert external.postgres_ram == 0
    assert external.synapse_cache_factor > bundled.synapse_cache_factor


def test_sqlite_gives_synapse_the_whole_ram() -> None:
    sqlite = tuning(_ctx(facts_with(ram_gib=4), database="sqlite"))
    postgres = tuning(_ctx(facts_with(ram_gib=4), database="postgresql"))

    assert sqlite.postgres_ram == 0
    assert sqlite.synapse_cache_factor > postgres.synapse_cache_factor


def test_presence_is_off_on_small_hardware_and_the_minimum_tier() -> None:
    assert not tuning(_ctx(facts_with(ram_gib=2))).presence
    assert not tuning(_ctx(facts_with(ram_gib=16), homeserver__tier="minimum")).presence
    assert tuning(_ctx(facts_with(ram_gib=4))).presence


def test_workers_share_the_ram_and_get_connections() -> None:
    alone = tuning(_ctx(facts_with(ram_gib=16, cores=4)))
    with_workers = tuning(_ctx(facts_with(ram_gib=16, cores=4), homeserver__workers=True))

    assert with_workers.synapse_cache_factor < alone.synapse_cache_factor
    processes = 1 + len(with_workers.workers)
    assert with_workers.max_connections >= with_workers.cp_max * processes + RESERVED_CONNECTIONS


@given(HOMESERVERS, TIERS, RAM, RAM, CORES)
def test_every_setting_grows_or_stays_with_more_ram(
    homeserver: Homeserver, tier: Tier, ram_a: int, ram_b: int, cores: int
) -> None:
    low, high = sorted((ram_a, ram_b))
    smaller = compute_tuning(homeserver, tier, low, cores)
    larger = compute_tuning(homeserver, tier, high, cores)

    for field in fields(Tuning):
        if field.type in ("int", "float", "bool", int, float, bool):
            assert getattr(smaller, field.name) <= getattr(larger, field.name), field.name


@given(HOMESERVERS, TIERS, RAM, CORES, st.booleans(), st.booleans())
def test_settings_stay_within_bounds(
    homeserver: Homeserver, tier: Tier, ram: int, cores: int, with_workers: bool, on_host: bool
) -> None:
    tuned = compute_tuning(homeserver, tier, ram, cores, with_workers, postgres_on_host=on_host)
    workers = len(tuned.workers)

    assert 0.05 <= tuned.synapse_cache_factor <= 2.0
    assert 5 * 1024 <= tuned.synapse_event_cache_size <= 50 * 1024
    assert 1 <= tuned.cp_min <= tuned.cp_max <= 20
    assert 32 <= tuned.shared_buffers_mb <= 8192
    if tuned.postgres_ram >= 1 * GIB:
        assert tuned.shared_buffers_mb * MIB <= 0.4 * tuned.postgres_ram
        assert tuned.effective_cache_size_mb * MIB <= tuned.postgres_ram
    assert 4 <= tuned.work_mem_mb <= 64
    assert 16 <= tuned.maintenance_work_mem_mb <= 1024
    assert tuned.max_wal_size_mb >= 1024
    pools = {
        Homeserver.SYNAPSE: tuned.cp_max * (1 + workers),
        Homeserver.DENDRITE: tuned.dendrite_max_open_conns,
    }
    pool = pools.get(homeserver, 0)  # the Conduit family has no PostgreSQL pool
    assert tuned.max_connections >= pool + RESERVED_CONNECTIONS
    assert 2 <= tuned.dendrite_max_idle_conns <= tuned.dendrite_max_open_conns <= 90
    assert 64 * MIB <= tuned.dendrite_cache_mb * MIB <= max(ram, 64 * MIB)
    assert tuned.conduit_db_cache_mb >= 32
    assert tuned.conduit_db_cache_mb * MIB < ram
    homeserver_ram = ram - tuned.postgres_ram
    assert homeserver_ram >= ram / 2, "the homeserver keeps most of the machine"
