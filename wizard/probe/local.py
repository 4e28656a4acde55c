"""Probe this machine: psutil for counts, sizes and socket owners, /proc and /sys for the rest."""

import os
import shutil
import socket
import stat
import subprocess
import threading
from collections.abc import Callable
from typing import Any

import psutil

from wizard.errors import UsageError
from wizard.probe.assemble import facts_from_snapshot
from wizard.probe.disk import measure_disk_kind
from wizard.probe.facts import WATCHED_PORTS, DiskKind, HostFacts, PortUse
from wizard.probe.snapshot import (
    ARCH_COMMAND,
    EUID_COMMAND,
    HOME_COMMAND,
    PROGRAMS,
    SBIN_DIRS,
    SUDO_COMMAND,
    os_error_reason,
    which_command,
)
from wizard.probe.sockdiag import listening_tcp_table

# How long the socket owners may take to list before the ports are shown without names.
SOCKET_OWNERS_TIMEOUT = 1.0
_DATA_PATH_HINT = "give a folder that exists, with --data-path"


def _sudo_status() -> str | None:
    try:
        done = subprocess.run(
            ["sudo", "-n", "true"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=3,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return str(done.returncode)


def _which(program: str) -> Callable[[], str | None]:
    search = os.pathsep.join([os.environ.get("PATH", os.defpath), *SBIN_DIRS])
    return lambda: shutil.which(program, path=search)


_TCP_TABLES = {"/proc/net/tcp": socket.AF_INET, "/proc/net/tcp6": socket.AF_INET6}


class LiveSnapshot:
    """The running machine's files, read when asked; ``asked`` lists every path looked at.

    The TCP tables hold only the listening sockets, listed through sock_diag, which is much
    faster than the kernel's full /proc/net/tcp; the file is read if sock_diag is unavailable.
    """

    def __init__(self) -> None:
        self.asked: set[str] = set()
        self._commands: dict[str, Callable[[], str | None]] = {
            ARCH_COMMAND: lambda: os.uname().machine,
            EUID_COMMAND: lambda: str(os.geteuid()),
            HOME_COMMAND: lambda: os.environ.get("HOME"),
            SUDO_COMMAND: _sudo_status,
        }
        self._commands.update({which_command(program): _which(program) for program in PROGRAMS})

    def read(self, path: str) -> str:
        """Return the text of a file on this machine."""
        self.asked.add(path)
        if path in _TCP_TABLES and os.path.exists(path):
            try:
                return listening_tcp_table(_TCP_TABLES[path])
            except OSError:
                pass
        with open(path, encoding="utf-8", errors="replace") as file:
            return file.read()

    def readlink(self, path: str) -> str:
        """Return the target of a symlink on this machine."""
        self.asked.add(path)
        return os.readlink(path)

    def listdir(self, path: str) -> list[str]:
        """Return the names in a folder on this machine, sorted."""
        self.asked.add(path)
        return sorted(os.listdir(path))

    def exists(self, path: str) -> bool:
        """Return True if something (even a dangling symlink) exists at the path."""
        self.asked.add(path)
        return os.path.lexists(path)

    def command(self, command: str) -> str | None:
        """Return what a known command would print here, answered without a shell."""
        answer = self._commands.get(command)
        return answer() if answer else None


def locate_data_path(data_path: str) -> tuple[str, str]:
    """Return (the data path made absolute, the nearest existing folder with symlinks resolved)."""
    if not data_path.strip():
        raise UsageError("the data path is empty", _DATA_PATH_HINT)
    requested = os.path.abspath(os.path.expanduser(data_path))
    candidate = requested
    while True:
        try:
            status = os.stat(candidate)
        except FileNotFoundError:
            candidate = os.path.dirname(candidate)
            continue
        except NotADirectoryError:
            raise UsageError(
                f"data path {data_path} cannot be read: part of it is a file, not a folder",
                _DATA_PATH_HINT,
            ) from None
        except OSError as error:
            raise UsageError(
                f"data path {data_path} cannot be read: {os_error_reason(error)}",
                _DATA_PATH_HINT,
            ) from None
        break
    if not stat.S_ISDIR(status.st_mode):
        raise UsageError(f"data path {data_path} is a file, not a folder", _DATA_PATH_HINT)
    return requested, os.path.realpath(candidate)


def _settle(
    unknown: dict[str, str], values: dict[str, object | None], prefix: str
) -> dict[str, object]:
    known = {name: value for name, value in values.items() if value is not None}
    for name in known:
        unknown.pop(f"{prefix}.{name}", None)
    return known


def _with_psutil(facts: HostFacts, data_path: str) -> HostFacts:
    unknown = dict(facts.unknown)
    memory = psutil.virtual_memory()
    cpu = _settle(
        unknown,
        {"logical": psutil.cpu_count(), "physical": psutil.cpu_count(logical=False)},
        "cpu",
    )
    ram = _settle(
        unknown,
        {"total": memory.total, "available": memory.available, "swap": psutil.swap_memory().total},
        "memory",
    )
    try:
        usage = psutil.disk_usage(data_path)
        disk = _settle(unknown, {"total": usage.total, "free": usage.free}, "disk")
    except OSError:
        disk = {}
    return facts.model_copy(
        update={
            "cpu": facts.cpu.model_copy(update=cpu),
            "memory": facts.memory.model_copy(update=ram),
            "disk": facts.disk.model_copy(update=disk),
            "unknown": unknown,
        }
    )


def socket_owners(timeout: float = SOCKET_OWNERS_TIMEOUT) -> dict[tuple[int, str], str] | None:
    """Return {(port, "tcp"|"udp"): process name} for watched ports, None if not listed in time."""
    listed: list[list[Any]] = []

    def collect() -> None:
        try:
            listed.append(psutil.net_connections(kind="inet"))
        except (psutil.Error, OSError):
            return

    worker = threading.Thread(target=collect, daemon=True)
    worker.start()
    worker.join(timeout)
    if not listed:
        return None
    owners: dict[tuple[int, str], str] = {}
    for connection in listed[0]:
        protocol = "tcp" if connection.type == socket.SOCK_STREAM else "udp"
        if protocol == "tcp" and connection.status != psutil.CONN_LISTEN:
            continue
        if connection.pid is None or not connection.laddr:
            continue
        port = connection.laddr.port
        if port not in WATCHED_PORTS:
            continue
        try:
            owners[(port, protocol)] = psutil.Process(connection.pid).name()
        except psutil.Error:
            continue
    return owners


def _with_socket_owners(facts: HostFacts) -> HostFacts:
    if not facts.ports_in_use:
        return facts
    owners = socket_owners()
    if owners is None:
        return facts
    ports = [
        PortUse(port=use.port, protocol=use.protocol, process=owners.get((use.port, use.protocol)))
        for use in facts.ports_in_use
    ]
    return facts.model_copy(update={"ports_in_use": ports})


def _with_data_path(facts: HostFacts, requested: str, existing: str) -> HostFacts:
    unknown = dict(facts.unknown)
    disk = facts.disk.model_copy(update={"path": requested})
    if os.path.realpath(requested) != existing:
        note = f"{requested} does not exist yet: sizes and kind are those of {existing}"
        unknown["disk.path"] = note
        disk = disk.model_copy(update={"kind_reason": f"{disk.kind_reason} ({note})"})
    return facts.model_copy(update={"disk": disk, "unknown": unknown})


def _with_measurement(facts: HostFacts, existing: str) -> HostFacts:
    kind, reason = measure_disk_kind(existing)
    unknown = dict(facts.unknown)
    if kind is DiskKind.UNKNOWN:
        update = {"kind_reason": f"{facts.disk.kind_reason}; measuring did not tell: {reason}"}
    else:
        unknown.pop("disk.kind", None)
        update = {
            "kind": kind,
            "kind_reason": f"measured: {reason} (sysfs: {facts.disk.kind_reason})",
        }
    return facts.model_copy(
        update={"disk": facts.disk.model_copy(update=update), "unknown": unknown}
    )


def probe_local(data_path: str = "/var/lib", measure_disk: bool = False) -> HostFacts:
    """Return this machine's HostFacts for a homeserver keeping its data at ``data_path``.

    A data path that does not exist yet is judged by its nearest existing parent folder, and
    ``unknown["disk.path"]`` says so; one that cannot be read raises UsageError.
    ``measure_disk`` times random reads (about 2 s) to tell SSD from HDD where sysfs cannot.
    """
    requested, existing = locate_data_path(data_path)
    facts = facts_from_snapshot(LiveSnapshot(), existing, source="local")
    facts = _with_psutil(facts, existing)
    facts = _with_socket_owners(facts)
    if measure_disk:
        facts = _with_measurement(facts, existing)
    return _with_data_path(facts, requested, existing)
