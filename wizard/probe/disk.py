"""Tell SSD from HDD by timing random 4 KiB reads that bypass the page cache."""

import mmap
import os
import random
import shutil
import statistics
import tempfile
import time

from wizard.probe.facts import DiskKind
from wizard.probe.parsers import find_mount, parse_mountinfo
from wizard.probe.snapshot import os_error_reason
from wizard.units import MIB, format_size

TEST_FILE_SIZE = 256 * MIB
READ_SIZE = 4096
MAX_READS = 400
MIN_READS = 20
TIME_BUDGET = 1.5  # seconds of reading at most
SSD_BELOW = 0.001  # a median read under 1 ms is flash
HDD_FROM = 0.003  # a median read of 3 ms or more is a spinning disk
CACHED_BELOW = 0.00002  # 20 µs: buffered reads that fast came from memory, not a disk
MEMORY_FILESYSTEMS = ("tmpfs", "ramfs")
TEST_FILE_PREFIX = ".matrix-wizard-disk-test-"


def _filesystem_type(path: str) -> str | None:
    try:
        with open("/proc/self/mountinfo", encoding="utf-8") as file:
            mount = find_mount(parse_mountinfo(file.read()), os.path.realpath(path))
    except (OSError, ValueError):
        return None
    return mount.fstype if mount else None


def _device_node(path: str) -> str | None:
    device = os.stat(path).st_dev
    major, minor = os.major(device), os.minor(device)
    if major == 0:
        return None
    try:
        with open(f"/sys/dev/block/{major}:{minor}/uevent", encoding="utf-8") as file:
            for line in file:
                key, _, value = line.strip().partition("=")
                if key == "DEVNAME" and value:
                    return f"/dev/{value}"
    except OSError:
        return None
    return None


def _time_reads(fd: int, size: int, reads: int, seconds: float) -> list[float]:
    blocks = size // READ_SIZE
    offsets = random.sample(range(blocks), k=min(reads, blocks))
    buffer = mmap.mmap(-1, READ_SIZE)  # page-aligned, as O_DIRECT requires
    latencies = []
    deadline = time.perf_counter() + seconds
    try:
        for block in offsets:
            started = time.perf_counter()
            os.preadv(fd, [buffer], block * READ_SIZE)
            finished = time.perf_counter()
            latencies.append(finished - started)
            if finished > deadline:
                break
    finally:
        buffer.close()
    return latencies


def _classify(latencies: list[float], where: str, buffered: bool) -> tuple[DiskKind, str]:
    if len(latencies) < MIN_READS:
        return DiskKind.UNKNOWN, f"only {len(latencies)} reads finished on {where}, too few to tell"
    median = statistics.median(latencies)
    summary = f"median {median * 1000:.2f} ms over {len(latencies)} random 4 KiB reads on {where}"
    if buffered and median < CACHED_BELOW:
        return DiskKind.UNKNOWN, f"{summary}: the reads came from memory, not the disk"
    if median < SSD_BELOW:
        return DiskKind.SSD, summary
    if median >= HDD_FROM:
        return DiskKind.HDD, summary
    return DiskKind.UNKNOWN, f"{summary}: between an SSD and an HDD"


def _measure_device(node: str, reads: int, seconds: float) -> tuple[DiskKind, str] | None:
    try:
        fd = os.open(node, os.O_RDONLY | os.O_DIRECT)
    except OSError:
        return None
    try:
        size = os.lseek(fd, 0, os.SEEK_END)
        return _classify(_time_reads(fd, size, reads, seconds), node, buffered=False)
    except OSError:
        return None
    finally:
        os.close(fd)


def _write_test_file(fd: int, size: int) -> None:
    chunk = bytearray(os.urandom(MIB))
    for number in range(size // MIB):
        # A different first 8 bytes per MiB keeps deduplicating storage from merging chunks.
        chunk[:8] = number.to_bytes(8, "little")
        os.write(fd, chunk)
    os.fsync(fd)


def _open_for_reading(name: str) -> tuple[int, str]:
    try:
        return os.open(name, os.O_RDONLY | os.O_DIRECT), ""
    except OSError as error:
        refusal = os_error_reason(error)
    fd = os.open(name, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
    return fd, f"O_DIRECT refused ({refusal}), so buffered reads after dropping the cache"


def _measure_file(path: str, size: int, reads: int, seconds: float) -> tuple[DiskKind, str]:
    size = max(MIB, size // MIB * MIB)
    free = shutil.disk_usage(path).free
    if free < 2 * size:
        return DiskKind.UNKNOWN, (
            f"only {format_size(free)} free in {path}: no room for a {format_size(size)} test file"
        )
    try:
        fd, name = tempfile.mkstemp(prefix=TEST_FILE_PREFIX, dir=path)
    except OSError as error:
        reason = os_error_reason(error)
        return DiskKind.UNKNOWN, f"a test file cannot be created in {path}: {reason}"
    try:
        try:
            _write_test_file(fd, size)
        finally:
            os.close(fd)
        read_fd, fallback = _open_for_reading(name)
        try:
            latencies = _time_reads(read_fd, size, reads, seconds)
        finally:
            os.close(read_fd)
        kind, reason = _classify(latencies, f"a test file in {path}", buffered=bool(fallback))
        return kind, f"{reason} ({fallback})" if fallback else reason
    except OSError as error:
        reason = os_error_reason(error)
        return DiskKind.UNKNOWN, f"timing reads in {path} failed: {reason}"
    finally:
        os.unlink(name)


def measure_disk_kind(
    path: str,
    *,
    file_size: int = TEST_FILE_SIZE,
    reads: int = MAX_READS,
    seconds: float = TIME_BUDGET,
    use_device: bool = True,
) -> tuple[DiskKind, str]:
    """Return SSD, HDD or UNKNOWN for the disk under ``path``, and the timing that decided it.

    Reads go to the block device itself when it can be opened (as root), otherwise to a test
    file of ``file_size`` bytes (whole MiB) written in ``path`` and always removed afterwards.
    """
    if not os.path.isdir(path):
        return DiskKind.UNKNOWN, f"{path} is not a folder that exists"
    fstype = _filesystem_type(path)
    if fstype in MEMORY_FILESYSTEMS:
        return DiskKind.UNKNOWN, f"{path} is on {fstype}, which lives in memory, not on a disk"
    node = _device_node(path) if use_device else None
    if node is not None:
        measured = _measure_device(node, reads, seconds)
        if measured is not None:
            return measured
    return _measure_file(path, file_size, reads, seconds)
