"""measure_disk_kind on real folders: it returns a kind and a reason and leaves nothing behind."""

import os
from pathlib import Path

import pytest

from wizard.probe.disk import measure_disk_kind
from wizard.probe.facts import DiskKind
from wizard.probe.parsers import find_mount, parse_mountinfo
from wizard.units import MIB


def _fstype(path: str) -> str | None:
    with open("/proc/self/mountinfo", encoding="utf-8") as file:
        mount = find_mount(parse_mountinfo(file.read()), os.path.realpath(path))
    return mount.fstype if mount else None


def test_a_test_file_is_timed_and_removed(tmp_path: Path) -> None:
    kind, reason = measure_disk_kind(str(tmp_path), file_size=16 * MIB, use_device=False)
    assert kind in (DiskKind.SSD, DiskKind.HDD, DiskKind.UNKNOWN)
    assert "random 4 KiB reads on a test file in" in reason
    assert reason.startswith("median ")
    assert list(tmp_path.iterdir()) == []


def test_the_block_device_or_a_test_file_is_timed_by_default(tmp_path: Path) -> None:
    kind, reason = measure_disk_kind(str(tmp_path), file_size=16 * MIB)
    assert kind in (DiskKind.SSD, DiskKind.HDD, DiskKind.UNKNOWN)
    assert "random 4 KiB reads on " in reason
    assert list(tmp_path.iterdir()) == []


def test_too_few_reads_are_unknown_and_still_cleaned_up(tmp_path: Path) -> None:
    kind, reason = measure_disk_kind(
        str(tmp_path), file_size=MIB, reads=5, seconds=0.0, use_device=False
    )
    assert kind is DiskKind.UNKNOWN
    assert "too few to tell" in reason
    assert list(tmp_path.iterdir()) == []


def test_no_room_for_the_test_file_is_unknown(tmp_path: Path) -> None:
    kind, reason = measure_disk_kind(str(tmp_path), file_size=2**60, use_device=False)
    assert kind is DiskKind.UNKNOWN
    assert "no room" in reason
    assert list(tmp_path.iterdir()) == []


def test_a_folder_in_memory_is_unknown() -> None:
    if not os.path.isdir("/dev/shm") or _fstype("/dev/shm") != "tmpfs":
        pytest.skip("/dev/shm is not a tmpfs here")
    before = set(os.listdir("/dev/shm"))
    kind, reason = measure_disk_kind("/dev/shm", file_size=MIB)
    assert kind is DiskKind.UNKNOWN
    assert "tmpfs" in reason
    assert set(os.listdir("/dev/shm")) == before


def test_a_missing_folder_is_unknown(tmp_path: Path) -> None:
    kind, reason = measure_disk_kind(str(tmp_path / "missing"))
    assert kind is DiskKind.UNKNOWN
    assert "not a folder that exists" in reason
