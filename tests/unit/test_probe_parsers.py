"""The /proc, /sys and /etc parsers on the recorded host fixtures and on edge cases."""

import itertools

import pytest

from tests.conftest import FIXTURES
from wizard.probe import parsers
from wizard.units import GIB, KIB

HOSTS = FIXTURES / "hosts"


def text(host: str, path: str) -> str:
    return (HOSTS / host / "root" / path.lstrip("/")).read_text(encoding="utf-8")


# /proc/cpuinfo


def test_cpuinfo_of_this_machine_gives_model_counts_and_the_hypervisor_flag() -> None:
    info = parsers.parse_cpuinfo(text("captured-microvm", "/proc/cpuinfo"))
    assert info.model == "AMD EPYC"
    assert info.logical == 2
    assert info.physical == 2
    assert "hypervisor" in info.flags


def test_cpuinfo_counts_physical_cores_across_two_sockets_from_id_pairs() -> None:
    info = parsers.parse_cpuinfo(text("k8s-cgroup1-besteffort", "/proc/cpuinfo"))
    assert info.logical == 32
    assert info.physical == 16  # 2 sockets x 8 cores, each with 2 threads
    assert info.model == "Intel(R) Xeon(R) CPU E5-2620 v4 @ 2.10GHz"
    assert "hypervisor" not in info.flags


def test_cpuinfo_without_core_ids_falls_back_to_cpu_cores_per_package() -> None:
    original = text("k8s-cgroup1-besteffort", "/proc/cpuinfo")
    without_core_ids = "\n".join(
        line for line in original.splitlines() if not line.startswith("core id")
    )
    assert parsers.parse_cpuinfo(without_core_ids).physical == 16  # "cpu cores: 8" x 2 packages


def test_cpuinfo_of_a_raspberry_pi_names_the_board_and_core_without_model_name() -> None:
    info = parsers.parse_cpuinfo(text("raspberry-pi4", "/proc/cpuinfo"))
    assert info.model == "Raspberry Pi 4 Model B Rev 1.4 (Cortex-A72)"
    assert info.logical == 4
    assert info.physical is None  # ARM cpuinfo has no core ids: sysfs topology tells
    assert info.processors == (0, 1, 2, 3)


def test_cpuinfo_of_an_unknown_arm_core_names_the_part_and_hardware() -> None:
    sample = "processor\t: 0\nCPU implementer\t: 0x51\nCPU part\t: 0x801\n\nHardware\t: Qualcomm\n"
    assert parsers.parse_cpuinfo(sample).model == "Qualcomm (CPU part 0x801)"


def test_empty_cpuinfo_knows_nothing() -> None:
    info = parsers.parse_cpuinfo("")
    assert (info.logical, info.physical, info.model) == (None, None, None)


def test_cpu_lists_expand_ranges_and_reject_garbage() -> None:
    assert parsers.parse_cpu_list("0-3,8,10-11\n") == {0, 1, 2, 3, 8, 10, 11}
    with pytest.raises(ValueError, match="not understood"):
        parsers.parse_cpu_list("0-x")


def test_thread_sibling_lists_count_cores() -> None:
    lists = [
        text(
            "docker-cgroup2-limited",
            f"/sys/devices/system/cpu/cpu{n}/topology/thread_siblings_list",
        )
        for n in range(16)
    ]
    assert parsers.count_physical_cores(lists) == 8


def test_cpus_allowed_counts_the_list_in_proc_self_status() -> None:
    assert parsers.parse_cpus_allowed(text("kvm-virtio", "/proc/self/status")) == 4
    assert parsers.parse_cpus_allowed("Cpus_allowed_list:\t0,2,4-5\n") == 4
    assert parsers.parse_cpus_allowed("Name:\tsh\n") is None


# /proc/meminfo, os-release, kernel


def test_meminfo_gives_bytes() -> None:
    info = parsers.parse_meminfo(text("kvm-virtio", "/proc/meminfo"))
    assert info.total == 8148424 * KIB
    assert info.available == 6914232 * KIB
    assert info.swap == 0


def test_meminfo_without_memavailable_leaves_it_unknown() -> None:
    info = parsers.parse_meminfo("MemTotal:  1024 kB\nSwapTotal:  0 kB\n")
    assert (info.total, info.available, info.swap) == (1024 * KIB, None, 0)


def test_os_release_values_lose_their_quotes() -> None:
    release = parsers.parse_os_release(text("bare-metal-lvm", "/etc/os-release"))
    assert (release.id, release.version_id) == ("ubuntu", "24.04")
    assert release.pretty_name == "Ubuntu 24.04.1 LTS"


def test_os_release_handles_single_quotes_escapes_and_comments() -> None:
    sample = '# comment\nID=\'opensuse-leap\'\nVERSION_ID="15.5"\nPRETTY_NAME="Say \\"hi\\""\n'
    release = parsers.parse_os_release(sample)
    assert (release.id, release.version_id, release.pretty_name) == (
        "opensuse-leap",
        "15.5",
        'Say "hi"',
    )


def test_kernel_release_is_stripped() -> None:
    assert parsers.parse_kernel_release(text("raspberry-pi4", "/proc/sys/kernel/osrelease")) == (
        "6.1.21-v8+"
    )
    assert parsers.parse_kernel_release("\n") is None


# cgroup limits


def test_cgroup2_memory_max() -> None:
    assert parsers.parse_cgroup2_memory_max("max\n") is None
    limit = parsers.parse_cgroup2_memory_max(
        text("docker-cgroup2-limited", "/sys/fs/cgroup/memory.max")
    )
    assert limit == GIB
    with pytest.raises(ValueError, match="not a number"):
        parsers.parse_cgroup2_memory_max("lots\n")


def test_cgroup2_cpu_max() -> None:
    assert parsers.parse_cgroup2_cpu_max("max 100000\n") is None
    assert parsers.parse_cgroup2_cpu_max("200000 100000\n") == 2.0
    assert (
        parsers.parse_cgroup2_cpu_max(text("docker-cgroup2-limited", "/sys/fs/cgroup/cpu.max"))
        == 1.5
    )
    for bad in ("150000\n", "0 100000\n", "a b\n"):
        with pytest.raises(ValueError):
            parsers.parse_cgroup2_cpu_max(bad)


def test_cgroup1_memory_sentinel_and_limits_above_ram_mean_no_limit() -> None:
    sentinel = text("k8s-cgroup1-besteffort", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
    assert parsers.parse_cgroup1_memory_limit(sentinel, host_ram=64 * GIB) is None
    assert parsers.parse_cgroup1_memory_limit(sentinel, host_ram=None) is None
    assert parsers.parse_cgroup1_memory_limit(str(64 * GIB), host_ram=32 * GIB) is None
    assert parsers.parse_cgroup1_memory_limit(str(2 * GIB), host_ram=32 * GIB) == 2 * GIB
    assert parsers.parse_cgroup1_memory_limit(str(2 * GIB), host_ram=None) == 2 * GIB


def test_cgroup1_cpu_quota() -> None:
    folder = "/sys/fs/cgroup/cpu,cpuacct"
    quota = text("k8s-cgroup1-besteffort", f"{folder}/cpu.cfs_quota_us")
    period = text("k8s-cgroup1-besteffort", f"{folder}/cpu.cfs_period_us")
    assert parsers.parse_cgroup1_cpu_quota(quota, period) is None
    assert parsers.parse_cgroup1_cpu_quota("150000\n", "100000\n") == 1.5
    with pytest.raises(ValueError):
        parsers.parse_cgroup1_cpu_quota("50000\n", "0\n")


def test_proc_cgroup_lists_v1_controllers_and_the_v2_line() -> None:
    memberships = parsers.parse_proc_cgroup(text("k8s-cgroup1-besteffort", "/proc/self/cgroup"))
    assert len(memberships) == 13
    cpu = next(entry for entry in memberships if "cpu" in entry.controllers)
    assert cpu.controllers == ("cpu", "cpuacct")
    assert cpu.path.startswith("/kubepods/besteffort/pod")
    assert memberships[-1] == parsers.CgroupMembership(0, (), "/system.slice/containerd.service")
    with pytest.raises(ValueError):
        parsers.parse_proc_cgroup("not a cgroup line\n")


# mountinfo and cgroup folders


def test_mountinfo_reads_fields_after_optional_tags_and_decodes_escapes() -> None:
    sample = (
        "36 35 98:0 /mnt1 /mnt/my\\040disk rw,noatime master:1 shared:2 - ext3 /dev/root "
        "rw,errors=continue\n"
    )
    (mount,) = parsers.parse_mountinfo(sample)
    assert (mount.major, mount.minor) == (98, 0)
    assert mount.root == "/mnt1"
    assert mount.mount_point == "/mnt/my disk"
    assert (mount.fstype, mount.source) == ("ext3", "/dev/root")
    assert mount.super_options == ("rw", "errors=continue")


def test_mountinfo_rejects_a_line_without_separator() -> None:
    with pytest.raises(ValueError, match="not understood"):
        parsers.parse_mountinfo("1 2 3:4 / / rw\n")


def test_find_mount_takes_the_deepest_mount_point() -> None:
    mounts = parsers.parse_mountinfo(text("bare-metal-lvm", "/proc/self/mountinfo"))
    found = {
        path: parsers.find_mount(mounts, path) for path in ("/var/lib", "/srv/media/x", "/srv")
    }
    assert found["/var/lib"] is not None and found["/var/lib"].source == "/dev/mapper/vg0-root"
    assert found["/srv/media/x"] is not None and found["/srv/media/x"].source == "/dev/sda1"
    assert found["/srv"] is not None and found["/srv"].mount_point == "/"
    assert parsers.find_mount([], "/") is None


def test_find_mount_takes_the_last_of_stacked_mounts() -> None:
    sample = "1 0 8:1 / /data rw - ext4 /dev/sda1 rw\n2 1 8:17 / /data rw - ext4 /dev/sdb1 rw\n"
    mount = parsers.find_mount(parsers.parse_mountinfo(sample), "/data/x")
    assert mount is not None and mount.source == "/dev/sdb1"


def _folders(host: str, controller: str | None) -> list[str]:
    memberships = parsers.parse_proc_cgroup(text(host, "/proc/self/cgroup"))
    mounts = parsers.parse_mountinfo(text(host, "/proc/self/mountinfo"))
    return parsers.cgroup_folders(memberships, mounts, controller)


def test_cgroup2_folders_walk_up_from_the_session_to_the_mount() -> None:
    assert _folders("kvm-virtio", None) == [
        "/sys/fs/cgroup/user.slice/user-1000.slice/session-3.scope",
        "/sys/fs/cgroup/user.slice/user-1000.slice",
        "/sys/fs/cgroup/user.slice",
        "/sys/fs/cgroup",
    ]


def test_cgroup2_folder_in_a_container_namespace_is_the_mount_itself() -> None:
    assert _folders("docker-cgroup2-limited", None) == ["/sys/fs/cgroup"]


def test_cgroup1_folders_map_the_container_cgroup_onto_its_mount() -> None:
    assert _folders("k8s-cgroup1-besteffort", "memory") == ["/sys/fs/cgroup/memory"]
    assert _folders("k8s-cgroup1-besteffort", "cpu") == ["/sys/fs/cgroup/cpu,cpuacct"]
    assert _folders("k8s-cgroup1-besteffort", None) == []  # no cgroup2 mount in that container


def test_cgroup1_folders_on_this_machine_follow_the_process_path() -> None:
    folders = _folders("captured-microvm", "memory")
    assert folders[-1] == "/sys/fs/cgroup/memory"
    assert folders[0].startswith("/sys/fs/cgroup/memory/")
    assert all(later in earlier for earlier, later in itertools.pairwise(folders))


# block devices, df, sockets


def test_block_links_give_the_device_and_its_folder() -> None:
    virtio = "../../devices/pci0000:00/0000:00:04.0/virtio1/block/vda/vda1"
    assert parsers.parse_block_link(virtio) == ("vda1", "vda")
    assert parsers.parse_block_link("../../devices/virtual/block/dm-0") == ("dm-0", "block")
    nvme = "../../devices/pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0/nvme0n1"
    assert parsers.parse_block_link(nvme) == ("nvme0n1", "nvme0")
    with pytest.raises(ValueError):
        parsers.parse_block_link("../..")


def test_rotational() -> None:
    assert parsers.parse_rotational(text("bare-metal-lvm", "/sys/block/sda/queue/rotational"))
    assert not parsers.parse_rotational(
        text("bare-metal-lvm", "/sys/block/nvme0n1/queue/rotational")
    )
    with pytest.raises(ValueError):
        parsers.parse_rotational("yes\n")


def test_df_line_gives_total_and_available_bytes() -> None:
    line = "/dev/vda1         81106868   5123412  75966672       7% /"
    assert parsers.parse_df_line(line) == (81106868 * KIB, 75966672 * KIB)
    with pytest.raises(ValueError):
        parsers.parse_df_line("df: /nowhere: No such file or directory")


def test_tcp_tables_count_only_listening_sockets() -> None:
    sample = (
        "  sl  local_address rem_address   st\n"
        "   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1\n"
        "   1: 0B00000A:D3A4 3200000A:01BB 01 00000000:00000000 00:00000000 00000000 0 0 2\n"
    )
    assert parsers.parse_listening_ports(sample, "tcp") == {80}
    assert parsers.parse_listening_ports(text("kvm-virtio", "/proc/net/tcp6"), "tcp") == {
        22,
        80,
        443,
    }


def test_udp_tables_count_every_bound_port() -> None:
    assert parsers.parse_listening_ports(text("kvm-virtio", "/proc/net/udp"), "udp") == {
        53,
        68,
        3478,
    }


# virtualization hints


def test_container_from_init_environment() -> None:
    assert parsers.container_from_environ("PATH=/bin\0container=podman\0") == "podman"
    environ = text("docker-cgroup2-limited", "/proc/1/environ")
    assert parsers.container_from_environ(environ) is None


def test_container_from_init_cgroup_paths() -> None:
    assert parsers.container_from_cgroup(text("k8s-cgroup1-besteffort", "/proc/1/cgroup")) == (
        "kubernetes"
    )
    assert parsers.container_from_cgroup("12:memory:/docker/4f1c9a\n") == "docker"
    assert parsers.container_from_cgroup("0::/system.slice/docker-4f1c9a.scope\n") == "docker"
    assert parsers.container_from_cgroup("0::/lxc.payload.web\n") == "lxc"
    assert parsers.container_from_cgroup(text("kvm-virtio", "/proc/1/cgroup")) is None


@pytest.mark.parametrize(
    ("vendor", "product", "expected"),
    [
        ("QEMU", "Standard PC (i440FX + PIIX, 1996)", "qemu"),
        ("Red Hat", "KVM", "kvm"),
        ("VMware, Inc.", "VMware Virtual Platform", "vmware"),
        ("Xen", "HVM domU", "xen"),
        ("Microsoft Corporation", "Virtual Machine", "hyperv"),
        ("Microsoft Corporation", "Surface Laptop 5", None),
        ("Amazon EC2", "t3.small", "amazon"),
        ("Amazon EC2", "m5.metal", None),
        ("Google", "Google Compute Engine", "google"),
        ("innotek GmbH", "VirtualBox", "virtualbox"),
        ("Hetzner", "vServer", "kvm"),
        ("Supermicro", "Super Server", None),
        (None, None, None),
    ],
)
def test_hypervisor_from_dmi(vendor: str | None, product: str | None, expected: str | None) -> None:
    assert parsers.hypervisor_from_dmi(vendor, product) == expected
