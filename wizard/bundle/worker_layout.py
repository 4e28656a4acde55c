"""Which Synapse workers a machine gets: their roles, how many of each, and each one's RAM share.

Synapse's docs/workers.md recommends a single process for small instances and gives no minimum
set; matrix-docker-ansible-deploy's heavy preset (about 17 processes) costs more than it saves
on small machines (beyond-the-overview.md, "Workers"). So the layout starts from one worker of
each role and adds sync workers, client readers and federation senders only as cores allow,
never more processes than the RAM can hold.
"""

from dataclasses import dataclass
from enum import StrEnum

from wizard.units import MIB


class Role(StrEnum):
    """What one worker does."""

    EVENT_PERSISTER = "event_persister"
    SYNC = "sync"
    CLIENT_READER = "client_reader"
    FEDERATION_READER = "federation_reader"
    MEDIA = "media"
    FEDERATION_SENDER = "federation_sender"
    TASKS = "tasks"


@dataclass(frozen=True)
class RoleSpec:
    """A role's name and duty in words, its share of the caches, and the cores for another."""

    noun: str  # one worker of the role, in words
    duty: str
    cache_weight: float
    cores_per_worker: int  # one more worker of this role per this many cores; 0: always one
    most: int


# The main process keeps what no worker takes: sending events, admin and everything not routed.
MAIN_DUTY = "creates events, serves the admin API and every request no worker takes"
MAIN_CACHE_WEIGHT = 1.5
ROLES: dict[Role, RoleSpec] = {
    Role.EVENT_PERSISTER: RoleSpec(
        "event persister", "writes every new event to the database", 1.0, 0, 1
    ),
    Role.SYNC: RoleSpec(
        "sync worker", "answers sync requests, each user always on the same one", 2.0, 4, 4
    ),
    Role.CLIENT_READER: RoleSpec(
        "client reader", "answers client reads: messages, state, members, keys, login", 1.5, 8, 4
    ),
    Role.FEDERATION_READER: RoleSpec(
        "federation reader", "answers other servers' requests", 1.0, 8, 2
    ),
    Role.MEDIA: RoleSpec("media worker", "stores and serves uploads and thumbnails", 0.5, 0, 1),
    Role.FEDERATION_SENDER: RoleSpec(
        "federation sender", "sends events to other servers", 0.5, 8, 4
    ),
    Role.TASKS: RoleSpec(
        "task worker", "sends push notifications and runs background jobs", 0.5, 0, 1
    ),
}
# What one Synapse process needs before any cache: Python, Twisted and its pools.
PROCESS_BASE_RAM = 256 * MIB
# Roles that gain a worker first when a machine has room for more than one of each.
GROWING = (Role.SYNC, Role.CLIENT_READER, Role.FEDERATION_SENDER, Role.FEDERATION_READER)


@dataclass(frozen=True)
class Worker:
    """One worker: its name, role, and number (1 up, across all workers) for its ports."""

    name: str
    role: Role
    number: int


def role_counts(cores: int, ram: int) -> dict[Role, int]:
    """Return how many workers of each role a machine with these cores and this RAM gets."""
    counts = {role: 1 for role in ROLES}
    room = ram // PROCESS_BASE_RAM - 1 - len(counts)  # processes the RAM holds beyond the base
    for role in GROWING:
        spec = ROLES[role]
        wanted = min(spec.most, max(1, cores // spec.cores_per_worker))
        extra = max(0, min(wanted - 1, room))
        counts[role] += extra
        room -= extra
    return counts


def layout(cores: int, ram: int) -> tuple[Worker, ...]:
    """Return the workers, in a fixed order, named by role and number (sync1, sync2, ...)."""
    workers: list[Worker] = []
    for role, count in role_counts(cores, ram).items():
        for index in range(1, count + 1):
            workers.append(Worker(f"{role.value}{index}", role, len(workers) + 1))
    return tuple(workers)


def ram_shares(ram: int, workers: tuple[Worker, ...]) -> dict[str, int]:
    """Return the bytes of RAM each process's caches may use, "main" included, by role weight."""
    weights = {"main": MAIN_CACHE_WEIGHT}
    weights.update({worker.name: ROLES[worker.role].cache_weight for worker in workers})
    total = sum(weights.values())
    return {name: int(ram * weight / total) for name, weight in weights.items()}


def role_count(role: Role, count: int) -> str:
    """Return how many workers of a role, in words: "1 event persister", "2 sync workers"."""
    noun = ROLES[role].noun
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def of_role(workers: tuple[Worker, ...], role: Role) -> list[str]:
    """Return the names of the workers of one role."""
    return [worker.name for worker in workers if worker.role is role]
