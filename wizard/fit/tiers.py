"""The overview's tier tables, how a machine fits them, and which homeserver suits it best."""

from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Literal, get_args

from pydantic import Field, field_validator, model_validator

from wizard.datafiles import FrozenModel, Size, read_model
from wizard.errors import UsageError
from wizard.paths import asset
from wizard.probe.facts import DiskKind, HostFacts
from wizard.probe.profile import Profile, list_profiles, load_profile
from wizard.units import format_cores, format_size, parse_size

# The homeservers the overview's tables cover, and every homeserver the wizard offers: the
# others are successors of one the overview covers, and are sized with its figures.
OverviewHomeserver = Literal["synapse", "dendrite", "conduit"]
Homeserver = Literal["synapse", "dendrite", "conduit", "continuwuity", "tuwunel"]
Tier = Literal["minimum", "recommended", "production"]
TierReached = Literal["below-minimum", "minimum", "recommended", "production"]
RequirementName = Literal["ram", "cpu", "disk", "ssd", "database"]

OVERVIEW_HOMESERVERS: tuple[OverviewHomeserver, ...] = get_args(OverviewHomeserver)
HOMESERVERS: tuple[Homeserver, ...] = get_args(Homeserver)
TIERS: tuple[Tier, ...] = get_args(Tier)
DISPLAY_NAMES: dict[Homeserver, str] = {
    "synapse": "Synapse",
    "dendrite": "Dendrite",
    "conduit": "Conduit",
    "continuwuity": "Continuwuity",
    "tuwunel": "Tuwunel",
}
LABELS: dict[RequirementName, str] = {
    "ram": "RAM",
    "cpu": "CPU",
    "disk": "disk",
    "ssd": "SSD",
    "database": "database",
}

# A plan sold as "4 GB" shows about 3.8 GiB once the kernel and firmware take their share, so RAM
# up to this fraction under a threshold still meets it and is flagged as at the edge.
RAM_TOLERANCE = 0.10

# When two homeservers score the same, the most complete comes first, then the one developed
# most actively: Conduit's successors before Conduit itself (the overview ranks neither of the
# two successors above the other, so they stand in alphabetical order), Dendrite last.
_TIE_ORDER: tuple[Homeserver, ...] = ("synapse", "continuwuity", "tuwunel", "conduit", "dendrite")


# --- The tables -------------------------------------------------------------------------------


class Hardware(FrozenModel):
    """What one homeserver needs in one tier; sizes in bytes."""

    ram: Size = Field(gt=0)
    cores: int = Field(ge=1)
    storage: Size = Field(gt=0)
    ssd: bool = False
    database: str | None = None


class TierTable(FrozenModel):
    """One of the overview's hardware tables; None where it has no column for a homeserver."""

    title: str
    audience: str
    source: str
    homeservers: dict[OverviewHomeserver, Hardware | None]


class DatabaseSupport(FrozenModel):
    """One row of the overview's database table."""

    sqlite: str
    postgresql: str


class DatabaseTable(FrozenModel):
    """The overview's database table."""

    source: str
    homeservers: dict[OverviewHomeserver, DatabaseSupport]


class Comparison(FrozenModel):
    """One homeserver's column of the overview's quick comparison, as written there."""

    maturity: str
    features: str
    idle_ram: str
    setup: str

    @field_validator("idle_ram")
    @classmethod
    def _idle_ram_is_a_size(cls, value: str) -> str:
        try:
            parse_size(value.removesuffix("+"))
        except UsageError as error:
            raise ValueError(error.message) from None
        return value

    @property
    def idle_ram_bytes(self) -> int:
        """Return the idle RAM in bytes, reading "300MB+" as 300 MiB."""
        return parse_size(self.idle_ram.removesuffix("+"))


class ComparisonTable(FrozenModel):
    """The rows of the overview's quick comparison that the recommendation uses."""

    source: str
    homeservers: dict[OverviewHomeserver, Comparison]


class ProjectStatus(FrozenModel):
    """Where a project stands today; maintenance-only projects get security fixes only."""

    summary: str
    maintenance_only: bool


class StatusTable(FrozenModel):
    """Each project's status, from the facts reference."""

    source: str
    homeservers: dict[Homeserver, ProjectStatus]


class Successor(FrozenModel):
    """A homeserver the overview does not cover, sized with the figures of one it does."""

    figures_from: OverviewHomeserver
    database: str


class SuccessorTable(FrozenModel):
    """The homeservers beyond the overview's, each with whose figures it is sized."""

    source: str
    homeservers: dict[Homeserver, Successor]


class PublicHomeserver(FrozenModel):
    """A public homeserver from the overview where anyone can sign up."""

    name: str
    url: str
    registration: str
    notes: str


class PublicHomeservers(FrozenModel):
    """The overview's table of public homeservers."""

    source: str
    servers: list[PublicHomeserver] = Field(min_length=1)


class TierTables(FrozenModel):
    """Everything assets/tiers.yaml holds, checked for completeness and order."""

    tiers: dict[Tier, TierTable]
    databases: DatabaseTable
    comparison: ComparisonTable
    status: StatusTable
    successors: SuccessorTable
    public_homeservers: PublicHomeservers

    @model_validator(mode="after")
    def _complete_and_ordered(self) -> "TierTables":
        missing_tiers = [tier for tier in TIERS if tier not in self.tiers]
        if missing_tiers:
            raise ValueError(f"tiers {', '.join(missing_tiers)} are missing")
        sections: dict[str, tuple[set[str], tuple[str, ...]]] = {
            f"tiers.{tier}": (set(self.tiers[tier].homeservers), OVERVIEW_HOMESERVERS)
            for tier in TIERS
        }
        sections["databases"] = (set(self.databases.homeservers), OVERVIEW_HOMESERVERS)
        sections["comparison"] = (set(self.comparison.homeservers), OVERVIEW_HOMESERVERS)
        sections["status"] = (set(self.status.homeservers), HOMESERVERS)
        beyond = tuple(name for name in HOMESERVERS if name not in OVERVIEW_HOMESERVERS)
        sections["successors"] = (set(self.successors.homeservers), beyond)
        for section, (present, wanted) in sections.items():
            absent = [name for name in wanted if name not in present]
            if absent:
                raise ValueError(f"{section} has no entry for {', '.join(absent)}")
        covered = [name for name in self.successors.homeservers if name not in beyond]
        if covered:
            raise ValueError(f"successors lists {', '.join(covered)}, which the overview covers")
        for name in OVERVIEW_HOMESERVERS:
            _check_ladder(name, [self.tiers[tier].homeservers[name] for tier in TIERS])
        return self

    def figures_for(self, homeserver: Homeserver) -> OverviewHomeserver:
        """Return the homeserver of the overview whose figures apply: itself, or its ancestor."""
        successor = self.successors.homeservers.get(homeserver)
        if successor is not None:
            return successor.figures_from
        return homeserver  # type: ignore[return-value]  # the validator makes it one of them

    def hardware(self, homeserver: Homeserver, tier: Tier) -> Hardware | None:
        """Return what a homeserver needs in a tier, or None where the overview defines none."""
        return self.tiers[tier].homeservers[self.figures_for(homeserver)]

    def comparison_for(self, homeserver: Homeserver) -> Comparison:
        """Return the overview's quick comparison of a homeserver, or of the one it succeeds."""
        return self.comparison.homeservers[self.figures_for(homeserver)]


def borrowed_figures(homeserver: Homeserver) -> str:
    """Return "" for a homeserver the overview covers, else whose figures it is sized with."""
    tables = load_tiers()
    figures = tables.figures_for(homeserver)
    if figures == homeserver:
        return ""
    return f"the overview's figures for {DISPLAY_NAMES[figures]}"


def _check_ladder(name: str, ladder: list[Hardware | None]) -> None:
    """Refuse a homeserver whose tiers skip a step or ask for less further up."""
    defined = [hardware for hardware in ladder if hardware is not None]
    if not defined or ladder[: len(defined)] != defined:
        raise ValueError(f"{name} must have a minimum tier and no gaps between its tiers")
    for lower, higher in pairwise(defined):
        if higher.ram < lower.ram or higher.cores < lower.cores or higher.storage < lower.storage:
            raise ValueError(f"{name} asks for less in a higher tier")


def read_tiers(path: Path) -> TierTables:
    """Return the tier tables in the YAML file at ``path``, or raise a WizardError."""
    return read_model(path, TierTables)


@cache
def load_tiers() -> TierTables:
    """Return the tier tables shipped in assets/tiers.yaml, read once."""
    return read_tiers(asset("tiers.yaml"))


def homeserver_name(text: str) -> Homeserver:
    """Return the homeserver named by ``text``, or raise a UsageError naming the choices."""
    for name in HOMESERVERS:
        if text.strip().lower() == name:
            return name
    raise UsageError(f"unknown homeserver {text!r}", f"choose one of: {', '.join(HOMESERVERS)}")


def tier_name(text: str) -> Tier:
    """Return the tier named by ``text``, or raise a UsageError naming the choices."""
    for tier in TIERS:
        if text.strip().lower() == tier:
            return tier
    raise UsageError(f"unknown tier {text!r}", f"choose one of: {', '.join(TIERS)}")


def _undefined_tier(homeserver: Homeserver, tier: Tier) -> tuple[str, str]:
    """Say that the overview has no such tier for a homeserver, and what to plan instead."""
    tables = load_tiers()
    highest = [other for other in TIERS if tables.hardware(homeserver, other) is not None][-1]
    others = " or ".join(
        DISPLAY_NAMES[other] for other in HOMESERVERS if tables.hardware(other, tier) is not None
    )
    figures = tables.figures_for(homeserver)
    whose = DISPLAY_NAMES[figures]
    if figures != homeserver:
        whose += f", whose figures {DISPLAY_NAMES[homeserver]} is sized with"
    return (
        f"the overview defines no {tier} tier for {whose}: {highest} is the highest it has",
        f"plan {homeserver} at the {highest} tier, or {others} at {tier}",
    )


# --- Fitting one machine to one homeserver ----------------------------------------------------


class Requirement(FrozenModel):
    """One requirement of a tier beside what the machine has; ``hardware`` False marks a note."""

    name: RequirementName
    needed: str
    found: str
    met: bool
    at_edge: bool = False
    known: bool = True
    hardware: bool = True
    note: str = ""


class TierCheck(FrozenModel):
    """Every requirement of one tier, met or not; ``defined`` False where the overview has none."""

    tier: Tier
    title: str
    audience: str
    defined: bool
    met: bool
    requirements: list[Requirement]
    note: str = ""


class Fit(FrozenModel):
    """How a machine fits one homeserver: the highest tier met, each tier's detail, what is next."""

    homeserver: Homeserver
    tier: TierReached
    checks: list[TierCheck]
    next_tier: Tier | None
    missing: list[Requirement]
    next_step: str
    warnings: list[str]


def unknown_fact(facts: HostFacts, *keys: str) -> str:
    """Return "unknown (why)" for a fact, the why from the first of ``keys`` in facts.unknown."""
    reason = next((facts.unknown[key] for key in keys if key in facts.unknown), "not reported")
    return f"unknown ({reason})"


def _unreadable(
    name: str, needed_text: str, facts: HostFacts, keys: tuple[str, ...], what: str
) -> Requirement:
    """Return an unmet requirement for a fact the probe could not read, with its reason."""
    return Requirement(
        name=name,
        needed=needed_text,
        found=unknown_fact(facts, *keys),
        met=False,
        known=False,
        note=f"{what} could not be read",
    )


def _check_ram(facts: HostFacts, needed: int) -> Requirement:
    found = facts.effective_ram
    needed_text = format_size(needed)
    if found is None:
        return _unreadable("ram", needed_text, facts, ("memory.total", "memory"), "RAM")
    found_text = format_size(found)
    total = facts.memory.total
    if facts.memory.limit is not None and total is not None and facts.memory.limit < total:
        found_text += f" (memory limit; the host has {format_size(total)})"
    if found >= needed:
        return Requirement(name="ram", needed=needed_text, found=found_text, met=True)
    if found >= needed * (1 - RAM_TOLERANCE):
        return Requirement(
            name="ram",
            needed=needed_text,
            found=found_text,
            met=True,
            at_edge=True,
            note=f"less than {needed_text} but within {RAM_TOLERANCE:.0%}, as a plan sold with "
            f"{needed_text} shows; it fits with little to spare",
        )
    return Requirement(
        name="ram",
        needed=needed_text,
        found=found_text,
        met=False,
        note=f"{format_size(needed - found)} short",
    )


def _check_cpu(facts: HostFacts, needed: int) -> Requirement:
    found = facts.effective_cores
    needed_text = format_cores(needed)
    if found is None:
        return _unreadable("cpu", needed_text, facts, ("cpu.logical", "cpu"), "CPU cores")
    found_text = format_cores(found)
    logical = facts.cpu.logical
    if facts.cpu.limit is not None and logical is not None and facts.cpu.limit < logical:
        found_text += f" (CPU quota; the host has {logical})"
    met = found >= needed
    note = "" if met else f"{format_cores(needed - found)} short"
    return Requirement(name="cpu", needed=needed_text, found=found_text, met=met, note=note)


def _check_disk(facts: HostFacts, needed: int) -> Requirement:
    disk = facts.disk
    needed_text = f"{format_size(needed)} free"
    if disk.free is None:
        return _unreadable("disk", needed_text, facts, ("disk.free", "disk"), "free space")
    found_text = f"{format_size(disk.free)} free"
    if disk.total is not None:
        found_text += f" of {format_size(disk.total)}"
    if disk.path:
        found_text += f" at {disk.path}"
    if disk.free >= needed:
        return Requirement(name="disk", needed=needed_text, found=found_text, met=True)
    note = f"{format_size(needed - disk.free)} short"
    if disk.total is not None and disk.total >= needed:
        note += ": the disk is large enough, but too much of it is in use"
    return Requirement(name="disk", needed=needed_text, found=found_text, met=False, note=note)


def _check_ssd(facts: HostFacts) -> Requirement:
    kind = facts.disk.kind
    why = facts.disk.kind_reason
    found = kind.value.upper() if kind is not DiskKind.UNKNOWN else "unknown"
    if why:
        found += f" ({why})"
    if kind is DiskKind.SSD:
        return Requirement(name="ssd", needed="SSD", found=found, met=True)
    if kind is DiskKind.HDD:
        return Requirement(
            name="ssd",
            needed="SSD",
            found=found,
            met=False,
            note="a spinning disk is too slow for a production database",
        )
    if not why:
        found = unknown_fact(facts, "disk.kind", "disk")
    return Requirement(
        name="ssd",
        needed="SSD",
        found=found,
        met=True,
        known=False,
        note="could not tell SSD from HDD: make sure the data is on an SSD",
    )


def _database_note(database: str) -> Requirement:
    return Requirement(
        name="database",
        needed=database,
        found="chosen in the bundle",
        met=True,
        hardware=False,
        note=f"the overview runs this tier on {database}; a choice, not a hardware check",
    )


class ExtraLoad(FrozenModel):
    """What services beside the homeserver add to a tier's needs (such as LiveKit for calls)."""

    ram: int = 0
    cores: dict[Tier, int] = Field(default_factory=dict)


NO_EXTRA = ExtraLoad()


def _check_tier(
    facts: HostFacts, homeserver: Homeserver, tier: Tier, extra: ExtraLoad = NO_EXTRA
) -> TierCheck:
    tables = load_tiers()
    table = tables.tiers[tier]
    hardware = tables.hardware(homeserver, tier)
    if hardware is not None:
        hardware = hardware.model_copy(
            update={
                "ram": hardware.ram + extra.ram,
                "cores": hardware.cores + extra.cores.get(tier, 0),
            }
        )
    if hardware is None:
        return TierCheck(
            tier=tier,
            title=table.title,
            audience=table.audience,
            defined=False,
            met=False,
            requirements=[],
            note=" - ".join(_undefined_tier(homeserver, tier)),
        )
    requirements = [
        _check_ram(facts, hardware.ram),
        _check_cpu(facts, hardware.cores),
        _check_disk(facts, hardware.storage),
    ]
    if hardware.ssd:
        requirements.append(_check_ssd(facts))
    if hardware.database:
        requirements.append(_database_note(hardware.database))
    return TierCheck(
        tier=tier,
        title=table.title,
        audience=table.audience,
        defined=True,
        met=all(requirement.met for requirement in requirements),
        requirements=requirements,
    )


def _shortfall(requirements: list[Requirement]) -> str:
    return "; ".join(
        f"{LABELS[requirement.name]} {requirement.needed} "
        + (f"(found {requirement.found})" if requirement.known else "(could not be read)")
        for requirement in requirements
    )


def tier_shortfall(
    facts: HostFacts, homeserver: str, tier: str, extra: ExtraLoad = NO_EXTRA
) -> str:
    """Say what the machine lacks for a homeserver's tier, against its figures, or "" if nothing.

    A tier the overview does not define for the homeserver lacks nothing here: choosing it is
    refused on its own, with the tiers to plan instead.
    """
    name = homeserver_name(homeserver)
    check = _check_tier(facts, name, tier_name(tier), extra)
    lacking = [
        requirement
        for requirement in check.requirements
        if requirement.hardware and not requirement.met
    ]
    if not lacking:
        return ""
    whose = f"{DISPLAY_NAMES[name]}'s {check.tier} tier"
    return f"this machine lacks for {whose}: {_shortfall(lacking)}"


def fit(facts: HostFacts, homeserver: str, extra: ExtraLoad = NO_EXTRA) -> Fit:
    """Return the highest tier of ``homeserver`` this machine meets, with every requirement.

    ``extra`` adds what services beside the homeserver need to every tier's figures.
    """
    name = homeserver_name(homeserver)
    checks = [_check_tier(facts, name, tier, extra) for tier in TIERS]
    reached: TierReached = "below-minimum"
    for check in checks:
        if not check.met:
            break
        reached = check.tier
    above = tier_rank(reached)
    warnings: list[str] = []
    if reached != "below-minimum":
        warnings = [
            f"{LABELS[requirement.name]}: {requirement.note}"
            for requirement in checks[above - 1].requirements
            if requirement.met and requirement.hardware and requirement.note
        ]
    if above == len(TIERS):
        return Fit(
            homeserver=name,
            tier=reached,
            checks=checks,
            next_tier=None,
            missing=[],
            next_step="this is the highest tier the overview defines",
            warnings=warnings,
        )
    following = checks[above]
    if not following.defined:
        return Fit(
            homeserver=name,
            tier=reached,
            checks=checks,
            next_tier=None,
            missing=[],
            next_step=following.note,
            warnings=warnings,
        )
    missing = [
        requirement
        for requirement in following.requirements
        if requirement.hardware and not requirement.met
    ]
    return Fit(
        homeserver=name,
        tier=reached,
        checks=checks,
        next_tier=following.tier,
        missing=missing,
        next_step=f"the {following.tier} tier needs {_shortfall(missing)}",
        warnings=warnings,
    )


def tier_rank(tier: TierReached) -> int:
    """Return 0 for below-minimum up to 3 for production, for comparing tiers."""
    return 0 if tier == "below-minimum" else TIERS.index(tier) + 1


# --- Recommending a homeserver ----------------------------------------------------------------


class Choice(FrozenModel):
    """One homeserver's place in the ranking, with the reasons for it."""

    homeserver: Homeserver
    rank: int
    tier: TierReached
    reasons: list[str]


class Recommendation(FrozenModel):
    """The homeservers ranked for a machine, and a way forward when none of them fits."""

    best: Homeserver | None
    below_minimum: bool
    summary: str
    ranking: list[Choice]
    lacking: list[Requirement]
    profile: Profile | None
    public_homeservers: list[PublicHomeserver]
    advice: list[str]


def _headroom(fit_: Fit, facts: HostFacts) -> str:
    """Describe how much RAM is left over in the tier reached."""
    if fit_.tier == "below-minimum":
        minimum = fit_.checks[0]
        return "below its minimum: lacks " + _shortfall(
            [requirement for requirement in minimum.requirements if not requirement.met]
        )
    check = fit_.checks[tier_rank(fit_.tier) - 1]
    ram = next(requirement for requirement in check.requirements if requirement.name == "ram")
    if ram.at_edge:
        return f"RAM at the edge of the {fit_.tier} tier: {ram.found} for {ram.needed}"
    hardware = load_tiers().hardware(fit_.homeserver, fit_.tier)
    found = facts.effective_ram
    if hardware is None or found is None:
        return f"RAM: {ram.found} for {ram.needed}"
    ratio = found / hardware.ram
    if ratio < 1 + RAM_TOLERANCE:
        return f"RAM: about the {ram.needed} the {fit_.tier} tier asks, little headroom"
    return f"RAM headroom: {ratio:.1f}x the {ram.needed} the {fit_.tier} tier asks"


def _reasons(fit_: Fit, facts: HostFacts) -> list[str]:
    tables = load_tiers()
    name = fit_.homeserver
    comparison = tables.comparison_for(name)
    status = tables.status.homeservers[name]
    if fit_.tier == "below-minimum":
        reached = "does not reach its minimum tier"
    else:
        reached = f"reaches the {fit_.tier} tier ({tables.tiers[fit_.tier].audience.lower()})"
    borrowed = borrowed_figures(name)
    reasons = [
        reached,
        _headroom(fit_, facts),
        f"{borrowed or 'overview'}: maturity {comparison.maturity}, features "
        f"{comparison.features}, idle RAM {comparison.idle_ram}, setup {comparison.setup}",
        status.summary,
    ]
    if status.maintenance_only:
        reasons.append("ranked one tier lower: maintenance mode means no new features")
    reasons.extend(f"warning: {warning}" for warning in fit_.warnings)
    if fit_.next_tier is None and fit_.tier == "recommended":
        reasons.append(fit_.next_step)
    return reasons


def _by_minimum() -> list[Homeserver]:
    """Return the homeservers from the one whose minimum tier asks the least to the most."""

    def size(name: Homeserver) -> tuple[int, int, int]:
        hardware = load_tiers().hardware(name, "minimum")
        assert hardware is not None  # the tables are validated to define every minimum
        return (hardware.ram, hardware.cores, hardware.storage)

    return sorted(HOMESERVERS, key=size)


def _score(fit_: Fit) -> tuple[bool, int, int]:
    """Sort key: tier reached (one less for maintenance-only), then ties; below-minimum last."""
    rank = tier_rank(fit_.tier)
    if rank == 0:
        return (True, 0, _by_minimum().index(fit_.homeserver))
    status = load_tiers().status.homeservers[fit_.homeserver]
    score = rank - 1 if status.maintenance_only else rank
    return (False, -score, _TIE_ORDER.index(fit_.homeserver))


def _smallest_profile(homeserver: Homeserver, tier: Tier) -> Profile | None:
    """Return the smallest profile that reaches ``tier`` for ``homeserver``, if one does."""
    return next(iter(_profiles_meeting(homeserver, tier)), None)


def _profiles_meeting(homeserver: Homeserver, tier: Tier) -> list[Profile]:
    wanted = TIERS.index(tier) + 1
    return [
        profile
        for profile in list_profiles()
        if tier_rank(fit(load_profile(profile.name), homeserver).tier) >= wanted
    ]


def _way_forward(facts: HostFacts) -> tuple[list[Requirement], Profile | None, list[str]]:
    """Say what the machine lacks for the smallest minimum and what would work instead."""
    tables = load_tiers()
    smallest = _by_minimum()[0]
    lacking = [
        requirement
        for requirement in fit(facts, smallest).checks[0].requirements
        if not requirement.met
    ]
    profile = _smallest_profile(smallest, "minimum")
    display = DISPLAY_NAMES[smallest]
    advice = [
        f"{display} asks the least; for its minimum tier this machine lacks {_shortfall(lacking)}.",
    ]
    if profile is not None:
        advice.append(
            f"A machine like the {profile.name} profile ({format_cores(profile.cores)}, "
            f"{format_size(profile.ram)} RAM, {format_size(profile.disk)} disk) meets it, "
            "as would this one with more of what it lacks."
        )
    else:
        advice.append("A bigger machine with at least that much would meet it.")
    names = ", ".join(server.name for server in tables.public_homeservers.servers)
    advice.append(f"Or skip hosting and sign up on a public homeserver: {names}.")
    return lacking, profile, advice


def recommend(facts: HostFacts) -> Recommendation:
    """Rank every homeserver for a machine, with reasons and a way forward if none fits."""
    tables = load_tiers()
    fits = sorted((fit(facts, name) for name in HOMESERVERS), key=_score)
    ranking = [
        Choice(
            homeserver=item.homeserver, rank=place, tier=item.tier, reasons=_reasons(item, facts)
        )
        for place, item in enumerate(fits, start=1)
    ]
    best = fits[0]
    if best.tier != "below-minimum":
        display = DISPLAY_NAMES[best.homeserver]
        audience = tables.tiers[best.tier].audience.lower()
        return Recommendation(
            best=best.homeserver,
            below_minimum=False,
            summary=f"{display} suits this machine best: it reaches the {best.tier} tier "
            f"({audience}).",
            ranking=ranking,
            lacking=[],
            profile=None,
            public_homeservers=[],
            advice=[],
        )
    lacking, profile, advice = _way_forward(facts)
    return Recommendation(
        best=None,
        below_minimum=True,
        summary="This machine is below the minimum of every homeserver.",
        ranking=ranking,
        lacking=lacking,
        profile=profile,
        public_homeservers=list(tables.public_homeservers.servers),
        advice=advice,
    )


# --- Planning hardware for a homeserver -------------------------------------------------------


class HardwareNeed(FrozenModel):
    """The hardware to get for a homeserver at a tier, and the profiles that have it."""

    homeserver: Homeserver
    tier: Tier
    title: str
    audience: str
    source: str
    ram: int
    cores: int
    storage: int
    ssd: bool
    database: str
    ram_note: str
    profiles: list[Profile]


def hardware_for(homeserver: str, tier: str) -> HardwareNeed:
    """Return what to buy to run ``homeserver`` at ``tier``, with the profiles that meet it."""
    name = homeserver_name(homeserver)
    wanted = tier_name(tier)
    tables = load_tiers()
    hardware = tables.hardware(name, wanted)
    if hardware is None:
        raise UsageError(*_undefined_tier(name, wanted))
    successor = tables.successors.homeservers.get(name)
    support = tables.databases.homeservers[tables.figures_for(name)]
    database = hardware.database or (
        successor.database
        if successor
        else f"PostgreSQL: {support.postgresql.lower()}; SQLite: {support.sqlite.lower()}"
    )
    table = tables.tiers[wanted]
    borrowed = borrowed_figures(name)
    ram_floor = format_size(hardware.ram * (1 - RAM_TOLERANCE))
    return HardwareNeed(
        homeserver=name,
        tier=wanted,
        title=table.title,
        audience=table.audience,
        source=f"{table.source} ({borrowed})" if borrowed else table.source,
        ram=hardware.ram,
        cores=hardware.cores,
        storage=hardware.storage,
        ssd=hardware.ssd,
        database=database,
        ram_note=f"a plan sold with {format_size(hardware.ram)} may show a little less; "
        f"from {ram_floor} up it counts",
        profiles=_profiles_meeting(name, wanted),
    )
