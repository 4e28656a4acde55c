"""HostFacts: what a machine offers a homeserver, whether probed, reached over SSH or described."""

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class DiskKind(StrEnum):
    """Whether the disk under the data path spins."""

    SSD = "ssd"
    HDD = "hdd"
    UNKNOWN = "unknown"


class _Facts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CpuFacts(_Facts):
    """Processor counts and model; ``limit`` is a cgroup CPU quota in cores, if any."""

    logical: int | None = None
    physical: int | None = None
    model: str | None = None
    arch: str | None = None
    limit: float | None = None


class MemoryFacts(_Facts):
    """RAM and swap in bytes; ``limit`` is a cgroup memory limit, if any."""

    total: int | None = None
    available: int | None = None
    swap: int | None = None
    limit: int | None = None


class DiskFacts(_Facts):
    """The filesystem holding the data path: sizes in bytes, its kind and how that was decided."""

    path: str = "/var/lib"
    total: int | None = None
    free: int | None = None
    kind: DiskKind = DiskKind.UNKNOWN
    device: str | None = None
    kind_reason: str = ""


class SystemFacts(_Facts):
    """Operating system, kernel, virtualization and the rights of the user running the probe."""

    os_id: str | None = None
    os_version: str | None = None
    os_name: str | None = None
    kernel: str | None = None
    virtualization: str | None = None
    is_root: bool | None = None
    passwordless_sudo: bool | None = None


class PortUse(_Facts):
    """A port the homeserver stack wants that something is already listening on."""

    port: int
    protocol: Literal["tcp", "udp"] = "tcp"
    process: str | None = None


WATCHED_PORTS = (80, 443, 8448, 3478, 5349)
WATCHED_TOOLS = ("docker", "docker compose", "systemd", "nginx", "caddy", "traefik", "postgres")


class HostFacts(_Facts):
    """Everything the fit and the bundle need to know about one machine."""

    source: Literal["local", "ssh", "profile", "manual"] = "local"
    hostname: str | None = None
    cpu: CpuFacts = Field(default_factory=CpuFacts)
    memory: MemoryFacts = Field(default_factory=MemoryFacts)
    disk: DiskFacts = Field(default_factory=DiskFacts)
    system: SystemFacts = Field(default_factory=SystemFacts)
    ports_in_use: list[PortUse] = Field(default_factory=list)
    tools: dict[str, bool] = Field(default_factory=dict)
    unknown: dict[str, str] = Field(
        default_factory=dict, description="fact name -> why it could not be read"
    )

    @property
    def effective_cores(self) -> float | None:
        """Return the cores a homeserver may use: the logical count, capped by a CPU quota."""
        cores = self.cpu.logical
        if cores is None:
            return self.cpu.limit
        if self.cpu.limit is not None:
            return min(float(cores), self.cpu.limit)
        return float(cores)

    @property
    def effective_ram(self) -> int | None:
        """Return the RAM a homeserver may use: the total, capped by a memory limit."""
        total = self.memory.total
        if total is None:
            return self.memory.limit
        if self.memory.limit is not None:
            return min(total, self.memory.limit)
        return total
