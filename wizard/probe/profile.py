"""Machines for planning: the profiles in assets/profiles, or one described by its figures."""

from functools import cache

from pydantic import Field

from wizard.datafiles import FrozenModel, Size, read_model
from wizard.errors import UsageError
from wizard.paths import asset
from wizard.probe.facts import CpuFacts, DiskFacts, DiskKind, HostFacts, MemoryFacts

PROFILES_FOLDER = "profiles"
_HARDWARE_ONLY = "a planned machine is described by its hardware only"


class Profile(FrozenModel):
    """A common VPS plan or board: what it sells, with sizes in bytes (powers of 1024)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str
    cores: int = Field(ge=1)
    ram: Size = Field(gt=0)
    disk: Size = Field(gt=0, description="the plan's disk, all of it counted as free for planning")
    disk_kind: DiskKind
    arch: str | None = None


@cache
def _profiles() -> tuple[Profile, ...]:
    """Read every profile once, sorted from the smallest machine to the largest."""
    folder = asset(PROFILES_FOLDER)
    profiles = []
    for path in sorted(folder.glob("*.yaml")):
        profile = read_model(path, Profile)
        if profile.name != path.stem:
            raise UsageError(
                f"{path} names itself {profile.name!r}",
                f"a profile's name must match its file name, {path.stem!r}",
            )
        profiles.append(profile)
    return tuple(sorted(profiles, key=lambda p: (p.ram, p.cores, p.disk, p.name)))


def list_profiles() -> list[Profile]:
    """Return the machine profiles, from the smallest machine to the largest."""
    return list(_profiles())


def _by_name(name: str) -> Profile:
    """Return one profile by name, or say which names exist."""
    for profile in _profiles():
        if profile.name == name:
            return profile
    known = ", ".join(profile.name for profile in _profiles())
    raise UsageError(f"there is no machine profile {name!r}", f"choose one of: {known}")


def load_profile(name: str) -> HostFacts:
    """Return the HostFacts of a profile, for planning a machine before it exists."""
    profile = _by_name(name)
    return HostFacts(
        source="profile",
        cpu=CpuFacts(logical=profile.cores, physical=profile.cores, arch=profile.arch),
        memory=MemoryFacts(total=profile.ram),
        disk=DiskFacts(
            path="",
            total=profile.disk,
            free=profile.disk,
            kind=profile.disk_kind,
            kind_reason=f"from the {profile.name} profile",
        ),
        unknown={"system": _HARDWARE_ONLY},
    )


def describe_machine(
    cpus: int, ram: int, disk: int, kind: DiskKind, arch: str | None = None
) -> HostFacts:
    """Return the HostFacts of a machine given by cores, RAM, free disk in bytes and disk kind."""
    for label, value, example in (
        ("CPU cores", cpus, "2"),
        ("RAM", ram, "4G"),
        ("free disk", disk, "60G"),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UsageError(
                f"{label} must be a whole number more than zero, not {value!r}",
                f"give the machine's {label}, such as {example}",
            )
    kind_reason = (
        "given by hand"
        if kind is not DiskKind.UNKNOWN
        else "not given, so an SSD cannot be confirmed"
    )
    return HostFacts(
        source="manual",
        cpu=CpuFacts(logical=cpus, physical=cpus, arch=arch),
        memory=MemoryFacts(total=ram),
        disk=DiskFacts(
            path="", total=None, free=disk, kind=DiskKind(kind), kind_reason=kind_reason
        ),
        unknown={
            "disk.total": "only the free space was given",
            "system": _HARDWARE_ONLY,
        },
    )
