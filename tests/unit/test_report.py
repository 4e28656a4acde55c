"""The plain-text report: aligned, within 80 columns, with every figure and unknown shown."""

import json

import pytest

from tests.conftest import run_cli
from wizard.fit import report
from wizard.fit.tiers import HOMESERVERS, TIERS, fit, hardware_for, load_tiers, recommend
from wizard.probe.facts import (
    CpuFacts,
    DiskFacts,
    DiskKind,
    HostFacts,
    MemoryFacts,
    PortUse,
    SystemFacts,
)
from wizard.probe.profile import describe_machine, list_profiles, load_profile
from wizard.units import GIB, MIB, format_size

LONG = "the probe could not open /sys/fs/cgroup/memory.max because " + "x" * 90

LOCAL = HostFacts(
    source="local",
    hostname="matrix-host.example.org",
    cpu=CpuFacts(logical=16, physical=8, model="AMD EPYC 7B13 64-Core Processor", arch="x86_64"),
    memory=MemoryFacts(total=64 * GIB, available=50 * GIB, swap=2 * GIB, limit=int(3.8 * GIB)),
    disk=DiskFacts(
        path="/var/lib/a-rather-long/path/for/the/homeserver/data",
        total=512 * GIB,
        free=300 * GIB,
        kind=DiskKind.SSD,
        device="nvme0n1",
        kind_reason="rotational is 0 for nvme0n1",
    ),
    system=SystemFacts(
        os_id="debian",
        os_version="12",
        os_name="Debian GNU/Linux 12 (bookworm)",
        kernel="6.1.0-18-amd64",
        virtualization="kvm",
        is_root=False,
        passwordless_sudo=True,
    ),
    ports_in_use=[PortUse(port=80, process="nginx"), PortUse(port=3478, protocol="udp")],
    tools={"docker": True, "docker compose": True, "nginx": True, "caddy": False},
)

UNREADABLE = HostFacts(
    source="ssh",
    unknown={
        "memory.total": LONG,
        "cpu": "no /proc/cpuinfo",
        "disk": "statvfs failed",
        "system": "os-release is missing",
        "hostname": "hostname failed",
        "tools": "command -v is not available",
    },
)

MACHINES = {
    "local": LOCAL,
    "unreadable": UNREADABLE,
    "manual": describe_machine(1, 200 * MIB, 3 * GIB, DiskKind.UNKNOWN),
    **{profile.name: load_profile(profile.name) for profile in list_profiles()},
}


def all_output() -> list[tuple[str, str]]:
    """Every report the functions can give for the machines above, with a label."""
    outputs = [("profiles", report.profiles_table(list_profiles()))]
    for label, facts in MACHINES.items():
        outputs.append((f"facts-{label}", report.facts_table(facts)))
        outputs.append((f"recommend-{label}", report.recommendation_text(recommend(facts))))
        outputs.extend(
            (f"fit-{label}-{name}", report.fit_table(fit(facts, name))) for name in HOMESERVERS
        )
    for name in HOMESERVERS:
        for tier in TIERS:
            if load_tiers().hardware(name, tier) is not None:
                outputs.append(
                    (f"hardware-{name}-{tier}", report.hardware_text(hardware_for(name, tier)))
                )
    return outputs


OUTPUTS = all_output()


@pytest.mark.parametrize(("label", "text"), OUTPUTS, ids=[label for label, _ in OUTPUTS])
def test_every_report_fits_80_columns(label: str, text: str) -> None:
    assert text.strip()
    for line in text.splitlines():
        assert len(line) <= 80, f"{label}: {line!r}"
        assert line == line.rstrip()


def test_facts_show_sizes_limits_and_every_section() -> None:
    text = report.facts_table(LOCAL)
    for expected in (
        "matrix-host.example.org",
        "16 cores (8 physical)",
        format_size(64 * GIB),
        format_size(int(3.8 * GIB)),
        format_size(300 * GIB),
        format_size(512 * GIB),
        "SSD (rotational is 0 for nvme0n1)",
        "Debian GNU/Linux 12 (bookworm)",
        "sudo without a password",
        "80/tcp (nginx)",
        "3478/udp",
        "caddy",
    ):
        assert expected in " ".join(text.split()), expected


def squeeze(text: str) -> str:
    """Drop all whitespace, so text wrapped inside a cell compares with the original."""
    return "".join(text.split())


def column(lines: list[str], start: int, end: int | None) -> str:
    """Return the text of one table column, all its wrapped lines together."""
    return squeeze("".join(line[start:end] for line in lines))


def test_unknown_facts_read_unknown_with_the_reason() -> None:
    flat = " ".join(report.facts_table(UNREADABLE).split())
    assert "unknown (no /proc/cpuinfo)" in flat
    assert squeeze(f"unknown ({LONG})") in squeeze(flat)
    assert "unknown (statvfs failed)" in flat
    assert "unknown (os-release is missing)" in flat
    assert "unknown (command -v is not available)" in flat


def table_of(text: str) -> tuple[str, list[int], list[str]]:
    """Return a fit table's header, the start of each column and the body lines."""
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("Tier"))
    rule = lines[lines.index(header) + 1]
    starts = [
        index
        for index, char in enumerate(rule)
        if char == "-" and (index == 0 or rule[index - 1] == " ")
    ]
    body = []
    for line in lines[lines.index(header) + 2 :]:
        if line.startswith(("Next:", "Warning:")):
            break
        body.append(line)
    return header, starts, body


def test_fit_table_columns_line_up() -> None:
    header, starts, body = table_of(report.fit_table(fit(LOCAL, "synapse")))
    assert [header.index(name) for name in ("Tier", "Need", "Needed", "Found", "Result")] == starts
    results = {"met", "at edge", "missing", "unknown", "check", "note"}
    cells = [line[starts[-1] :].strip() for line in body]
    assert set(cells) - {""} <= results
    assert "at edge" in cells, "the 3.8 GiB memory limit is at the edge of 4 GiB"


@pytest.mark.parametrize("facts", [LOCAL, UNREADABLE], ids=["local", "unreadable"])
def test_fit_table_shows_every_requirement(facts: HostFacts) -> None:
    result = fit(facts, "synapse")
    text = report.fit_table(result)
    _, starts, body = table_of(text)
    needed = column(body, starts[2], starts[3])
    found = column(body, starts[3], starts[4])
    for check in result.checks:
        assert check.tier in column(body, 0, starts[1])
        for requirement in check.requirements:
            assert squeeze(requirement.found) in found
            assert squeeze(requirement.needed) in needed
    assert squeeze(result.next_step) in squeeze(text)
    for warning in result.warnings:
        assert squeeze(warning) in squeeze(text)


def test_conduit_fit_says_production_is_not_defined() -> None:
    flat = " ".join(report.fit_table(fit(LOCAL, "conduit")).split())
    assert "not defined by the overview" in flat
    assert "no production tier for Conduit" in flat


def test_below_minimum_text_names_a_profile_and_public_homeservers() -> None:
    rec = recommend(MACHINES["manual"])
    assert rec.below_minimum and rec.profile is not None
    flat = " ".join(report.recommendation_text(rec).split())
    assert "below the minimum of every homeserver" in flat
    assert rec.profile.name in flat
    for server in load_tiers().public_homeservers.servers:
        assert server.name in flat and server.url in flat


def test_recommendation_ranks_in_order() -> None:
    rec = recommend(load_profile("vps-8g"))
    text = report.recommendation_text(rec)
    positions = [text.index(f"{choice.rank}. ") for choice in rec.ranking]
    assert positions == sorted(positions)
    assert rec.summary.split(":")[0] in text


def test_profiles_table_lists_each_profile_with_its_figures() -> None:
    text = report.profiles_table(list_profiles())
    for profile in list_profiles():
        line = next(line for line in text.splitlines() if line.startswith(profile.name + " "))
        assert format_size(profile.ram) in line
        assert format_size(profile.disk) in line
        assert profile.disk_kind.value in line


def test_hardware_text_gives_the_figures_and_the_profiles() -> None:
    need = hardware_for("synapse", "production")
    text = report.hardware_text(need)
    flat = " ".join(text.split())
    assert format_size(need.ram) in flat
    assert format_size(need.storage) in flat and "SSD" in flat
    assert "PostgreSQL" in flat
    for profile in need.profiles:
        assert profile.name in text
    assert need.profiles


# --- Through the command line ------------------------------------------------------------------


def test_plan_prints_the_report() -> None:
    result = run_cli("plan", "--profile", "vps-4g")
    assert result.returncode == 0, result.stderr
    for name in ("Synapse", "Dendrite", "Conduit", "Recommendation"):
        assert name in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80


def test_plan_json_carries_fits_and_the_recommendation() -> None:
    result = run_cli("plan", "--cpus", "2", "--ram", "4G", "--disk", "60G", "--ssd", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert [item["homeserver"] for item in payload["fits"]] == list(HOMESERVERS)
    assert all(item["tier"] for item in payload["fits"])
    assert payload["recommendation"]["ranking"]


def test_hardware_for_conduit_production_exits_with_usage_error() -> None:
    result = run_cli("hardware", "conduit", "production")
    assert result.returncode == 2
    assert "no production tier for Conduit" in result.stderr
    assert "Traceback" not in result.stderr
