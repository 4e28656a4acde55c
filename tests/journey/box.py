"""A fresh Debian box for the journey tests: systemd as PID 1 and sshd, in a podman container.

It stands for a small VPS: 2 GiB of memory and one CPU (cgroup limits the wizard must read),
its SSH, HTTPS and federation ports published on 127.0.0.1, a key authorised for root, and
NET_ADMIN so that the bundle's firewall loads into the box's own network namespace.
"""

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.compose import images
from tests.compose.engine import podman
from tests.e2e.support import bindable, free_ports
from tests.journey.image_store import BOX_STORE
from tests.waiting import wait_until

MEMORY = "2g"
CPUS = "1"
# The ports the box publishes, by the port they reach inside it.
INSIDE = {"ssh": 22, "http": 80, "https": 443, "federation": 8448}


@dataclass(frozen=True)
class Box:
    """A running box: its container, published ports, root's key and its SSH host key."""

    name: str
    ports: dict[str, int]
    key: Path
    host_key: str

    def run(self, command: str, check: bool = True) -> str:
        """Run a shell command in the box as root (as an admin's shell there) and return stdout."""
        return podman("exec", self.name, "sh", "-c", command, check=check, timeout=300)

    def copy_in(self, source: Path, target: str) -> None:
        """Copy a file of this machine into the box."""
        podman("cp", str(source), f"{self.name}:{target}")

    def failed_units_log(self) -> str:
        """Return the box's failed units and the end of each one's journal."""
        failed = self.run("systemctl --failed --plain --no-legend", check=False)
        units = [line.split()[0] for line in failed.splitlines() if line.strip()]
        logs = [self.run(f"journalctl -n 40 --no-pager -u {unit}", check=False) for unit in units]
        return "\n".join([f"failed units in {self.name}: {units}", *logs])

    def reboot(self) -> None:
        """Restart the box as a reboot would: systemd stops everything and boots again."""
        podman("restart", "--time", "60", self.name)
        wait_until(lambda: booted(self.name), "systemd in the box to finish starting again")

    def ssh_args(self) -> list[str]:
        """Return the matrix-wizard options that reach the box over SSH."""
        return [
            *("--ssh", "root@127.0.0.1", "--port", str(self.ports["ssh"])),
            *("--identity", str(self.key), "--accept-host-key", self.host_key),
        ]


def booted(name: str) -> bool:
    """Return whether systemd in the box has finished starting (running, or degraded)."""
    state = podman("exec", name, "systemctl", "is-system-running", check=False)
    return state.strip() in ("running", "degraded")


@dataclass(frozen=True)
class Attachment:
    """A private network of the engine for the box: its name, the box's address, its DNS."""

    network: str
    address: str
    nameserver: str


@contextmanager
def running_box(
    folder: Path,
    name: str,
    *,
    privileged: bool = False,
    attach: Attachment | None = None,
    federation_port: bool = True,
    cpus: str = CPUS,
    memory: str = MEMORY,
    image_store: Path | None = None,
) -> Iterator[Box]:
    """Start a fresh box with the wheels mounted, authorise a new key, and remove it after.

    A privileged box stands for a virtual machine, in which a container engine can run. An
    attached box is on a private network at its own address, asking its nameserver for names;
    its federation port is reached there, not on this machine. Boxes side by side whose
    bundles serve federation on the HTTPS port publish no federation port. An image store is
    mounted read-only where the engine of a privileged box can be told to read it.
    """
    image = images.build("box")
    keys = folder / name
    keys.mkdir(parents=True, exist_ok=True)
    key = keys / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    inside = {port: number for port, number in INSIDE.items() if port != "federation"}
    ports = dict(zip(inside, free_ports(len(inside)), strict=True))
    network: list[str] = []
    if attach is None and federation_port:
        # Federation on its own number: doctor reads that port from the bundle, as servers do.
        assert bindable(INSIDE["federation"]), f"port {INSIDE['federation']} of 127.0.0.1 is in use"
        ports["federation"] = inside["federation"] = INSIDE["federation"]
    elif attach is not None:
        network = [f"--network={attach.network}", f"--ip={attach.address}"]
        network.append(f"--dns={attach.nameserver}")
    published = [f"--publish=127.0.0.1:{ports[port]}:{inside[port]}" for port in inside]
    podman(
        *("run", "--detach", "--name", name, "--systemd=always", "--cap-add=NET_ADMIN"),
        *(["--privileged"] if privileged else []),
        *(f"--memory={memory}", f"--cpus={cpus}", *network, *published),
        *("--volume", f"{images.wheelhouse()}:/wheels:ro"),
        *(["--volume", f"{image_store}:{BOX_STORE}:ro"] if image_store else []),
        image,
    )
    try:
        wait_until(lambda: booted(name), "systemd in the box to finish starting")
        podman("cp", f"{key}.pub", f"{name}:/root/.ssh/authorized_keys")
        fingerprint = podman("exec", name, "ssh-keygen", "-lf", "/etc/ssh/ssh_host_ed25519_key.pub")
        yield Box(name, ports, key, fingerprint.split()[1])
    finally:
        podman("rm", "--force", "--time", "30", name, check=False)
