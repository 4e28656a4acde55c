"""The federation tests' private network: the engine's bridge, and a real DNS server on it.

The network's addresses are not private ones: Synapse refuses, by default and rightly, to
federate with servers at private or reserved addresses (ip_range_blacklist), and the bundles
keep that default. The range is one no test machine reaches otherwise; the bridge is this
machine's own, so nothing leaves it. Its DNS is dnsmasq (tests/compose/images/dns): the
records each bundle's dns-records.zone asks for, with this network's addresses, and every other
name forwarded to this machine's resolver (the boxes' apt reaches Debian's mirror by name).
"""

import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.compose import images
from tests.compose.engine import engine_env, podman
from tests.waiting import wait_until

SUBNET_PREFIX = "100.200.7"
NAMESERVER = f"{SUBNET_PREFIX}.2"
RESOLV_CONF = Path("/etc/resolv.conf")


def address(number: int) -> str:
    """Return the network's address ending in number."""
    return f"{SUBNET_PREFIX}.{number}"


@dataclass
class Zone:
    """The records the network's DNS answers: address records and SRV records."""

    addresses: dict[str, str] = field(default_factory=dict)
    services: list[tuple[str, str, int]] = field(default_factory=list)

    def dnsmasq_args(self, upstream: str) -> list[str]:
        """Return dnsmasq's options serving this zone, forwarding other names upstream."""
        args = [f"--host-record={host},{ip}" for host, ip in self.addresses.items()]
        args += [f"--srv-host={name},{target},{port}" for name, target, port in self.services]
        return [*args, "--local=/test/", f"--server={upstream}"]


def upstream_resolver() -> str:
    """Return this machine's first nameserver, to which the network's DNS forwards."""
    found = re.search(r"^nameserver\s+(\S+)", RESOLV_CONF.read_text(encoding="utf-8"), re.M)
    assert found, f"{RESOLV_CONF} names no nameserver"
    return found.group(1)


@contextmanager
def private_network(name: str) -> Iterator[str]:
    """Make the bridge network (its own DNS off: dnsmasq answers), and remove it after."""
    podman(
        *("network", "create", "--disable-dns", f"--subnet={SUBNET_PREFIX}.0/24"),
        *(f"--gateway={address(1)}", name),
    )
    try:
        yield name
    finally:
        podman("network", "rm", "--force", name, check=False)


def dns_log(name: str) -> str:
    """Return what dnsmasq has logged (to its standard error) so far."""
    logged = subprocess.run(
        ["podman", "logs", name],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=engine_env(),
        timeout=60,
        check=False,
    )
    return logged.stdout


def dns_started(name: str) -> bool:
    """Return whether dnsmasq says it has started."""
    return "started, version" in dns_log(name)


@contextmanager
def running_dns(network: str, name: str, zone: Zone) -> Iterator[str]:
    """Run dnsmasq on the network at NAMESERVER for the zone; return its container's name."""
    image = images.build("dns")
    podman(
        *("run", "--detach", "--name", name, f"--network={network}", f"--ip={NAMESERVER}"),
        image,
        *zone.dnsmasq_args(upstream_resolver()),
    )
    try:
        wait_until(lambda: dns_started(name), "dnsmasq to start")
        yield name
    finally:
        podman("rm", "--force", "--time", "5", name, check=False)
