"""HostFacts built from the recorded snapshots of several machines, and from broken ones."""

import dataclasses

import pytest

from tests.conftest import FIXTURES
from wizard.probe.assemble import facts_from_snapshot
from wizard.probe.blockdev import base_disks, judge_disk
from wizard.probe.facts import DiskKind, HostFacts, PortUse
from wizard.probe.snapshot import ProbeSnapshot
from wizard.units import GIB, KIB

HOSTS = FIXTURES / "hosts"
HOST_NAMES = sorted(path.name for path in HOSTS.iterdir() if path.is_dir())


def host(name: str) -> ProbeSnapshot:
    return ProbeSnapshot.from_folder(HOSTS / name)


def facts(name: str, data_path: str = "/var/lib") -> HostFacts:
    return facts_from_snapshot(host(name), data_path)


def test_every_fixture_is_loaded_with_its_files() -> None:
    assert len(HOST_NAMES) >= 6
    for name in HOST_NAMES:
        snapshot = host(name)
        assert "/proc/cpuinfo" in snapshot.files, name
        assert "/proc/self/mountinfo" in snapshot.files, name


@pytest.mark.parametrize("name", HOST_NAMES)
def test_every_fixture_gives_the_basic_facts(name: str) -> None:
    result = facts(name)
    assert result.cpu.logical and result.cpu.physical and result.cpu.model
    assert result.memory.total and result.memory.available is not None
    assert result.disk.total and result.disk.free is not None
    assert result.system.os_id and result.system.kernel and result.system.virtualization
    assert result.disk.kind_reason
    assert set(result.tools) >= {"docker", "docker compose", "systemd", "postgres"}


# a KVM VM with a virtio disk


def test_kvm_vm_with_virtio_disk() -> None:
    result = facts("kvm-virtio")
    assert result.system.virtualization == "kvm"  # QEMU in DMI and the hypervisor CPU flag
    assert (result.system.os_id, result.system.os_version) == ("ubuntu", "22.04")
    assert result.memory.total == 8148424 * KIB
    assert result.memory.limit is None and result.cpu.limit is None
    assert result.disk.device == "vda1"
    assert result.disk.kind is DiskKind.UNKNOWN
    assert "virtual disk vda reports rotational=1" in result.disk.kind_reason
    assert "--measure-disk" in result.disk.kind_reason
    assert result.unknown["disk.kind"] == result.disk.kind_reason
    assert result.disk.total == 81106868 * KIB and result.disk.free == 75966672 * KIB


def test_kvm_vm_ports_users_and_tools() -> None:
    result = facts("kvm-virtio")
    assert result.ports_in_use == [
        PortUse(port=80, protocol="tcp"),
        PortUse(port=443, protocol="tcp"),
        PortUse(port=3478, protocol="tcp"),
        PortUse(port=3478, protocol="udp"),
    ]
    assert result.system.is_root is False
    assert result.system.passwordless_sudo is True
    assert result.tools["nginx"] and result.tools["systemd"]
    assert not result.tools["docker"] and not result.tools["docker compose"]


# a Docker container under cgroup v2 on a 64 GiB host


def test_docker_cgroup2_limits_cap_the_effective_ram_and_cores() -> None:
    result = facts("docker-cgroup2-limited")
    assert result.memory.total == 65538640 * KIB  # the host's RAM, about 62.5 GiB
    assert result.memory.limit == GIB
    assert result.effective_ram == GIB
    assert result.cpu.logical == 16 and result.cpu.physical == 8
    assert result.cpu.limit == 1.5
    assert result.effective_cores == 1.5
    assert result.system.virtualization == "docker"


def test_docker_overlay_root_has_no_device_but_a_volume_does() -> None:
    overlay = facts("docker-cgroup2-limited").disk
    assert overlay.kind is DiskKind.UNKNOWN and overlay.device is None
    assert "overlay" in overlay.kind_reason
    volume = facts("docker-cgroup2-limited", "/data").disk
    assert volume.kind is DiskKind.SSD
    assert volume.device == "nvme0n1p2"
    assert volume.kind_reason == "nvme0n1p2 -> nvme0n1: rotational=0 on nvme0n1"


# a cgroup v1 container with no limit


def test_cgroup1_no_limit_sentinel_leaves_the_host_figures() -> None:
    result = facts("k8s-cgroup1-besteffort")
    assert result.memory.limit is None
    assert result.cpu.limit is None
    assert result.effective_ram == result.memory.total == 65759132 * KIB
    assert result.effective_cores == 32.0
    assert result.system.virtualization == "kubernetes"  # from /proc/1/cgroup: no .dockerenv
    assert result.system.is_root is False
    assert result.system.passwordless_sudo is False  # no sudo installed
    assert "memory.limit" not in result.unknown and "cpu.limit" not in result.unknown


def test_cgroup1_limits_are_read_from_the_container_mount() -> None:
    snapshot = host("k8s-cgroup1-besteffort")
    snapshot.files["/sys/fs/cgroup/memory/memory.limit_in_bytes"] = f"{2 * GIB}\n"
    snapshot.files["/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us"] = "50000\n"
    result = facts_from_snapshot(snapshot, "/var/lib")
    assert result.memory.limit == 2 * GIB
    assert result.cpu.limit == 0.5
    assert result.effective_cores == 0.5


def test_cpuset_narrower_than_the_machine_limits_the_cores() -> None:
    snapshot = host("k8s-cgroup1-besteffort")
    status = snapshot.files["/proc/self/status"]
    snapshot.files["/proc/self/status"] = status.replace(
        "Cpus_allowed_list:\t0-31", "Cpus_allowed_list:\t2-3"
    )
    assert facts_from_snapshot(snapshot, "/var/lib").cpu.limit == 2.0


# a Raspberry Pi 4


def test_raspberry_pi_board_arm_cores_and_sd_card() -> None:
    result = facts("raspberry-pi4")
    assert result.cpu.model == "Raspberry Pi 4 Model B Rev 1.4 (Cortex-A72)"
    assert result.cpu.arch == "aarch64"
    assert result.cpu.physical == 4  # from sysfs topology, as cpuinfo has no core ids
    assert result.memory.swap == 102396 * KIB
    assert result.memory.limit is None  # the memory controller is off on Raspberry Pi OS
    assert result.system.virtualization == "none"
    assert result.disk.device == "mmcblk0p2"  # found by number: mountinfo says /dev/root
    assert result.disk.kind is DiskKind.SSD
    assert "SD card" in result.disk.kind_reason
    assert result.unknown == {}


# bare metal with LVM on NVMe and an HDD


def test_lvm_on_nvme_resolves_to_the_ssd_below() -> None:
    disk = facts("bare-metal-lvm").disk
    assert disk.device == "dm-0"
    assert disk.kind is DiskKind.SSD
    assert disk.kind_reason == "dm-0 -> nvme0n1p3 -> nvme0n1: rotational=0 on nvme0n1"


def test_partition_on_the_hdd_is_hdd() -> None:
    disk = facts("bare-metal-lvm", "/srv/media").disk
    assert disk.device == "sda1"
    assert disk.kind is DiskKind.HDD
    assert disk.kind_reason == "sda1 -> sda: rotational=1 on sda"
    assert disk.total == 7751366384 * KIB


def test_bare_metal_system_and_tools() -> None:
    result = facts("bare-metal-lvm")
    assert result.system.virtualization == "none"
    assert result.system.is_root is True
    assert result.system.passwordless_sudo is None
    assert "root" in result.unknown["system.passwordless_sudo"]
    assert result.tools["docker"] and result.tools["docker compose"]
    assert not result.tools["docker-compose"]
    assert result.tools["postgres"]  # /usr/lib/postgresql/16/bin/postgres, not on PATH
    assert result.tools["nginx"] and result.tools["systemd"]


def test_volume_group_across_ssd_and_hdd_counts_as_hdd() -> None:
    snapshot = host("bare-metal-lvm")
    snapshot.dirs["/sys/block/dm-0/slaves"] = ["nvme0n1p3", "sda1"]
    disk = facts_from_snapshot(snapshot, "/var/lib").disk
    assert disk.kind is DiskKind.HDD
    assert "rotational=0 on nvme0n1" in disk.kind_reason
    assert "rotational=1 on sda" in disk.kind_reason


def test_btrfs_style_anonymous_device_falls_back_to_the_mapper_name() -> None:
    snapshot = host("bare-metal-lvm")
    mountinfo = snapshot.files["/proc/self/mountinfo"]
    snapshot.files["/proc/self/mountinfo"] = mountinfo.replace(
        "30 1 253:0 / / rw,relatime shared:1 - ext4", "30 1 0:42 / / rw,relatime shared:1 - btrfs"
    )
    disk = facts_from_snapshot(snapshot, "/var/lib").disk
    assert disk.device == "dm-0"
    assert disk.kind is DiskKind.SSD


# this machine, captured


def test_captured_machine() -> None:
    result = facts("captured-microvm")
    assert result.system.virtualization == "docker"
    assert result.memory.limit is None  # cgroup v1 sentinel
    assert result.disk.kind is DiskKind.UNKNOWN
    assert result.disk.kind_reason.startswith("virtual disk vda reports rotational=1")


# judging single disks


def test_sd_disk_in_a_vm_is_unknown_but_on_hardware_is_hdd() -> None:
    snapshot = ProbeSnapshot(files={"/sys/block/sda/queue/rotational": "1\n"})
    kind, reason = judge_disk(snapshot, "sda", "vmware")
    assert (
        kind is DiskKind.UNKNOWN
        and "virtual machine (vmware)" in reason
        and "--measure-disk" in reason
    )
    assert judge_disk(snapshot, "sda", None) == (DiskKind.HDD, "rotational=1 on sda")


def test_xen_virtual_disk_is_unknown_and_loop_devices_are_not_judged() -> None:
    snapshot = ProbeSnapshot(files={"/sys/block/xvda/queue/rotational": "1\n"})
    assert judge_disk(snapshot, "xvda", None)[0] is DiskKind.UNKNOWN
    kind, reason = judge_disk(snapshot, "loop3", None)
    assert kind is DiskKind.UNKNOWN and "loop device" in reason


def test_unreadable_rotational_flag_is_unknown_with_the_reason() -> None:
    snapshot = ProbeSnapshot(errors={"/sys/block/sdb/queue/rotational": "Permission denied"})
    kind, reason = judge_disk(snapshot, "sdb", None)
    assert kind is DiskKind.UNKNOWN
    assert "permission denied" in reason


def test_base_disks_follow_partitions_and_device_mapper() -> None:
    snapshot = host("bare-metal-lvm")
    assert base_disks(snapshot, "dm-1") == [["dm-1", "nvme0n1p3", "nvme0n1"]]
    assert base_disks(snapshot, "sda1") == [["sda1", "sda"]]
    assert base_disks(snapshot, "nvme0n1") == [["nvme0n1"]]


# what cannot be read


def test_unreadable_meminfo_leaves_memory_unknown_with_the_reason() -> None:
    snapshot = host("kvm-virtio")
    snapshot.errors["/proc/meminfo"] = "Permission denied"
    result = facts_from_snapshot(snapshot, "/var/lib")
    assert result.memory.total is None and result.memory.available is None
    assert result.unknown["memory.total"] == "/proc/meminfo: permission denied"
    assert result.unknown["memory.swap"] == "/proc/meminfo: permission denied"
    assert result.effective_ram is None


def test_missing_cpuinfo_leaves_cpu_unknown() -> None:
    snapshot = host("kvm-virtio")
    del snapshot.files["/proc/cpuinfo"]
    result = facts_from_snapshot(snapshot, "/var/lib")
    assert (result.cpu.logical, result.cpu.physical, result.cpu.model) == (None, None, None)
    assert result.unknown["cpu.logical"] == "/proc/cpuinfo does not exist"


def test_unreadable_mountinfo_leaves_disk_kind_and_limits_unknown() -> None:
    snapshot = host("docker-cgroup2-limited")
    snapshot.errors["/proc/self/mountinfo"] = "Permission denied"
    result = facts_from_snapshot(snapshot, "/data")
    assert result.disk.kind is DiskKind.UNKNOWN and result.disk.device is None
    assert "mountinfo" in result.unknown["disk.kind"]
    assert result.memory.limit is None
    assert "mountinfo" in result.unknown["memory.limit"]


def test_unreadable_cgroup_limit_file_is_unknown_not_unlimited() -> None:
    snapshot = host("docker-cgroup2-limited")
    snapshot.errors["/sys/fs/cgroup/memory.max"] = "Permission denied"
    del snapshot.files["/sys/fs/cgroup/memory.max"]
    result = facts_from_snapshot(snapshot, "/var/lib")
    assert result.memory.limit is None
    assert result.unknown["memory.limit"] == "/sys/fs/cgroup/memory.max: permission denied"


def test_garbled_cgroup_limit_is_unknown_with_the_parse_error() -> None:
    snapshot = host("docker-cgroup2-limited")
    snapshot.files["/sys/fs/cgroup/cpu.max"] = "lots\n"
    result = facts_from_snapshot(snapshot, "/var/lib")
    assert result.cpu.limit is None
    assert "cpu.max" in result.unknown["cpu.limit"]


def test_unreadable_socket_tables_leave_ports_unknown() -> None:
    snapshot = host("kvm-virtio")
    for table in ("tcp", "tcp6", "udp", "udp6"):
        snapshot.errors[f"/proc/net/{table}"] = "Permission denied"
    result = facts_from_snapshot(snapshot, "/var/lib")
    assert result.ports_in_use == []
    assert "/proc/net/tcp: permission denied" in result.unknown["ports_in_use"]


def test_an_empty_snapshot_gives_empty_facts_and_reasons_without_crashing() -> None:
    result = facts_from_snapshot(ProbeSnapshot(), "/var/lib")
    assert result.cpu.logical is None and result.memory.total is None
    assert result.disk.kind is DiskKind.UNKNOWN
    assert result.system.virtualization is None
    for fact in (
        "cpu.model",
        "memory.total",
        "disk.total",
        "disk.kind",
        "system.os",
        "system.kernel",
        "system.virtualization",
        "system.is_root",
        "ports_in_use",
        "hostname",
        "cpu.arch",
    ):
        assert result.unknown[fact], fact


def test_the_snapshot_is_not_changed_by_building_facts() -> None:
    snapshot = host("kvm-virtio")
    before = dataclasses.asdict(snapshot)
    facts_from_snapshot(snapshot, "/var/lib")
    assert dataclasses.asdict(snapshot) == before
