"""Federation proven: bundles on three boxes find each other through delegation and talk.

Three native PostgreSQL bundles, two of Synapse and one of Dendrite, each applied over SSH to
its own fresh box (the journey tests' box) on one private network of the engine
(tests/federation/network.py):

- alpha.test: Synapse behind nginx, `.well-known` delegation on the apex to
  matrix.alpha.test:443;
- beta.test: Synapse behind Caddy, SRV delegation (`_matrix-fed._tcp.beta.test` to
  matrix.beta.test:8448);
- gamma.test: Dendrite behind Traefik, `.well-known` delegation to matrix.gamma.test:8448.

Names resolve the way the internet does it: dnsmasq on the network answers exactly the records
each bundle's dns-records.zone asks for (A for the hosts, SRV where the bundle delegates by
SRV), with the boxes' addresses. TLS comes from a private CA the test makes: each box gets a
certificate for its names from it; the Synapse bundles trust it for federation through the
`proxy.federation_ca_path` answer (Synapse's federation_custom_ca_list). Dendrite has no such
setting (the answers refuse it for Dendrite), so the CA goes into the Dendrite box's system
trust store with update-ca-certificates, as an admin of a closed federation would do, and Go
reads it there. Verification is never turned off.

The Dendrite box runs Dendrite v0.13.8, built with the machine's Go from the matrix-org module
(tests/e2e/dendrite_build.py), the newest release the Go module proxy serves; the bundle pins
v0.15.2 for users (wizard/bundle/versions.py), which runs nowhere here. Its programs are copied
where the bundle runs them before apply.sh (tests/federation/dendrite_side.py), and Dendrite
runs under the bundle's own unit on the box's systemd: the test checks it is the unit's main
process, as the unit's user, inside its sandbox.

`matrix-wizard doctor`, asking the network's DNS and trusting the CA, passes every check
against each, its federation discovery following each delegation. Then matrix-nio, through
each box's published HTTPS port, three times round: alpha invites beta (Synapse to Synapse),
gamma invites alpha (Dendrite to Synapse) and beta invites gamma (Synapse to Dendrite, which
finds beta by SRV). One user makes a room and invites the other, who joins over federation;
both send, and each reads the other's message.
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
from tests.federation import dendrite_side
from tests.federation.clients import Account, Exchange, exchange
from tests.federation.network import NAMESERVER, Zone, address, private_network, running_dns
from tests.federation.private_ca import PrivateCa, make_ca
from tests.journey.box import Attachment, Box, running_box
from tests.journey.support import bundle_answers, generate_bundle, place_traefik, wizard
from tests.journey.test_journey import check_running
from wizard.answers.model import Homeserver
from wizard.bundle import apply_script, discovery
from wizard.bundle.context import RenderContext

pytestmark = [pytest.mark.federation, pytest.mark.slow]

CA_PATH = "/etc/ssl/private-federation/ca.pem"
DISCOVERY = "federation discovery"
PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Side:
    """One of the servers: its name, proxy, delegation, federation port, address and homeserver."""

    name: str
    server_name: str
    proxy: str
    delegation: str
    federation_port: int
    host_number: int
    user: str
    homeserver: Homeserver = Homeserver.SYNAPSE

    @property
    def address(self) -> str:
        """Return the box's address on the private network."""
        return address(self.host_number)


ALPHA = Side("alpha", "alpha.test", "nginx", "well-known", 443, 10, "alice")
BETA = Side("beta", "beta.test", "caddy", "srv", 8448, 11, "bob")
GAMMA = Side("gamma", "gamma.test", "traefik", "well-known", 8448, 12, "carol", Homeserver.DENDRITE)
SIDES = (ALPHA, BETA, GAMMA)
# Who invites whom: each delegation form and each proxy is on the receiving end once, and
# Dendrite invites a Synapse user once and is invited by one once.
EXCHANGES = ((ALPHA, BETA), (GAMMA, ALPHA), (BETA, GAMMA))
DENDRITE_V0_13_ROOM_VERSION = "11"


def room_version(inviter: Side, invitee: Side) -> str | None:
    """Return the room's version: the inviter's default, but 11 from Synapse to Dendrite.

    Synapse 1.163 makes rooms of version 12, which Dendrite runs from 0.15.0 on (the bundle pins
    0.15.2), but not the v0.13.8 run here: it refuses the invite, as version 12's room IDs name
    no server. 11 is the newest version both run.
    """
    if inviter.homeserver is Homeserver.SYNAPSE and invitee.homeserver is Homeserver.DENDRITE:
        return DENDRITE_V0_13_ROOM_VERSION
    return None


def generate(side: Side, folder: Path, home: Path) -> tuple[Path, RenderContext]:
    """Write the side's answers with `matrix-wizard answers`, generate its bundle."""
    settings = [
        f"domain.delegation={side.delegation}",
        f"proxy.federation_port={side.federation_port}",
    ]
    if side.homeserver is Homeserver.SYNAPSE:  # Dendrite's answers refuse it: its box trusts the CA
        settings.append(f"proxy.federation_ca_path={CA_PATH}")
    answers = bundle_answers(
        home, side.server_name, side.proxy, "native", *settings, homeserver=side.homeserver.value
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
    files = [(chain, CERTIFICATE), (key, PRIVATE_KEY)]
    if ctx.answers.proxy.federation_ca_path:
        files.append((ca.certificate, ctx.answers.proxy.federation_ca_path))
    for source, target in files:
        box.run(f"mkdir -p {Path(target).parent}")
        box.copy_in(source, target)


def make_admin(box: Box, ctx: RenderContext, user: str) -> None:
    """Make the side's user with the README's admin command, in the box."""
    if ctx.homeserver is Homeserver.DENDRITE:
        dendrite_side.make_user(box, ctx, user, PASSWORD)
        return
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


def federate(
    inviter: Side,
    invitee: Side,
    accounts: dict[str, Account],
    boxes: dict[str, Box],
    built: dict[str, tuple[Path, RenderContext]],
) -> Exchange:
    """Run one round between two users; a failure shows the end of any Dendrite side's log."""
    messages = (f"Hello {invitee.name}, from {inviter.name}", f"Hello back, {inviter.name}")
    version = room_version(inviter, invitee)
    try:
        seen = exchange(accounts[inviter.name], accounts[invitee.name], messages, version)
    except AssertionError as failed:
        logs = [
            dendrite_side.log_tail(boxes[side.name], built[side.name][1])
            for side in (inviter, invitee)
            if side.homeserver is Homeserver.DENDRITE
        ]
        raise AssertionError("\n".join([str(failed), *logs])) from None
    assert messages[0] in seen.read_by_invitee
    assert messages[1] in seen.read_by_inviter
    return seen


def test_synapse_and_dendrite_bundles_federate_through_well_known_and_srv_delegation(
    engine: Engine, tmp_path: Path, e2e_timings: list[Timings], dendrite_programs: Path
) -> None:
    require_program("ssh-keygen")
    require_program("openssl")
    timings = Timings("federation-synapse-nginx-caddy-dendrite-traefik-well-known-srv")
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
        for side in sides:
            if side.homeserver is Homeserver.DENDRITE:
                bundle, ctx = built[side.name]
                dendrite_side.check_verifies_certificates(bundle)
                with timings.step(f"{side.name}: the CA in its trust store, Dendrite in place"):
                    dendrite_side.trust_ca_system_wide(boxes[side.name], ca)
                    dendrite_side.place_dendrite(boxes[side.name], ctx, dendrite_programs)

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
            assert f"{side.homeserver.value} answers" in printed, printed
            check_running(boxes[side.name], built[side.name][1])
            if side.homeserver is Homeserver.DENDRITE:
                dendrite_side.check_runs_under_its_unit(boxes[side.name], built[side.name][1])
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
        assert "Dendrite" in reasons["gamma"]["federation API"]
        for inviter, invitee in EXCHANGES:
            with timings.step(
                f"{inviter.name} invites {invitee.name}: join and a message each way"
            ):
                seen = federate(inviter, invitee, accounts, boxes, built)
            print(
                f"{invitee.name} read {inviter.name}'s first message "
                f"{seen.first_message_seconds} s after the invite"
            )
    timings.finish()
