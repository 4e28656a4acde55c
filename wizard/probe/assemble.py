"""Build HostFacts from a snapshot; whatever cannot be read becomes None and a reason."""

from collections.abc import Callable
from typing import Literal, ParamSpec, TypeVar

from wizard.probe import parsers
from wizard.probe.blockdev import disk_verdict
from wizard.probe.facts import (
    WATCHED_PORTS,
    CpuFacts,
    DiskFacts,
    DiskKind,
    HostFacts,
    MemoryFacts,
    PortUse,
    SystemFacts,
)
from wizard.probe.snapshot import (
    ARCH_COMMAND,
    EUID_COMMAND,
    HOME_COMMAND,
    SUDO_COMMAND,
    Snapshot,
    df_command,
    read_or_reason,
    which_command,
)

T = TypeVar("T")
P = ParamSpec("P")

COMPOSE_PLUGIN_DIRS = (
    "/usr/libexec/docker/cli-plugins",
    "/usr/lib/docker/cli-plugins",
    "/usr/local/lib/docker/cli-plugins",
    "/usr/local/libexec/docker/cli-plugins",
)
PROGRAM_TOOLS = ("nginx", "caddy", "traefik")
SOCKET_TABLES: tuple[tuple[str, Literal["tcp", "udp"]], ...] = (
    ("/proc/net/tcp", "tcp"),
    ("/proc/net/tcp6", "tcp"),
    ("/proc/net/udp", "udp"),
    ("/proc/net/udp6", "udp"),
)


class _FactReader:
    """Reads a snapshot once per file and notes, per fact, why a value is missing."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.unknown: dict[str, str] = {}
        self._texts: dict[str, tuple[str | None, str]] = {}

    def text(self, path: str, fact: str | None = None) -> str | None:
        """Return a file's text; when absent, record why under ``fact`` (if given)."""
        if path not in self._texts:
            self._texts[path] = read_or_reason(self.snapshot, path)
        text, why = self._texts[path]
        if text is None and fact is not None:
            self.note(fact, why)
        return text

    def parsed(
        self, fact: str, parse: Callable[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> T | None:
        """Return ``parse(*args)``, or None with the parse error recorded under ``fact``."""
        try:
            return parse(*args, **kwargs)
        except ValueError as error:
            self.note(fact, str(error))
            return None

    def note(self, fact: str, reason: str) -> None:
        """Record why a fact is unknown, keeping the first reason given."""
        self.unknown.setdefault(fact, reason)

    def limit_file(self, path: str, fact: str) -> str | None:
        """Return a cgroup file's text; a missing file is no limit, an unreadable one unknown."""
        text, why = read_or_reason(self.snapshot, path)
        if text is None and self.snapshot.exists(path):
            self.note(fact, why)
        return text


def _append(values: list[T], value: T | None) -> None:
    if value is not None:
        values.append(value)


class _FactBuilder:
    """Builds each section of HostFacts from one snapshot."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.reader = _FactReader(snapshot)
        self.cpuinfo: parsers.CpuInfo | None = None
        self.mounts: list[parsers.Mount] | None = None

    def load_shared(self) -> None:
        """Read the files several sections need: cpuinfo and mountinfo."""
        reader = self.reader
        text = reader.text("/proc/cpuinfo", "cpu.model")
        if text is not None:
            self.cpuinfo = reader.parsed("cpu.model", parsers.parse_cpuinfo, text)
        mountinfo = reader.text("/proc/self/mountinfo")
        if mountinfo is not None:
            self.mounts = reader.parsed("disk.kind", parsers.parse_mountinfo, mountinfo)

    def memory(self) -> MemoryFacts:
        """Return RAM, swap and the cgroup memory limit."""
        reader = self.reader
        text = reader.text("/proc/meminfo", "memory.total")
        info = parsers.parse_meminfo(text) if text is not None else None
        total = info.total if info else None
        for fact, value in (
            ("memory.total", total),
            ("memory.available", info.available if info else None),
            ("memory.swap", info.swap if info else None),
        ):
            if value is None:
                reader.note(fact, reader.unknown.get("memory.total", "not in /proc/meminfo"))
        return MemoryFacts(
            total=total,
            available=info.available if info else None,
            swap=info.swap if info else None,
            limit=self._memory_limit(total),
        )

    def _cgroup_folders(self, fact: str, controller: str | None) -> list[str] | None:
        reader = self.reader
        text = reader.text("/proc/self/cgroup", fact)
        if text is None:
            return None
        if self.mounts is None:
            reader.note(fact, "/proc/self/mountinfo cannot be read")
            return None
        memberships = reader.parsed(fact, parsers.parse_proc_cgroup, text)
        if memberships is None:
            return None
        return parsers.cgroup_folders(memberships, self.mounts, controller)

    def _memory_limit(self, host_ram: int | None) -> int | None:
        fact = "memory.limit"
        reader = self.reader
        limits: list[int] = []
        for folder in self._cgroup_folders(fact, None) or []:
            text = reader.limit_file(f"{folder}/memory.max", fact)
            if text is not None:
                _append(limits, reader.parsed(fact, parsers.parse_cgroup2_memory_max, text))
        for folder in self._cgroup_folders(fact, "memory") or []:
            text = reader.limit_file(f"{folder}/memory.limit_in_bytes", fact)
            if text is not None:
                _append(
                    limits,
                    reader.parsed(fact, parsers.parse_cgroup1_memory_limit, text, host_ram),
                )
        return min(limits, default=None)

    def _cpu_limit(self, logical: int | None) -> float | None:
        fact = "cpu.limit"
        reader = self.reader
        limits: list[float] = []
        for folder in self._cgroup_folders(fact, None) or []:
            text = reader.limit_file(f"{folder}/cpu.max", fact)
            if text is not None:
                _append(limits, reader.parsed(fact, parsers.parse_cgroup2_cpu_max, text))
        for folder in self._cgroup_folders(fact, "cpu") or []:
            quota = reader.limit_file(f"{folder}/cpu.cfs_quota_us", fact)
            period = reader.limit_file(f"{folder}/cpu.cfs_period_us", fact)
            if quota is not None and period is not None:
                _append(
                    limits,
                    reader.parsed(fact, parsers.parse_cgroup1_cpu_quota, quota, period),
                )
        status = reader.text("/proc/self/status")
        if status is not None and logical is not None:
            allowed = reader.parsed(fact, parsers.parse_cpus_allowed, status)
            if allowed is not None and allowed < logical:
                limits.append(float(allowed))
        return min(limits, default=None)

    def _physical_from_topology(self, processors: tuple[int, ...]) -> int | None:
        lists = []
        for number in processors:
            path = f"/sys/devices/system/cpu/cpu{number}/topology/thread_siblings_list"
            text = self.reader.text(path, "cpu.physical")
            if text is None:
                return None
            lists.append(text)
        return self.reader.parsed("cpu.physical", parsers.count_physical_cores, lists)

    def cpu(self) -> CpuFacts:
        """Return CPU counts, model, architecture and the cgroup CPU quota."""
        reader = self.reader
        info = self.cpuinfo
        logical = info.logical if info else None
        physical = info.physical if info else None
        if info is not None and physical is None and info.processors:
            physical = self._physical_from_topology(info.processors)
        model = info.model if info else None
        for fact, value in (
            ("cpu.logical", logical),
            ("cpu.physical", physical),
            ("cpu.model", model),
        ):
            if value is None:
                reader.note(fact, reader.unknown.get("cpu.model", "not in /proc/cpuinfo"))
        arch = self.snapshot.command(ARCH_COMMAND)
        if not arch:
            reader.note("cpu.arch", f"'{ARCH_COMMAND}' gave no answer")
        return CpuFacts(
            logical=logical,
            physical=physical,
            model=model,
            arch=arch or None,
            limit=self._cpu_limit(logical),
        )

    def container(self) -> str | None:
        """Return the container runtime this runs in (docker, podman, lxc...), if any."""
        if self.snapshot.exists("/.dockerenv"):
            return "docker"
        if self.snapshot.exists("/run/.containerenv"):
            return "podman"
        environ = self.reader.text("/proc/1/environ")
        named = parsers.container_from_environ(environ) if environ is not None else None
        if named:
            return named
        init_cgroup = self.reader.text("/proc/1/cgroup")
        if init_cgroup is not None:
            return self.reader.parsed(
                "system.virtualization", parsers.container_from_cgroup, init_cgroup
            )
        return None

    def hypervisor(self, kernel: str | None) -> str | None:
        """Return the hypervisor this runs under (kvm, vmware, xen, hyperv...), or None."""
        reader = self.reader
        if kernel and "microsoft" in kernel.lower():
            return "wsl"
        vendor = reader.text("/sys/class/dmi/id/sys_vendor")
        product = reader.text("/sys/class/dmi/id/product_name")
        flags = self.cpuinfo.flags if self.cpuinfo else frozenset()
        named = parsers.hypervisor_from_dmi(vendor, product)
        if named == "qemu" and "hypervisor" in flags:
            return "kvm"
        if named:
            return named
        xen = reader.text("/sys/hypervisor/type")
        if xen is not None and xen.strip() == "xen":
            return "xen"
        if "hypervisor" in flags:
            return "vm"
        if vendor is None and self.cpuinfo is None:
            reader.note("system.virtualization", "neither DMI nor /proc/cpuinfo can be read")
        return None

    def system(self, container: str | None, hypervisor: str | None) -> SystemFacts:
        """Return OS, kernel, virtualization and the rights of the probing user."""
        reader = self.reader
        os_text = reader.text("/etc/os-release") or reader.text("/usr/lib/os-release", "system.os")
        release = parsers.parse_os_release(os_text) if os_text is not None else None
        kernel_text = reader.text("/proc/sys/kernel/osrelease", "system.kernel")
        kernel = parsers.parse_kernel_release(kernel_text) if kernel_text is not None else None
        virtualization = container or hypervisor
        if virtualization is None and "system.virtualization" not in reader.unknown:
            virtualization = "none"
        euid = self.snapshot.command(EUID_COMMAND)
        is_root = euid.strip() == "0" if euid and euid.strip().isdigit() else None
        if is_root is None:
            reader.note("system.is_root", f"'{EUID_COMMAND}' gave no answer")
        return SystemFacts(
            os_id=release.id if release else None,
            os_version=release.version_id if release else None,
            os_name=release.pretty_name if release else None,
            kernel=kernel,
            virtualization=virtualization,
            is_root=is_root,
            passwordless_sudo=self._passwordless_sudo(is_root),
        )

    def _passwordless_sudo(self, is_root: bool | None) -> bool | None:
        fact = "system.passwordless_sudo"
        if is_root:
            self.reader.note(fact, "not asked: the probe runs as root")
            return None
        if not self.snapshot.command(which_command("sudo")):
            return False
        status = self.snapshot.command(SUDO_COMMAND)
        if status is None or not status.strip().isdigit():
            self.reader.note(fact, f"'{SUDO_COMMAND}' gave no answer")
            return None
        return status.strip() == "0"

    def disk(self, data_path: str, hypervisor: str | None) -> DiskFacts:
        """Return the size, free space and kind of the filesystem holding the data path."""
        reader = self.reader
        line = self.snapshot.command(df_command(data_path))
        sizes = reader.parsed("disk.total", parsers.parse_df_line, line) if line else None
        if line is None:
            reader.note("disk.total", f"'{df_command(data_path)}' gave no answer")
        if sizes is None:
            reader.note("disk.free", reader.unknown["disk.total"])
        if self.mounts is None:
            reader.note("disk.kind", "/proc/self/mountinfo cannot be read")
            kind, device, reason = DiskKind.UNKNOWN, None, reader.unknown["disk.kind"]
        else:
            verdict = disk_verdict(self.snapshot, self.mounts, data_path, hypervisor)
            kind, device, reason = verdict.kind, verdict.device, verdict.reason
        if kind is DiskKind.UNKNOWN:
            reader.note("disk.kind", reason)
        if device is None:
            reader.note("disk.device", reason)
        return DiskFacts(
            path=data_path,
            total=sizes[0] if sizes else None,
            free=sizes[1] if sizes else None,
            kind=kind,
            device=device,
            kind_reason=reason,
        )

    def ports(self) -> list[PortUse]:
        """Return the watched ports something listens on (tcp) or is bound to (udp)."""
        found: set[tuple[int, Literal["tcp", "udp"]]] = set()
        reasons = []
        for path, protocol in SOCKET_TABLES:
            text, why = read_or_reason(self.snapshot, path)
            if text is None:
                reasons.append(why)
                continue
            ports = self.reader.parsed(
                "ports_in_use", parsers.parse_listening_ports, text, protocol
            )
            found.update((port, protocol) for port in ports or () if port in WATCHED_PORTS)
        if len(reasons) == len(SOCKET_TABLES):
            self.reader.note("ports_in_use", "; ".join(reasons))
        return [PortUse(port=port, protocol=proto) for port, proto in sorted(found)]

    def _installed(self, program: str) -> bool:
        return bool(self.snapshot.command(which_command(program)))

    def tools(self) -> dict[str, bool]:
        """Return which of the watched tools (and docker-compose v1) this machine has."""
        home = self.snapshot.command(HOME_COMMAND)
        plugin_dirs = [*COMPOSE_PLUGIN_DIRS, *([f"{home}/.docker/cli-plugins"] if home else [])]
        tools = {
            "docker": self._installed("docker"),
            "docker compose": any(
                self.snapshot.exists(f"{folder}/docker-compose") for folder in plugin_dirs
            ),
            "systemd": self.snapshot.exists("/run/systemd/system"),
        }
        for program in PROGRAM_TOOLS:
            tools[program] = self._installed(program)
        tools["postgres"] = self._installed("postgres") or self._debian_postgres()
        tools["docker-compose"] = self._installed("docker-compose")
        return tools

    def _debian_postgres(self) -> bool:
        try:
            versions = self.snapshot.listdir("/usr/lib/postgresql")
        except OSError:
            return False
        return any(
            self.snapshot.exists(f"/usr/lib/postgresql/{version}/bin/postgres")
            for version in versions
        )

    def hostname(self) -> str | None:
        """Return the machine's hostname."""
        text = self.reader.text("/proc/sys/kernel/hostname", "hostname")
        return (text.strip() or None) if text is not None else None


def facts_from_snapshot(
    snapshot: Snapshot,
    data_path: str,
    *,
    source: Literal["local", "ssh", "profile", "manual"] = "local",
) -> HostFacts:
    """Return the HostFacts a snapshot shows for a homeserver keeping its data at ``data_path``.

    ``data_path`` must be an existing absolute path on that machine with symlinks resolved.
    Nothing raises: a missing or unreadable source leaves the fact None (or the disk kind
    UNKNOWN) and records the reason in ``HostFacts.unknown``.
    """
    builder = _FactBuilder(snapshot)
    builder.load_shared()
    kernel_text = builder.reader.text("/proc/sys/kernel/osrelease")
    container = builder.container()
    hypervisor = builder.hypervisor(kernel_text)
    facts = HostFacts(
        source=source,
        hostname=builder.hostname(),
        cpu=builder.cpu(),
        memory=builder.memory(),
        disk=builder.disk(data_path, hypervisor if hypervisor not in (None, "wsl") else None),
        system=builder.system(container, hypervisor),
        ports_in_use=builder.ports(),
        tools=builder.tools(),
    )
    return facts.model_copy(update={"unknown": dict(sorted(builder.reader.unknown.items()))})
