"""Pure parsers that turn the text of /proc, /sys and /etc files into values.

Every function takes file contents as strings, so the same code reads this machine, a remote
machine whose files came back over SSH, and the recorded fixtures of the tests. Malformed text
raises ValueError with a message; absent files are the caller's business.
"""

import re
import shlex
from dataclasses import dataclass, field

from wizard.units import KIB

# cgroup v1 reports "no limit" as the largest signed 64-bit number rounded down to a page.
CGROUP1_NO_LIMIT_FLOOR = 2**62

# ARM Ltd. (implementer 0x41) core names by "CPU part", for boards whose cpuinfo has no model.
_ARM_CORES = {
    "0xd03": "Cortex-A53",
    "0xd04": "Cortex-A35",
    "0xd05": "Cortex-A55",
    "0xd07": "Cortex-A57",
    "0xd08": "Cortex-A72",
    "0xd09": "Cortex-A73",
    "0xd0a": "Cortex-A75",
    "0xd0b": "Cortex-A76",
    "0xd0c": "Neoverse-N1",
    "0xd0d": "Cortex-A77",
    "0xd40": "Neoverse-V1",
    "0xd41": "Cortex-A78",
    "0xd49": "Neoverse-N2",
    "0xd4f": "Neoverse-V2",
}

_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class CpuInfo:
    """What /proc/cpuinfo tells: processor numbers, cores, a model name and the CPU flags."""

    processors: tuple[int, ...]
    physical: int | None
    model: str | None
    flags: frozenset[str] = field(default_factory=frozenset)

    @property
    def logical(self) -> int | None:
        """Return the number of online logical processors, or None if none were listed."""
        return len(self.processors) or None


@dataclass(frozen=True)
class MemInfo:
    """RAM and swap from /proc/meminfo, in bytes."""

    total: int | None
    available: int | None
    swap: int | None


@dataclass(frozen=True)
class OsRelease:
    """The distribution's ID, VERSION_ID and PRETTY_NAME from os-release."""

    id: str | None
    version_id: str | None
    pretty_name: str | None


@dataclass(frozen=True)
class CgroupMembership:
    """One line of /proc/<pid>/cgroup: hierarchy number, controllers and the cgroup's path."""

    hierarchy: int
    controllers: tuple[str, ...]
    path: str


@dataclass(frozen=True)
class Mount:
    """One line of /proc/<pid>/mountinfo."""

    major: int
    minor: int
    root: str
    mount_point: str
    fstype: str
    source: str
    super_options: tuple[str, ...]


def _key_values(text: str, separator: str) -> list[tuple[str, str]]:
    pairs = []
    for line in text.splitlines():
        key, found, value = line.partition(separator)
        if found:
            pairs.append((key.strip(), value.strip()))
    return pairs


def _arm_model(fields: dict[str, str]) -> str | None:
    board = fields.get("Model") or fields.get("Hardware")
    part = fields.get("CPU part")
    core = None
    if part:
        known = _ARM_CORES.get(part.lower()) if fields.get("CPU implementer") == "0x41" else None
        core = known or f"CPU part {part}"
    if board and core:
        return f"{board} ({core})"
    return board or core


def parse_cpuinfo(text: str) -> CpuInfo:
    """Return processors, physical cores, model and flags from /proc/cpuinfo (x86 or ARM)."""
    processors: list[int] = []
    core_pairs: set[tuple[str, str]] = set()
    packages: set[str] = set()
    cores_per_package: int | None = None
    first: dict[str, str] = {}
    current_package = "0"
    for key, value in _key_values(text, ":"):
        first.setdefault(key, value)
        if key == "processor" and value.isdigit():
            processors.append(int(value))
            current_package = "0"
        elif key == "physical id":
            current_package = value
            packages.add(value)
        elif key == "core id":
            core_pairs.add((current_package, value))
        elif key == "cpu cores" and value.isdigit():
            cores_per_package = int(value)
    if core_pairs:
        physical: int | None = len(core_pairs)
    elif cores_per_package:
        physical = cores_per_package * max(len(packages), 1)
    else:
        physical = None
    model = first.get("model name") or first.get("cpu model") or _arm_model(first)
    flags = frozenset((first.get("flags") or first.get("Features") or "").split())
    return CpuInfo(tuple(processors), physical, model or None, flags)


def parse_cpu_list(text: str) -> frozenset[int]:
    """Return the CPU numbers in a kernel CPU list such as ``0-3,8,10-11``."""
    numbers: set[int] = set()
    for part in text.strip().split(","):
        if not part:
            continue
        low, dash, high = part.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            raise ValueError(f"CPU list {text.strip()!r} is not understood")
        numbers.update(range(int(low), int(high if dash else low) + 1))
    return frozenset(numbers)


def count_physical_cores(sibling_lists: list[str]) -> int | None:
    """Return the number of cores from each CPU's topology/thread_siblings_list text."""
    cores = {parse_cpu_list(text) for text in sibling_lists}
    return len(cores) or None


def parse_cpus_allowed(status_text: str) -> int | None:
    """Return how many CPUs the process may run on, from Cpus_allowed_list in /proc/self/status."""
    for key, value in _key_values(status_text, ":"):
        if key == "Cpus_allowed_list":
            return len(parse_cpu_list(value)) or None
    return None


def parse_meminfo(text: str) -> MemInfo:
    """Return MemTotal, MemAvailable and SwapTotal from /proc/meminfo, in bytes."""
    values: dict[str, int] = {}
    for key, value in _key_values(text, ":"):
        number, _, unit = value.partition(" ")
        if number.isdigit():
            values[key] = int(number) * (KIB if unit.strip().lower() == "kb" else 1)
    return MemInfo(values.get("MemTotal"), values.get("MemAvailable"), values.get("SwapTotal"))


def _unquote(value: str) -> str:
    try:
        words = shlex.split(value)
    except ValueError:
        return value.strip("\"'")
    return " ".join(words)


def parse_os_release(text: str) -> OsRelease:
    """Return ID, VERSION_ID and PRETTY_NAME from os-release, with quotes removed."""
    values = {}
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        key, found, value = line.partition("=")
        if found:
            values[key.strip()] = _unquote(value.strip()) or None
    return OsRelease(values.get("ID"), values.get("VERSION_ID"), values.get("PRETTY_NAME"))


def parse_kernel_release(text: str) -> str | None:
    """Return the kernel release from /proc/sys/kernel/osrelease."""
    return text.strip() or None


def _integer(text: str, what: str) -> int:
    value = text.strip()
    if not re.fullmatch(r"-?\d+", value):
        raise ValueError(f"{what} holds {value!r}, not a number")
    return int(value)


def parse_cgroup2_memory_max(text: str) -> int | None:
    """Return the memory limit in bytes from cgroup v2 memory.max, or None for "max"."""
    if text.strip() == "max":
        return None
    return _integer(text, "memory.max")


def parse_cgroup2_cpu_max(text: str) -> float | None:
    """Return the CPU quota in cores from cgroup v2 cpu.max ("200000 100000" is 2), None if max."""
    parts = text.split()
    if len(parts) != 2:
        raise ValueError(f"cpu.max holds {text.strip()!r}, not 'QUOTA PERIOD'")
    if parts[0] == "max":
        return None
    quota, period = _integer(parts[0], "cpu.max"), _integer(parts[1], "cpu.max")
    if quota <= 0 or period <= 0:
        raise ValueError(f"cpu.max holds {text.strip()!r}, not a positive quota and period")
    return quota / period


def parse_cgroup1_memory_limit(text: str, host_ram: int | None) -> int | None:
    """Return the cgroup v1 memory limit in bytes, or None for the sentinel or a limit >= RAM."""
    limit = _integer(text, "memory.limit_in_bytes")
    if limit >= CGROUP1_NO_LIMIT_FLOOR or (host_ram is not None and limit >= host_ram):
        return None
    return limit


def parse_cgroup1_cpu_quota(quota_text: str, period_text: str) -> float | None:
    """Return the CPU quota in cores from cpu.cfs_quota_us and cpu.cfs_period_us, None if -1."""
    quota = _integer(quota_text, "cpu.cfs_quota_us")
    if quota < 0:
        return None
    period = _integer(period_text, "cpu.cfs_period_us")
    if quota == 0 or period <= 0:
        raise ValueError(f"CPU quota {quota}/{period} is not a positive quota and period")
    return quota / period


def parse_proc_cgroup(text: str) -> list[CgroupMembership]:
    """Return the lines of /proc/<pid>/cgroup: v1 hierarchies and the v2 line ``0::/path``."""
    memberships = []
    for line in text.splitlines():
        if not line.strip():
            continue
        number, _, rest = line.partition(":")
        controllers, found, path = rest.partition(":")
        if not found or not number.isdigit():
            raise ValueError(f"cgroup line {line!r} is not 'ID:CONTROLLERS:PATH'")
        names = tuple(name for name in controllers.split(",") if name)
        memberships.append(CgroupMembership(int(number), names, path))
    return memberships


def unescape_mount_field(text: str) -> str:
    r"""Return a mountinfo field with its octal escapes (``\040`` for a space) decoded."""
    return _OCTAL_ESCAPE.sub(lambda match: chr(int(match.group(1), 8)), text)


def parse_mountinfo(text: str) -> list[Mount]:
    """Return the mounts listed in /proc/<pid>/mountinfo, in their order."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        try:
            separator = fields.index("-", 6)
            major, minor = (int(number) for number in fields[2].split(":"))
            fstype, source, options = fields[separator + 1 : separator + 4]
        except ValueError:
            raise ValueError(f"mountinfo line {line!r} is not understood") from None
        mounts.append(
            Mount(
                major=major,
                minor=minor,
                root=unescape_mount_field(fields[3]),
                mount_point=unescape_mount_field(fields[4]),
                fstype=fstype,
                source=unescape_mount_field(source),
                super_options=tuple(options.split(",")),
            )
        )
    return mounts


def _is_within(path: str, folder: str) -> bool:
    return folder == "/" or path == folder or path.startswith(folder.rstrip("/") + "/")


def find_mount(mounts: list[Mount], path: str) -> Mount | None:
    """Return the mount holding an absolute path: the deepest mount point, the last if stacked."""
    best: Mount | None = None
    for mount in mounts:
        if _is_within(path, mount.mount_point) and (
            best is None or len(mount.mount_point) >= len(best.mount_point)
        ):
            best = mount
    return best


def cgroup_folders(
    memberships: list[CgroupMembership], mounts: list[Mount], controller: str | None
) -> list[str]:
    """Return the folders of the process's cgroup and its ancestors, deepest first.

    ``controller`` None means the cgroup v2 hierarchy; a name such as ``memory`` means that
    cgroup v1 controller. A mount whose root is the cgroup itself (a container's view) maps the
    process's path onto the mount point; ancestors are followed up to the mount point only.
    """
    folders: list[str] = []
    for membership in memberships:
        if controller is None:
            wanted = membership.hierarchy == 0 and not membership.controllers
            fstype = "cgroup2"
        else:
            wanted = controller in membership.controllers
            fstype = "cgroup"
        if not wanted:
            continue
        for mount in mounts:
            if mount.fstype != fstype:
                continue
            if controller is not None and controller not in mount.super_options:
                continue
            if mount.root == "/":
                relative = membership.path
            elif _is_within(membership.path, mount.root):
                relative = membership.path[len(mount.root) :]
            else:
                relative = ""
            top = mount.mount_point.rstrip("/") or "/"
            folder = (top.rstrip("/") + relative).rstrip("/") or "/"
            while True:
                if folder not in folders:
                    folders.append(folder)
                if folder == top or not _is_within(folder, top):
                    break
                folder = folder.rsplit("/", 1)[0] or "/"
    return folders


def parse_block_link(target: str) -> tuple[str, str | None]:
    """Return (device, the folder it sits in) from a /sys/dev/block or /sys/class/block link.

    ``../../devices/.../block/vda/vda1`` gives ("vda1", "vda"); the folder is the parent disk
    when it is itself a disk listed in /sys/block (NVMe disks sit in ``nvme0``, a controller).
    """
    parts = [part for part in target.split("/") if part and part != ".."]
    if not parts:
        raise ValueError(f"block device link {target!r} names no device")
    return parts[-1], parts[-2] if len(parts) >= 2 else None


def parse_rotational(text: str) -> bool:
    """Return True if a queue/rotational file says the disk spins ("1"), False for "0"."""
    value = text.strip()
    if value not in ("0", "1"):
        raise ValueError(f"queue/rotational holds {value!r}, not 0 or 1")
    return value == "1"


def parse_df_line(line: str) -> tuple[int, int]:
    """Return (total, free) bytes from the last line of ``df -Pk PATH``."""
    fields = line.split()
    numbers = [field for field in fields if field.isdigit()]
    if len(numbers) < 3:
        raise ValueError(f"df line {line.strip()!r} has no size columns")
    total, _used, free = (int(number) * KIB for number in numbers[:3])
    return total, free


def parse_listening_ports(text: str, protocol: str) -> set[int]:
    """Return the local ports in /proc/net/{tcp,tcp6,udp,udp6}: LISTEN (0A) for tcp, any for udp."""
    ports: set[int] = set()
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4:
            continue
        _, _, port = fields[1].rpartition(":")
        if protocol == "tcp" and fields[3] != "0A":
            continue
        try:
            ports.add(int(port, 16))
        except ValueError:
            raise ValueError(f"socket line {line.strip()!r} has no local port") from None
    return ports


def container_from_environ(text: str) -> str | None:
    """Return the ``container=`` value of a NUL-separated /proc/1/environ, if any."""
    for entry in text.split("\0"):
        key, found, value = entry.partition("=")
        if found and key == "container" and value:
            return value
    return None


def container_from_cgroup(text: str) -> str | None:
    """Return docker, kubernetes or lxc when /proc/1/cgroup paths show a container runtime."""
    for membership in parse_proc_cgroup(text):
        path = membership.path
        if "kubepods" in path:
            return "kubernetes"
        if "/docker/" in path or "/docker-" in path or path.startswith("/docker"):
            return "docker"
        if "/lxc/" in path or "/lxc.payload" in path or path.startswith("/lxc"):
            return "lxc"
    return None


# (substring of sys_vendor or product_name, lowercase) -> hypervisor, first match wins.
_DMI_HYPERVISORS = (
    ("kvm", "kvm"),
    ("amazon ec2", "amazon"),
    ("google", "google"),
    ("vmware", "vmware"),
    ("virtualbox", "virtualbox"),
    ("innotek", "virtualbox"),
    ("xen", "xen"),
    ("parallels", "parallels"),
    ("bochs", "bochs"),
    ("openstack", "kvm"),
    ("digitalocean", "kvm"),
    ("hetzner", "kvm"),
    ("qemu", "qemu"),
)


def hypervisor_from_dmi(sys_vendor: str | None, product_name: str | None) -> str | None:
    """Return the hypervisor named by DMI sys_vendor and product_name, or None for hardware."""
    vendor = (sys_vendor or "").strip().lower()
    product = (product_name or "").strip().lower()
    if vendor.startswith("microsoft") and "virtual" in product:
        return "hyperv"
    if vendor == "amazon ec2" and product.endswith(".metal"):
        return None
    for needle, name in _DMI_HYPERVISORS:
        if needle in vendor or needle in product:
            return name
    return None
