"""Tuning: cache sizes, pools and PostgreSQL memory settings fitted to the machine and the tier."""

import math
from dataclasses import dataclass

from wizard.answers.model import Answers, DatabaseKind, Homeserver, Tier
from wizard.bundle import worker_layout
from wizard.bundle.context import RenderContext, bundles_postgres
from wizard.bundle.worker_layout import Worker
from wizard.fit.extras import extra_load
from wizard.fit.tiers import ExtraLoad, Hardware, load_tiers
from wizard.probe.facts import HostFacts
from wizard.units import GIB, MIB

# Numbers in brackets below are sections of the homeserver facts reference
# (homeserver-facts.md), which cites the upstream documentation for each rule.

# Share of the host's RAM given to a PostgreSQL beside the homeserver: Synapse's caches are the
# main consumer (facts 1.4, 7.1); Dendrite is lighter and asks for headroom for PostgreSQL (7.1).
# The Conduit family has no PostgreSQL, so nothing is set aside for one.
POSTGRES_SHARE = {Homeserver.SYNAPSE: 1 / 4, Homeserver.DENDRITE: 1 / 3}
# Connections kept free beyond the pools: superuser_reserved_connections (3) plus psql,
# pg_dump and monitoring (facts 7.2).
RESERVED_CONNECTIONS = 10
# Synapse's presence is its most expensive feature; the SBC guide finds it workable from about
# 4 GiB of RAM (facts 1.4, 7.1).
PRESENCE_MIN_RAM = 4 * GIB


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _mib(size: float, low_mib: int, high_mib: float = math.inf, step_mib: int = 1) -> int:
    """Return a size in whole MiB, rounded down to a step and kept within bounds."""
    mib = int(size // MIB) // step_mib * step_mib
    return int(_clamp(mib, low_mib, high_mib))


@dataclass(frozen=True)
class SynapseCaches:
    """One Synapse process's caches: caches.global_factor and event_cache_size."""

    factor: float
    event_cache_size: int


def synapse_caches(process_ram: int) -> SynapseCaches:
    """Return the caches of one Synapse process given the RAM its caches may use."""
    # Synapse's default cache factor 0.5 suits about 2 GiB for Synapse; 2.0 is where the admin
    # FAQ starts for big servers (1.4). event_cache_size defaults to 10K (x 1024) events, also
    # scaled by the cache factor (1.4).
    gib = process_ram / GIB
    return SynapseCaches(
        factor=round(_clamp(gib / 4, 0.05, 2.0), 2),
        event_cache_size=int(_clamp(gib * 5, 5, 50)) * 1024,
    )


def wants_workers(answers: Answers) -> bool:
    """Return whether Synapse runs workers: as answered, else at the production tier."""
    if answers.homeserver.kind is not Homeserver.SYNAPSE:
        return False
    if answers.database.kind is not DatabaseKind.POSTGRESQL:
        return False
    chosen = answers.homeserver.workers
    return answers.homeserver.tier is Tier.PRODUCTION if chosen is None else chosen


@dataclass(frozen=True)
class Tuning:
    """Every resource setting of the stack, derived from the RAM and cores it is tuned for."""

    ram: int  # bytes of RAM the stack is tuned for
    cores: int  # whole CPU cores
    postgres_ram: int  # bytes given to a PostgreSQL on the same host, 0 when there is none
    synapse_cache_factor: float  # caches.global_factor of the main process
    synapse_event_cache_size: int  # event_cache_size, in events, of the main process
    workers: tuple[Worker, ...]  # Synapse's workers, none for a single process
    worker_caches: dict[str, SynapseCaches]  # each worker's caches, by its name
    presence: bool  # presence.enabled
    cp_min: int  # Synapse's database pool per process
    cp_max: int
    shared_buffers_mb: int  # PostgreSQL settings, in MiB (PostgreSQL's MB)
    effective_cache_size_mb: int
    work_mem_mb: int
    maintenance_work_mem_mb: int
    max_wal_size_mb: int
    max_connections: int
    dendrite_max_open_conns: int  # global.database pool
    dendrite_max_idle_conns: int
    dendrite_cache_mb: int  # global.cache.max_size_estimated, in MiB
    conduit_db_cache_mb: int  # db_cache_capacity_mb, read by the whole Conduit family


def _tier_hardware(homeserver: Homeserver, tier: Tier) -> Hardware:
    """Return a tier's row of the overview's tables; Conduit's missing production is recommended."""
    tables = load_tiers()
    hardware = tables.hardware(homeserver.value, tier.value)
    if hardware is None:
        hardware = tables.hardware(homeserver.value, Tier.RECOMMENDED.value)
    assert hardware is not None, "every homeserver has a recommended tier"
    return hardware


def tier_ram(homeserver: Homeserver, tier: Tier) -> int:
    """Return the RAM of a tier from the overview's tables."""
    return _tier_hardware(homeserver, tier).ram


def tier_cores(homeserver: Homeserver, tier: Tier) -> int:
    """Return the CPU cores of a tier from the overview's tables."""
    return _tier_hardware(homeserver, tier).cores


def compute_tuning(
    homeserver: Homeserver,
    tier: Tier,
    ram: int,
    cores: int,
    with_workers: bool = False,
    postgres_on_host: bool = True,
    reserved_ram: int = 0,
) -> Tuning:
    """Return the tuning for a machine with this RAM and these cores, at this tier.

    `reserved_ram` is kept for the services beside the homeserver (LiveKit, MAS), off its share.
    """
    cores = max(1, cores)
    postgres_ram = int(ram * POSTGRES_SHARE.get(homeserver, 0.0)) if postgres_on_host else 0
    homeserver_ram = max(ram - postgres_ram - reserved_ram, (ram - postgres_ram) // 2)
    workers = worker_layout.layout(cores, homeserver_ram) if with_workers else ()
    processes = 1 + len(workers)
    # Each process (main and every worker) holds its own caches, sized by what its role reads,
    # from what is left once every worker beyond the first process has its base.
    caches = {
        name: synapse_caches(share)
        for name, share in worker_layout.ram_shares(
            homeserver_ram - len(workers) * worker_layout.PROCESS_BASE_RAM, workers
        ).items()
    }
    main_caches = caches.pop("main")

    # Synapse's example pool is cp_min 5 / cp_max 10 per process (1.3): 5 below 2 GiB, else
    # 5 per core from 10 up to 20.
    cp_max = 5 if ram < 2 * GIB else int(_clamp(5 * cores, 10, 20))
    cp_min = max(1, cp_max // 2)

    # Dendrite's default pool is 90 open / 5 idle connections, its cache 1 GB (2.1); at least
    # 20 open so its many components are not starved.
    dendrite_open = int(_clamp(10 + ram / GIB * 10, 20, 90))
    dendrite_idle = int(_clamp(dendrite_open // 10, 2, 10))
    dendrite_cache = _mib(homeserver_ram / 4, 64, 4096)

    pools = {Homeserver.SYNAPSE: cp_max * processes, Homeserver.DENDRITE: dendrite_open}
    # PostgreSQL manual: shared_buffers ~25 % of its RAM, more than 40 % rarely helps (7.2).
    shared_buffers = _mib(postgres_ram / 4, 32, 8192, step_mib=8)
    return Tuning(
        ram=ram,
        cores=cores,
        postgres_ram=postgres_ram,
        synapse_cache_factor=main_caches.factor,
        synapse_event_cache_size=main_caches.event_cache_size,
        workers=workers,
        worker_caches=caches,
        presence=tier is not Tier.MINIMUM and ram >= PRESENCE_MIN_RAM,
        cp_min=cp_min,
        cp_max=cp_max,
        shared_buffers_mb=shared_buffers,
        # effective_cache_size is a planner hint: ~50 % of its RAM is the conservative value (7.2).
        effective_cache_size_mb=_mib(postgres_ram / 2, 64),
        # work_mem is per sort or hash per connection: a quarter of its RAM over ~32 at once (7.2).
        work_mem_mb=_mib(postgres_ram / 128, 4, 64),
        # maintenance_work_mem serves VACUUM and CREATE INDEX: generous, up to 1 GB (7.2).
        maintenance_work_mem_mb=_mib(postgres_ram / 16, 16, 1024),
        # Larger shared_buffers usually need a larger max_wal_size than the 1 GB default (7.2).
        max_wal_size_mb=int(_clamp(4 * shared_buffers, 1024, 8192)),
        # Every process's pool must fit under max_connections with a reserve; the default 100
        # stays when it is enough (7.2).
        max_connections=max(100, pools.get(homeserver, 0) + RESERVED_CONNECTIONS),
        dendrite_max_open_conns=dendrite_open,
        dendrite_max_idle_conns=dendrite_idle,
        dendrite_cache_mb=dendrite_cache,
        # Conduit's db_cache_capacity_mb defaults to 300, about 30 % of its 1 GiB tier (7.1); its
        # successors read the same key and are sized with its tiers.
        conduit_db_cache_mb=_mib(ram * 0.3, 32, 4096),
    )


def tuning_for(answers: Answers, facts: HostFacts | None) -> Tuning:
    """Return the tuning for these answers: the machine's RAM and cores if known, else the tier's.

    The bundle passes the machine the answers name (answers.tuned_facts); the steps pass the
    same, so what they show is what the bundle gets. MAS, when chosen, has its RAM first.
    """
    homeserver = answers.homeserver.kind
    tier = answers.homeserver.tier
    ram = facts.effective_ram if facts else None
    cores = facts.effective_cores if facts else None
    return compute_tuning(
        homeserver,
        tier,
        ram=ram if ram else tier_ram(homeserver, tier),
        cores=math.floor(cores) if cores else tier_cores(homeserver, tier),
        with_workers=wants_workers(answers),
        postgres_on_host=bundles_postgres(answers),
        reserved_ram=reserved_ram(answers),
    )


def tuning(ctx: RenderContext) -> Tuning:
    """Return the tuning for a bundle: the probed machine if known, else the chosen tier."""
    return tuning_for(ctx.answers, ctx.facts)


def answers_load(answers: Answers) -> ExtraLoad:
    """Return what the extras the answers choose need beside the homeserver."""
    return extra_load(
        answers.homeserver.kind.value, matrix_rtc=answers.calls.matrix_rtc, mas=answers.auth.mas
    )


def reserved_ram(answers: Answers) -> int:
    """Return the RAM kept beside the homeserver for the other services the answers run."""
    return answers_load(answers).ram
