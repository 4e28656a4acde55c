"""tiers.yaml matches the overview; fit(), recommend() and hardware_for() follow the rules."""

import json
import math
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import FIXTURES
from wizard.errors import UsageError, WizardError
from wizard.fit.tiers import (
    DISPLAY_NAMES,
    HOMESERVERS,
    OVERVIEW_HOMESERVERS,
    TIERS,
    Fit,
    Hardware,
    Homeserver,
    Requirement,
    Tier,
    TierCheck,
    TierReached,
    fit,
    hardware_for,
    load_tiers,
    read_tiers,
    recommend,
    tier_rank,
    tier_shortfall,
)
from wizard.paths import asset
from wizard.probe.facts import CpuFacts, DiskFacts, DiskKind, HostFacts, MemoryFacts
from wizard.probe.profile import list_profiles, load_profile
from wizard.units import GIB, MIB, TIB, parse_size

OVERVIEW = FIXTURES / "homeservers-overview.md"
TABLES = load_tiers()

# The rule every threshold follows: RAM may fall 10% short and still count (a "4 GB" plan shows
# about 3.8 GiB); cores and free disk must be met in full.
TOLERANCE = {"ram": 0.10, "cpu": 0.0, "disk": 0.0}

DEFINED = [
    pytest.param(name, tier, hardware, id=f"{name}-{tier}")
    for tier in TIERS
    for name in HOMESERVERS
    if (hardware := TABLES.hardware(name, tier)) is not None
]


# --- Reading the overview's markdown ----------------------------------------------------------


def _section(markdown: str, heading: str) -> str:
    """Return the text under a heading, up to the next heading of the same or a higher level."""
    match = re.search(rf"^(#+) {re.escape(heading)}\s*$", markdown, re.MULTILINE)
    assert match, f"the overview has no heading {heading!r}"
    level = len(match.group(1))
    rest = markdown[match.end() :]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.MULTILINE)
    return rest[: end.start()] if end else rest


def _plain(cell: str) -> str:
    cell = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", cell)
    return cell.replace("**", "").strip()


def _table(text: str) -> list[list[str]]:
    """Return the first markdown table in ``text`` as rows of raw cells, header first."""
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.strip().startswith("|")
    ]
    assert rows, "no table found"
    return [row for row in rows if not all(set(cell) <= set("-: ") for cell in row)]


def _columns(text: str) -> dict[str, dict[str, str]]:
    """Return a table whose columns are homeservers as {homeserver: {row label: cell}}."""
    header, *rows = _table(text)
    return {
        _plain(name).lower(): {_plain(row[0]): row[column] for row in rows}
        for column, name in enumerate(header)
        if column > 0
    }


def _rows(text: str) -> dict[str, list[str]]:
    """Return a table keyed by its first column."""
    _, *rows = _table(text)
    return {_plain(row[0]).lower(): [_plain(cell) for cell in row[1:]] for row in rows}


def _hardware_from_cells(cells: dict[str, str]) -> Hardware:
    """Read one homeserver's column of a hardware table as the product should read it."""
    storage = cells["Storage"]
    cores = re.fullmatch(r"(\d+)\+? cores?", cells["CPU"])
    assert cores, cells["CPU"]
    return Hardware(
        ram=parse_size(cells["RAM"].replace("+", "")),
        cores=int(cores.group(1)),
        storage=parse_size(storage.replace("+", "").removesuffix("SSD")),
        ssd=storage.endswith("SSD"),
        database=cells.get("Database"),
    )


@pytest.fixture(scope="module")
def overview() -> str:
    return OVERVIEW.read_text(encoding="utf-8")


@pytest.mark.parametrize("tier", TIERS)
def test_hardware_tables_match_the_overview(overview: str, tier: Tier) -> None:
    table = TABLES.tiers[tier]
    section = _section(overview, table.title)
    assert table.audience + ":" in section
    columns = _columns(section)
    from_document = {name: _hardware_from_cells(cells) for name, cells in columns.items()}
    from_yaml = {name: hardware for name, hardware in table.homeservers.items() if hardware}
    assert from_yaml == from_document
    absent = {name for name, hardware in table.homeservers.items() if hardware is None}
    assert absent == set(OVERVIEW_HOMESERVERS) - set(columns)


def test_the_overview_has_no_production_column_for_conduit(overview: str) -> None:
    columns = _columns(_section(overview, "Production (Large Instance)"))
    assert "conduit" not in columns
    assert TABLES.hardware("conduit", "production") is None


def test_database_table_matches_the_overview(overview: str) -> None:
    rows = _rows(_section(overview, "Database"))
    assert set(rows) == set(OVERVIEW_HOMESERVERS)
    for name, support in TABLES.databases.homeservers.items():
        assert [support.sqlite, support.postgresql] == rows[name]


def test_quick_comparison_rows_match_the_overview(overview: str) -> None:
    columns = _columns(_section(overview, "Quick Comparison"))
    for name, comparison in TABLES.comparison.homeservers.items():
        cells = {label: _plain(cell) for label, cell in columns[name].items()}
        assert comparison.maturity == cells["Maturity"]
        assert comparison.features == cells["Features"]
        assert comparison.idle_ram == cells["RAM (idle)"]
        assert comparison.setup == cells["Setup"]
        assert comparison.idle_ram_bytes == parse_size(cells["RAM (idle)"].rstrip("+"))


def test_public_homeservers_match_the_overview(overview: str) -> None:
    _, *rows = _table(_section(overview, "Use a Public Homeserver"))
    from_document = []
    for row in rows:
        link = re.fullmatch(r"\[([^\]]+)\]\(([^)]+)\)", row[0])
        assert link, row[0]
        from_document.append([link.group(1), link.group(2), row[1], row[2]])
    from_yaml = [
        [server.name, server.url, server.registration, server.notes]
        for server in TABLES.public_homeservers.servers
    ]
    assert from_yaml == from_document


def test_every_cited_overview_section_exists(overview: str) -> None:
    sources = [
        *(TABLES.tiers[tier].source for tier in TIERS),
        TABLES.databases.source,
        TABLES.comparison.source,
        TABLES.public_homeservers.source,
    ]
    for source in sources:
        assert source.startswith("homeservers-overview.md")
        headings = re.findall(r'"([^"]+)"', source)
        assert headings, source
        for heading in headings:
            _section(overview, heading)


# --- Loading -----------------------------------------------------------------------------------


def test_load_tiers_is_read_once() -> None:
    assert load_tiers() is load_tiers()


def _shipped() -> str:
    return asset("tiers.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("broken", "words"),
    [
        pytest.param(lambda text: text + "\n  - [unclosed", "not valid YAML", id="not-yaml"),
        pytest.param(
            lambda text: text.replace("ram: 4 GB, cores: 2, storage: 50 GB", "ram: lots"),
            "does not hold",
            id="bad-size",
        ),
        pytest.param(
            lambda text: text.replace("synapse: {ram: 4 GB,", "synapse: {ram: 512 MB,"),
            "less in a higher tier",
            id="recommended-below-minimum",
        ),
        pytest.param(
            lambda text: text.replace(
                "      synapse: {ram: 4 GB, cores: 2, storage: 50 GB}\n", "      synapse: null\n"
            ),
            "no gaps",
            id="gap-between-tiers",
        ),
        pytest.param(
            lambda text: text.replace(
                "    conduit: {sqlite: Built-in, postgresql: Not needed}\n", ""
            ),
            "databases has no entry for conduit",
            id="missing-homeserver",
        ),
        pytest.param(lambda text: text.replace("tiers:", "layers:", 1), "does not hold", id="keys"),
        pytest.param(
            lambda text: text.replace(
                "    tuwunel: {figures_from: conduit, database: RocksDB only (built in)}\n", ""
            ),
            "successors has no entry for tuwunel",
            id="successor-without-figures",
        ),
        pytest.param(
            lambda text: text.replace(
                "    tuwunel: {figures_from: conduit,",
                "    dendrite: {figures_from: conduit, database: x}\n"
                "    tuwunel: {figures_from: conduit,",
            ),
            "successors lists dendrite, which the overview covers",
            id="successor-the-overview-covers",
        ),
    ],
)
def test_a_broken_tiers_file_is_a_clear_error(
    tmp_path: Path, broken: Callable[[str], str], words: str
) -> None:
    changed = broken(_shipped())
    assert changed != _shipped()
    path = tmp_path / "tiers.yaml"
    path.write_text(changed, encoding="utf-8")
    with pytest.raises(WizardError) as caught:
        read_tiers(path)
    assert words in caught.value.message
    assert caught.value.hint


def test_a_missing_tiers_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(WizardError, match="cannot read"):
        read_tiers(tmp_path / "absent.yaml")


# --- Fitting: the rules applied to each threshold ----------------------------------------------


def machine(
    ram: int,
    cores: float,
    free: int,
    kind: DiskKind = DiskKind.SSD,
    *,
    ram_limit: int | None = None,
) -> HostFacts:
    """Return a machine; fractional cores come from a CPU quota on a whole number of cores."""
    logical = math.ceil(cores)
    return HostFacts(
        cpu=CpuFacts(logical=logical, limit=None if cores == logical else cores),
        memory=MemoryFacts(total=ram, limit=ram_limit),
        disk=DiskFacts(total=free * 2, free=free, kind=kind, kind_reason="test disk"),
    )


def meets(resource: str, found: float, needed: float) -> bool:
    return found >= needed * (1 - TOLERANCE[resource])


def expected_tier(name: Homeserver, facts: HostFacts) -> TierReached:
    """Walk the tiers up with the rules until one is not met."""
    ram, cores, free = facts.effective_ram, facts.effective_cores, facts.disk.free
    assert ram is not None and cores is not None and free is not None
    reached: TierReached = "below-minimum"
    for tier in TIERS:
        hardware = TABLES.hardware(name, tier)
        if hardware is None:
            break
        if not (
            meets("ram", ram, hardware.ram)
            and meets("cpu", cores, hardware.cores)
            and meets("disk", free, hardware.storage)
            and not (hardware.ssd and facts.disk.kind is DiskKind.HDD)
        ):
            break
        reached = tier
    return reached


def check_of(result: Fit, tier: Tier) -> TierCheck:
    return next(check for check in result.checks if check.tier == tier)


def requirement_of(check: TierCheck, name: str) -> Requirement:
    return next(requirement for requirement in check.requirements if requirement.name == name)


def _probes(needed: float, step: float) -> dict[str, float]:
    """Values around a threshold: at it, a step under, inside and outside a 10% band."""
    return {
        "at": needed,
        "just-under": needed - step,
        "5%-under": needed * 0.95,
        "10%-under": needed * 0.9,
        "past-10%": needed * 0.9 - step,
        "above": needed * 1.5,
    }


@pytest.mark.parametrize(("name", "tier", "hardware"), DEFINED)
@pytest.mark.parametrize("resource", ["ram", "cpu", "disk"])
@pytest.mark.parametrize(
    "probe", ["at", "just-under", "5%-under", "10%-under", "past-10%", "above"]
)
def test_each_threshold_follows_the_rule(
    name: Homeserver, tier: Tier, hardware: Hardware, resource: str, probe: str
) -> None:
    needed = {"ram": hardware.ram, "cpu": hardware.cores, "disk": hardware.storage}[resource]
    step = 0.01 if resource == "cpu" else 1
    value = _probes(needed, step)[probe]
    if resource != "cpu":
        value = math.ceil(value)
    sizes = {"ram": hardware.ram, "cpu": float(hardware.cores), "disk": hardware.storage}
    sizes[resource] = value
    facts = machine(int(sizes["ram"]), sizes["cpu"], int(sizes["disk"]))

    result = fit(facts, name)
    check = check_of(result, tier)
    requirement = requirement_of(check, resource)

    expected = meets(resource, value, needed)
    assert requirement.met is expected
    assert requirement.at_edge is (expected and value < needed)
    assert check.met is expected
    assert result.tier == expected_tier(name, facts)
    if expected:
        assert tier_rank(result.tier) >= tier_rank(tier)
    else:
        assert tier_rank(result.tier) < tier_rank(tier)
        assert requirement.note


@pytest.mark.parametrize(("name", "tier", "hardware"), DEFINED)
def test_a_machine_at_a_tier_reaches_it_and_sees_what_comes_next(
    name: Homeserver, tier: Tier, hardware: Hardware
) -> None:
    facts = machine(hardware.ram, hardware.cores, hardware.storage)
    result = fit(facts, name)
    assert result.tier == expected_tier(name, facts)
    above = tier_rank(result.tier)
    if above < len(TIERS) and TABLES.hardware(name, TIERS[above]) is not None:
        following = check_of(result, TIERS[above])
        assert result.next_tier == TIERS[above]
        assert result.missing == [
            requirement
            for requirement in following.requirements
            if requirement.hardware and not requirement.met
        ]
        assert result.missing
        for requirement in result.missing:
            assert requirement.needed in result.next_step
    else:
        assert result.next_tier is None
        assert result.missing == []


@given(
    ram=st.integers(1, 32 * GIB),
    cores=st.integers(1, 32),
    free=st.integers(1, TIB),
    kind=st.sampled_from(list(DiskKind)),
    more=st.sampled_from(["ram", "cores", "free", "ssd"]),
)
def test_any_machine_fits_by_the_rules_and_more_never_fits_lower(
    ram: int, cores: int, free: int, kind: DiskKind, more: str
) -> None:
    facts = machine(ram, cores, free, kind)
    bigger = machine(
        ram * 2 if more == "ram" else ram,
        cores * 2 if more == "cores" else cores,
        free * 2 if more == "free" else free,
        DiskKind.SSD if more == "ssd" else kind,
    )
    for name in HOMESERVERS:
        result = fit(facts, name)
        assert result.tier == expected_tier(name, facts)
        assert tier_rank(fit(bigger, name).tier) >= tier_rank(result.tier)


def test_ram_within_the_tolerance_is_met_at_the_edge_like_a_4gb_vps() -> None:
    facts = machine(int(3.8 * GIB), 2, 60 * GIB)
    ram = requirement_of(check_of(fit(facts, "synapse"), "recommended"), "ram")
    assert ram.met and ram.at_edge
    assert "3.8 GiB" in ram.found
    assert any("RAM" in warning for warning in fit(facts, "synapse").warnings)


def test_the_shortfall_says_what_a_small_vps_lacks_for_synapse() -> None:
    said = tier_shortfall(load_profile("vps-512m"), "synapse", "minimum")
    assert said == "this machine lacks for Synapse's minimum tier: RAM 1 GiB (found 512 MiB)"


def test_the_shortfall_names_each_thing_lacking_and_one_that_could_not_be_read() -> None:
    facts = HostFacts(
        cpu=CpuFacts(logical=1),
        memory=MemoryFacts(total=None),
        disk=DiskFacts(total=20 * GIB, free=4 * GIB, kind=DiskKind.SSD),
    )
    said = tier_shortfall(facts, "Dendrite", "recommended")
    assert said.startswith("this machine lacks for Dendrite's recommended tier: RAM ")
    assert "RAM 2 GiB (could not be read)" in said
    assert "CPU 2 cores (found 1 core)" in said
    assert "disk 30 GiB free (found 4 GiB free of 20 GiB at /var/lib)" in said


def test_no_shortfall_where_the_machine_meets_the_tier_or_the_overview_has_none() -> None:
    big = machine(64 * GIB, 32, 4 * TIB)
    assert tier_shortfall(big, "synapse", "production") == ""
    assert tier_shortfall(machine(GIB, 1, 10 * GIB), "conduit", "production") == ""


def test_the_shortfall_refuses_an_unknown_homeserver_or_tier() -> None:
    facts = load_profile("vps-4g")
    with pytest.raises(UsageError, match="unknown homeserver"):
        tier_shortfall(facts, "matrix.org", "minimum")
    with pytest.raises(UsageError, match="unknown tier"):
        tier_shortfall(facts, "synapse", "huge")


def test_conduit_has_no_production_tier_and_says_so() -> None:
    big = machine(64 * GIB, 32, 4 * TIB)
    result = fit(big, "conduit")
    assert result.tier == "recommended"
    production = check_of(result, "production")
    assert not production.defined and not production.met and production.requirements == []
    assert result.next_tier is None and result.missing == []
    assert "no production tier for Conduit" in result.next_step
    for name in ("synapse", "dendrite"):
        assert fit(big, name).tier == "production"


def test_a_cgroup_limited_container_fits_only_what_its_limit_allows() -> None:
    limited = machine(64 * GIB, 16, TIB, ram_limit=GIB)
    as_much = machine(GIB, 16, TIB)
    unlimited = machine(64 * GIB, 16, TIB)
    for name in HOMESERVERS:
        assert fit(limited, name).tier == fit(as_much, name).tier == expected_tier(name, limited)
    assert fit(unlimited, "synapse").tier == "production"
    assert fit(limited, "synapse").tier != "production"
    ram = requirement_of(check_of(fit(limited, "synapse"), "minimum"), "ram")
    assert "memory limit" in ram.found and "64 GiB" in ram.found


def test_a_cpu_quota_counts_instead_of_the_host_cores() -> None:
    facts = HostFacts(
        cpu=CpuFacts(logical=16, limit=1.5),
        memory=MemoryFacts(total=64 * GIB),
        disk=DiskFacts(total=TIB, free=TIB, kind=DiskKind.SSD),
    )
    cpu = requirement_of(check_of(fit(facts, "synapse"), "recommended"), "cpu")
    assert not cpu.met
    assert "CPU quota" in cpu.found
    assert fit(facts, "synapse").tier == expected_tier("synapse", facts)


@pytest.mark.parametrize("name", ["synapse", "dendrite"])
def test_an_unknown_disk_kind_at_production_is_a_warning(name: Homeserver) -> None:
    hardware = TABLES.hardware(name, "production")
    assert hardware is not None and hardware.ssd
    facts = machine(hardware.ram, hardware.cores, hardware.storage, DiskKind.UNKNOWN)
    result = fit(facts, name)
    ssd = requirement_of(check_of(result, "production"), "ssd")
    assert result.tier == "production"
    assert ssd.met and not ssd.known and ssd.note
    assert any("SSD" in warning for warning in result.warnings)


@pytest.mark.parametrize("name", ["synapse", "dendrite"])
def test_an_hdd_fails_production(name: Homeserver) -> None:
    hardware = TABLES.hardware(name, "production")
    assert hardware is not None
    result = fit(machine(hardware.ram, hardware.cores, hardware.storage, DiskKind.HDD), name)
    assert result.tier == "recommended"
    assert result.next_tier == "production"
    assert [requirement.name for requirement in result.missing] == ["ssd"]


def test_the_production_database_is_a_note_not_a_check() -> None:
    result = fit(machine(8 * GIB, 4, 100 * GIB), "synapse")
    database = requirement_of(check_of(result, "production"), "database")
    assert not database.hardware
    assert database.needed == "PostgreSQL"
    assert result.tier == "production"


def test_unknown_facts_are_not_met_and_say_why() -> None:
    facts = HostFacts(
        unknown={
            "memory.total": "/proc/meminfo is unreadable",
            "cpu": "no CPU count",
            "disk.free": "statvfs failed",
        }
    )
    result = fit(facts, "conduit")
    assert result.tier == "below-minimum"
    minimum = check_of(result, "minimum")
    found = {requirement.name: requirement for requirement in minimum.requirements}
    assert found["ram"].found == "unknown (/proc/meminfo is unreadable)"
    assert found["cpu"].found == "unknown (no CPU count)"
    assert found["disk"].found == "unknown (statvfs failed)"
    assert all(not req.met and not req.known and req.note for req in found.values())


def test_disk_is_judged_on_free_space_with_the_total_shown() -> None:
    facts = HostFacts(
        cpu=CpuFacts(logical=4),
        memory=MemoryFacts(total=8 * GIB),
        disk=DiskFacts(path="/srv", total=200 * GIB, free=40 * GIB, kind=DiskKind.SSD),
    )
    disk = requirement_of(check_of(fit(facts, "synapse"), "recommended"), "disk")
    assert not disk.met
    assert disk.found == "40 GiB free of 200 GiB at /srv"
    assert "in use" in disk.note


def test_an_unknown_homeserver_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as caught:
        fit(machine(GIB, 1, 10 * GIB), "matrix-server")
    for name in HOMESERVERS:
        assert name in caught.value.hint


@pytest.mark.parametrize(("name", "tier", "hardware"), DEFINED)
def test_fit_serializes_to_json(name: Homeserver, tier: Tier, hardware: Hardware) -> None:
    payload = json.loads(
        json.dumps(fit(machine(hardware.ram, 2, 80 * GIB), name).model_dump(mode="json"))
    )
    assert payload["homeserver"] == name
    assert payload["tier"] in ("below-minimum", *TIERS)
    first = payload["checks"][0]["requirements"][0]
    assert {"name", "needed", "found", "met", "at_edge", "note"} <= set(first)


# --- Recommending ------------------------------------------------------------------------------


def _machines() -> list[HostFacts]:
    described = [
        machine(ram, cores, free)
        for ram in (128 * MIB, 600 * MIB, 2 * GIB, 4 * GIB, 16 * GIB)
        for cores in (1, 2, 4)
        for free in (3 * GIB, 25 * GIB, 200 * GIB)
    ]
    return described + [load_profile(profile.name) for profile in list_profiles()]


@pytest.mark.parametrize("facts", _machines())
def test_the_ranking_follows_the_fits(facts: HostFacts) -> None:
    result = recommend(facts)
    tiers = {choice.homeserver: choice.tier for choice in result.ranking}
    assert tiers == {name: fit(facts, name).tier for name in HOMESERVERS}
    assert [choice.rank for choice in result.ranking] == list(range(1, len(HOMESERVERS) + 1))
    running = [choice.tier != "below-minimum" for choice in result.ranking]
    assert running == sorted(running, reverse=True), "a homeserver that runs comes first"
    if any(running):
        assert result.best == result.ranking[0].homeserver and not result.below_minimum
        best_rank = tier_rank(result.ranking[0].tier)
        for choice in result.ranking[1:]:
            rank = tier_rank(choice.tier)
            maintenance = TABLES.status.homeservers[choice.homeserver].maintenance_only
            assert best_rank >= rank - (1 if maintenance else 0)
    else:
        assert result.best is None and result.below_minimum
    json.dumps(result.model_dump(mode="json"))


def test_dendrite_ranks_below_a_homeserver_reaching_the_same_tier() -> None:
    facts = load_profile("vps-4g")
    tiers = {name: fit(facts, name).tier for name in HOMESERVERS}
    order = [choice.homeserver for choice in recommend(facts).ranking]
    for name in ("synapse", "conduit"):
        if tier_rank(tiers[name]) >= tier_rank(tiers["dendrite"]) - 1:
            assert order.index(name) < order.index("dendrite")


def test_reasons_name_the_tier_headroom_and_maturity() -> None:
    result = recommend(load_profile("vps-8g"))
    reasons = {choice.homeserver: " ".join(choice.reasons) for choice in result.ranking}
    assert "maintenance mode" in reasons["dendrite"]
    assert "Beta" in reasons["conduit"]
    assert "no production tier for Conduit" in reasons["conduit"]
    assert "Complete" in reasons["synapse"]
    assert all("RAM" in text for text in reasons.values())
    assert result.best == "synapse"


def test_below_every_minimum_points_to_a_profile_and_a_public_homeserver() -> None:
    facts = machine(128 * MIB, 1, GIB)
    result = recommend(facts)
    assert result.below_minimum and result.best is None
    assert result.lacking and all(not requirement.met for requirement in result.lacking)
    smallest = min(
        HOMESERVERS,
        key=lambda name: (
            TABLES.hardware(name, "minimum").ram,  # type: ignore[union-attr]
            TABLES.hardware(name, "minimum").cores,  # type: ignore[union-attr]
        ),
    )
    meeting = [
        profile
        for profile in list_profiles()
        if fit(load_profile(profile.name), smallest).tier != "below-minimum"
    ]
    assert result.profile == meeting[0]
    advice = " ".join(result.advice)
    assert meeting[0].name in advice
    assert result.public_homeservers == TABLES.public_homeservers.servers
    assert any(server.name in advice for server in TABLES.public_homeservers.servers)


# --- Planning hardware -------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "tier", "hardware"), DEFINED)
def test_hardware_for_gives_the_table_and_exactly_the_profiles_that_meet_it(
    name: Homeserver, tier: Tier, hardware: Hardware
) -> None:
    need = hardware_for(name, tier)
    assert (need.ram, need.cores, need.storage, need.ssd) == (
        hardware.ram,
        hardware.cores,
        hardware.storage,
        hardware.ssd,
    )
    successor = TABLES.successors.homeservers.get(name)
    if hardware.database:
        assert need.database == hardware.database
    elif successor:
        assert need.database == successor.database
        assert f"the overview's figures for {DISPLAY_NAMES[successor.figures_from]}" in need.source
    else:
        support = TABLES.databases.homeservers[TABLES.figures_for(name)]
        assert support.postgresql.lower() in need.database
    listed = {profile.name for profile in need.profiles}
    for profile in list_profiles():
        reached = tier_rank(fit(load_profile(profile.name), name).tier)
        assert (profile.name in listed) is (reached >= tier_rank(tier))
    json.dumps(need.model_dump(mode="json"))


def test_hardware_for_conduit_production_explains_the_gap() -> None:
    with pytest.raises(UsageError) as caught:
        hardware_for("conduit", "production")
    assert "no production tier for Conduit" in caught.value.message
    assert "recommended" in caught.value.hint
    assert "Synapse" in caught.value.hint


@pytest.mark.parametrize(("name", "tier"), [("synapse", "huge"), ("matrix", "minimum")])
def test_hardware_for_unknown_names_is_a_usage_error(name: str, tier: str) -> None:
    with pytest.raises(UsageError, match="unknown"):
        hardware_for(name, tier)
