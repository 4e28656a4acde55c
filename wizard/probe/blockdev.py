"""Find the disks under a path (partitions, LVM, RAID) and tell from sysfs whether they spin."""

from dataclasses import dataclass

from wizard.probe.facts import DiskKind
from wizard.probe.parsers import Mount, find_mount, parse_block_link, parse_rotational
from wizard.probe.snapshot import Snapshot, read_or_reason

MEASURE_HINT = "unknown unless measured (--measure-disk)"
_MAX_DEPTH = 8


@dataclass(frozen=True)
class DiskVerdict:
    """The block device holding a path, whether its disks spin, and how that was decided."""

    device: str | None
    kind: DiskKind
    reason: str


def _link_device(snapshot: Snapshot, link: str) -> tuple[str, str | None] | None:
    try:
        return parse_block_link(snapshot.readlink(link))
    except (OSError, ValueError):
        return None


def _device_mapper_name(snapshot: Snapshot, mapper_name: str) -> str | None:
    try:
        devices = snapshot.listdir("/sys/block")
    except OSError:
        return None
    for device in devices:
        if device.startswith("dm-"):
            text, _ = read_or_reason(snapshot, f"/sys/block/{device}/dm/name")
            if text is not None and text.strip() == mapper_name:
                return device
    return None


def mounted_device(snapshot: Snapshot, mount: Mount) -> str | None:
    """Return the kernel name of the block device behind a mount (nvme0n1p3, dm-0), if any."""
    if mount.major != 0:
        found = _link_device(snapshot, f"/sys/dev/block/{mount.major}:{mount.minor}")
        if found is not None:
            return found[0]
    # btrfs and some others show an anonymous device number: fall back to the mount source.
    source = mount.source
    if source.startswith("/dev/mapper/"):
        return _device_mapper_name(snapshot, source.removeprefix("/dev/mapper/"))
    if source.startswith("/dev/") and source != "/dev/root":
        name = source.rsplit("/", 1)[-1]
        if snapshot.exists(f"/sys/class/block/{name}"):
            return name
    return None


def _slaves(snapshot: Snapshot, device: str) -> list[str]:
    try:
        return snapshot.listdir(f"/sys/block/{device}/slaves")
    except OSError:
        return []


def _whole_disks(snapshot: Snapshot) -> set[str]:
    try:
        return set(snapshot.listdir("/sys/block"))
    except OSError:
        return set()


def _parent_disk(snapshot: Snapshot, device: str, disks: set[str]) -> str | None:
    found = _link_device(snapshot, f"/sys/class/block/{device}")
    if found is None or device in disks:
        return None
    folder = found[1]
    return folder if folder in disks else None


def base_disks(
    snapshot: Snapshot, device: str, disks: set[str] | None = None, depth: int = 0
) -> list[list[str]]:
    """Return each chain from a device down to a whole disk, such as [dm-0, nvme0n1p3, nvme0n1]."""
    if disks is None:
        disks = _whole_disks(snapshot)
    if depth >= _MAX_DEPTH:
        return [[device]]
    slaves = _slaves(snapshot, device)
    if slaves:
        return [
            [device, *chain]
            for slave in slaves
            for chain in base_disks(snapshot, slave, disks, depth + 1)
        ]
    parent = _parent_disk(snapshot, device, disks)
    if parent is not None:
        return [[device, *chain] for chain in base_disks(snapshot, parent, disks, depth + 1)]
    return [[device]]


def judge_disk(snapshot: Snapshot, disk: str, hypervisor: str | None) -> tuple[DiskKind, str]:
    """Return whether one whole disk spins, from queue/rotational and what kind of disk it is."""
    if disk.startswith("loop"):
        return DiskKind.UNKNOWN, f"{disk} is a loop device, a file on another disk"
    if disk.startswith(("zram", "ram")):
        return DiskKind.UNKNOWN, f"{disk} is a disk in RAM"
    text, why = read_or_reason(snapshot, f"/sys/block/{disk}/queue/rotational")
    if text is None:
        return DiskKind.UNKNOWN, f"whether {disk} spins cannot be read: {why}"
    try:
        rotational = parse_rotational(text)
    except ValueError as error:
        return DiskKind.UNKNOWN, f"whether {disk} spins cannot be read: {error}"
    if rotational and disk.startswith(("vd", "xvd")):
        return DiskKind.UNKNOWN, f"virtual disk {disk} reports rotational=1: {MEASURE_HINT}"
    if rotational and hypervisor is not None:
        return DiskKind.UNKNOWN, (
            f"{disk} in a virtual machine ({hypervisor}) reports rotational=1, which virtual "
            f"disks report whatever is below: {MEASURE_HINT}"
        )
    if rotational:
        return DiskKind.HDD, f"rotational=1 on {disk}"
    if disk.startswith("mmcblk"):
        return DiskKind.SSD, f"rotational=0 on {disk} (SD card or eMMC: flash, slower than an SSD)"
    return DiskKind.SSD, f"rotational=0 on {disk}"


def _combined_kind(kinds: list[DiskKind]) -> DiskKind:
    if DiskKind.HDD in kinds:
        return DiskKind.HDD
    if DiskKind.UNKNOWN in kinds or not kinds:
        return DiskKind.UNKNOWN
    return DiskKind.SSD


def disk_verdict(
    snapshot: Snapshot, mounts: list[Mount], path: str, hypervisor: str | None
) -> DiskVerdict:
    """Return the device under ``path`` and whether it spins; any spinning disk makes it HDD."""
    mount = find_mount(mounts, path)
    if mount is None:
        return DiskVerdict(None, DiskKind.UNKNOWN, f"no mount in mountinfo holds {path}")
    device = mounted_device(snapshot, mount)
    if device is None:
        return DiskVerdict(
            None,
            DiskKind.UNKNOWN,
            f"{path} is on {mount.fstype} ({mount.source}), which shows no block device",
        )
    kinds = []
    reasons = []
    for chain in base_disks(snapshot, device):
        kind, reason = judge_disk(snapshot, chain[-1], hypervisor)
        kinds.append(kind)
        reasons.append(f"{' -> '.join(chain)}: {reason}" if len(chain) > 1 else reason)
    return DiskVerdict(device, _combined_kind(kinds), "; ".join(reasons))
