"""Plain-text tables of facts, fits, recommendations, profiles and hardware, within 80 columns."""

import textwrap
from collections.abc import Sequence

from wizard.fit.tiers import (
    DISPLAY_NAMES,
    LABELS,
    Fit,
    HardwareNeed,
    Recommendation,
    Requirement,
    TierCheck,
    borrowed_figures,
    unknown_fact,
)
from wizard.probe.facts import DiskKind, HostFacts
from wizard.probe.profile import Profile
from wizard.units import format_cores, format_size

WIDTH = 80
_GAP = "  "
_SOURCES = {
    "local": "this machine",
    "ssh": "a machine reached over SSH",
    "profile": "a machine profile",
    "manual": "a machine described by hand",
}


def _wrap(text: str, indent: str = "", width: int = WIDTH) -> list[str]:
    """Wrap text to the report width, indenting every line."""
    return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent) or [""]


def _cells(cells: Sequence[str], widths: Sequence[int]) -> list[str]:
    """Lay out one table row, wrapping each cell within its column."""
    wrapped = [
        textwrap.wrap(cell, width) or [""] for cell, width in zip(cells, widths, strict=True)
    ]
    height = max(len(lines) for lines in wrapped)
    return [
        _GAP.join(
            (lines[row] if row < len(lines) else "").ljust(width)
            for lines, width in zip(wrapped, widths, strict=True)
        ).rstrip()
        for row in range(height)
    ]


def _table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    caps: Sequence[int],
    details: Sequence[str] = (),
    width: int = WIDTH,
) -> list[str]:
    """Lay out an aligned table; ``caps`` bound every column but the last, which takes the rest."""
    widths = [
        min(cap, max(len(headers[column]), *(len(row[column]) for row in rows)))
        for column, cap in enumerate(caps)
    ]
    room = width - sum(widths) - len(_GAP) * len(widths)
    last = len(headers) - 1
    widths.append(min(room, max(len(headers[last]), *(len(row[last]) for row in rows))))
    lines = _cells(headers, widths)
    lines.append(_GAP.join("-" * width for width in widths))
    for index, row in enumerate(rows):
        lines.extend(_cells(row, widths))
        if index < len(details) and details[index]:
            lines.extend(_wrap(details[index], indent="    ", width=width))
    return lines


def _pairs(pairs: Sequence[tuple[str, str]], indent: str = "  ") -> list[str]:
    """Lay out label-value lines, values wrapped and aligned after the longest label."""
    label_width = max(len(label) for label, _ in pairs)
    lead = len(indent) + label_width + len(_GAP)
    lines = []
    for label, value in pairs:
        wrapped = textwrap.wrap(value, WIDTH - lead) or [""]
        lines.append(f"{indent}{label.ljust(label_width)}{_GAP}{wrapped[0]}".rstrip())
        lines.extend(" " * lead + line for line in wrapped[1:])
    return lines


# --- Facts ------------------------------------------------------------------------------------


def _cpu_text(facts: HostFacts) -> str:
    cpu = facts.cpu
    if cpu.logical is None and cpu.limit is None:
        return unknown_fact(facts, "cpu.logical", "cpu")
    parts = [format_cores(cpu.logical) if cpu.logical is not None else "cores unknown"]
    if cpu.physical is not None and cpu.physical != cpu.logical:
        parts[0] += f" ({cpu.physical} physical)"
    parts.extend(value for value in (cpu.model, cpu.arch) if value)
    if cpu.limit is not None:
        parts.append(f"a CPU quota allows {format_cores(cpu.limit)}")
    return ", ".join(parts)


def _ram_text(facts: HostFacts) -> str:
    memory = facts.memory
    if memory.total is None and memory.limit is None:
        return unknown_fact(facts, "memory.total", "memory")
    parts = [
        f"{format_size(memory.total)} total"
        if memory.total is not None
        else unknown_fact(facts, "memory.total", "memory")
    ]
    if memory.available is not None:
        parts.append(f"{format_size(memory.available)} available")
    if memory.limit is not None:
        parts.append(f"a memory limit allows {format_size(memory.limit)}")
    if memory.swap is not None:
        parts.append(f"swap {format_size(memory.swap)}")
    return ", ".join(parts)


def _disk_text(facts: HostFacts) -> str:
    disk = facts.disk
    if disk.free is None:
        text = unknown_fact(facts, "disk.free", "disk")
    else:
        text = f"{format_size(disk.free)} free"
        if disk.total is not None:
            text += f" of {format_size(disk.total)}"
    if disk.path:
        text += f" at {disk.path}"
    kind = disk.kind.value.upper() if disk.kind is not DiskKind.UNKNOWN else "kind unknown"
    if disk.kind_reason:
        kind += f" ({disk.kind_reason})"
    elif disk.kind is DiskKind.UNKNOWN:
        kind = "kind " + unknown_fact(facts, "disk.kind", "disk")
    return f"{text}; {kind}"


def _system_text(facts: HostFacts) -> str:
    system = facts.system
    name = system.os_name or " ".join(part for part in (system.os_id, system.os_version) if part)
    parts = [name] if name else []
    if system.kernel:
        parts.append(f"kernel {system.kernel}")
    if system.virtualization:
        parts.append(f"virtualization {system.virtualization}")
    return ", ".join(parts) or unknown_fact(facts, "system.os", "system")


def _rights_text(facts: HostFacts) -> str:
    system = facts.system
    if system.is_root:
        return "root"
    if system.passwordless_sudo:
        return "sudo without a password"
    if system.is_root is None and system.passwordless_sudo is None:
        return unknown_fact(facts, "system.is_root", "rights")
    return "neither root nor sudo without a password"


def _ports_text(facts: HostFacts) -> str:
    if not facts.ports_in_use:
        return unknown_fact(facts, "ports") if "ports" in facts.unknown else "none of them in use"
    return ", ".join(
        f"{use.port}/{use.protocol}" + (f" ({use.process})" if use.process else "")
        for use in facts.ports_in_use
    )


def _tools_text(facts: HostFacts) -> str:
    if not facts.tools:
        return unknown_fact(facts, "tools")
    found = [name for name, present in facts.tools.items() if present]
    absent = [name for name, present in facts.tools.items() if not present]
    parts = []
    if found:
        parts.append("found: " + ", ".join(found))
    if absent:
        parts.append("missing: " + ", ".join(absent))
    return "; ".join(parts)


def facts_table(facts: HostFacts) -> str:
    """Return the machine's facts as aligned label-value lines."""
    pairs = [
        ("Hostname", facts.hostname or unknown_fact(facts, "hostname", "system")),
        ("CPU", _cpu_text(facts)),
        ("RAM", _ram_text(facts)),
        ("Disk", _disk_text(facts)),
        ("System", _system_text(facts)),
    ]
    if facts.source in ("local", "ssh"):
        pairs += [
            ("Rights", _rights_text(facts)),
            ("Ports in use", _ports_text(facts)),
            ("Tools", _tools_text(facts)),
        ]
    else:
        pairs = [pair for pair in pairs if pair[0] != "Hostname" or facts.hostname]
    return "\n".join([f"Machine: {_SOURCES[facts.source]}", *_pairs(pairs)])


# --- Fits -------------------------------------------------------------------------------------


def _result(requirement: Requirement) -> str:
    if not requirement.hardware:
        return "note"
    if requirement.at_edge:
        return "at edge"
    if requirement.met:
        return "check" if requirement.note else "met"
    return "missing" if requirement.known else "unknown"


def _tier_rows(check: TierCheck) -> list[list[str]]:
    if not check.defined:
        return [[check.tier, "", "", "not defined by the overview", ""]]
    return [
        [
            check.tier if index == 0 else "",
            LABELS[requirement.name],
            requirement.needed,
            requirement.found,
            _result(requirement),
        ]
        for index, requirement in enumerate(check.requirements)
    ]


def fit_table(fit: Fit) -> str:
    """Return one homeserver's fit: every tier's requirements beside the machine, and what next."""
    name = DISPLAY_NAMES[fit.homeserver]
    if fit.tier == "below-minimum":
        heading = f"{name}: below the minimum tier"
    else:
        check = next(check for check in fit.checks if check.tier == fit.tier)
        heading = f"{name}: {fit.tier} tier ({check.audience.lower()})"
    borrowed = borrowed_figures(fit.homeserver)
    if borrowed:
        heading += f"; tiers from {borrowed}, which has no column for {name}"
    rows = [row for check in fit.checks for row in _tier_rows(check)]
    lines = [
        *_wrap(heading),
        *_table(("Tier", "Need", "Needed", "Found", "Result"), rows, (11, 8, 12, 30)),
    ]
    for warning in fit.warnings:
        lines.extend(_wrap(f"Warning: {warning}"))
    lines.extend(_wrap(f"Next: {fit.next_step}"))
    return "\n".join(lines)


# --- Recommendation ---------------------------------------------------------------------------


def recommendation_text(rec: Recommendation) -> str:
    """Return the ranking with its reasons, and a way forward when nothing fits."""
    lines = _wrap(f"Recommendation: {rec.summary}")
    for choice in rec.ranking:
        tier = "below minimum" if choice.tier == "below-minimum" else choice.tier
        lines.append(f"  {choice.rank}. {DISPLAY_NAMES[choice.homeserver]} - {tier}")
        for reason in choice.reasons:
            lines.extend(
                textwrap.wrap(reason, WIDTH, initial_indent="     - ", subsequent_indent="       ")
            )
    if rec.advice:
        lines.append("What would work instead:")
        for advice in rec.advice:
            lines.extend(
                textwrap.wrap(advice, WIDTH, initial_indent="  - ", subsequent_indent="    ")
            )
    if rec.public_homeservers:
        lines.append("Public homeservers (from the overview):")
        rows = [
            [server.name, server.url, server.registration, server.notes]
            for server in rec.public_homeservers
        ]
        headers = ("Name", "Address", "Sign-up", "Notes")
        table = _table(headers, rows, (12, 26, 8), width=WIDTH - 2)
        lines.extend("  " + line for line in table)
    return "\n".join(line.rstrip() for line in lines)


# --- Profiles and hardware --------------------------------------------------------------------


def profiles_table(profiles: Sequence[Profile]) -> str:
    """Return the machine profiles as a table, each with its description beneath."""
    if not profiles:
        return "No machine profiles."
    return "\n".join(_profile_lines(profiles, WIDTH))


def _profile_lines(profiles: Sequence[Profile], width: int) -> list[str]:
    """Lay out the profiles table within ``width`` columns."""
    rows = [
        [
            profile.name,
            str(profile.cores),
            format_size(profile.ram),
            format_size(profile.disk),
            profile.disk_kind.value,
            profile.arch or "any",
        ]
        for profile in profiles
    ]
    headers = ("Profile", "Cores", "RAM", "Disk", "Kind", "Arch")
    details = [profile.description for profile in profiles]
    return _table(headers, rows, (16, 5, 9, 9, 7), details, width)


def hardware_text(need: HardwareNeed) -> str:
    """Return the hardware to get for a homeserver and tier, and the profiles that have it."""
    name = DISPLAY_NAMES[need.homeserver]
    disk = f"{format_size(need.storage)} free" + (", on an SSD" if need.ssd else "")
    lines = [
        f"{name} at the {need.tier} tier ({need.audience.lower()})",
        *_pairs(
            [
                ("RAM", f"{format_size(need.ram)} ({need.ram_note})"),
                ("CPU", format_cores(need.cores)),
                ("Disk", disk),
                ("Database", need.database),
                ("Source", need.source),
            ]
        ),
    ]
    if need.profiles:
        lines.append("Profiles that meet it:")
        lines.extend("  " + line for line in _profile_lines(need.profiles, WIDTH - 2))
    else:
        lines.append("No machine profile meets it: look for a plan with at least the above.")
    return "\n".join(lines)
