"""The whole journey on a fresh Debian box: detect over SSH, generate, apply, and a client uses it.

The box (tests/journey/box.py) is a podman container with systemd as PID 1 and sshd, limited to
2 GiB and one CPU. Then, as a person would from a laptop:

1. `matrix-wizard detect --ssh` reads the box and its cgroup limits, and the fit says so;
2. `matrix-wizard answers` and `generate` write a native Synapse + PostgreSQL + nginx bundle
   with TLS from files (no certificate authority is reachable; the files are made with openssl
   and copied to the box, as a person copies theirs), TURN and monitoring on;
3. `matrix-wizard apply --ssh` uploads it and runs apply.sh on the box with no staging prefix:
   apt installs the packages from Debian's mirror, the users, Synapse's venv (pip finds the
   release's wheels in the box's /wheels, as a VPS with a mirror would), the units enabled and
   started by the box's systemd, and the firewall loaded in the box's network namespace;
4. the admin made with the README's command (run in the box, as in an SSH session there), and
   matrix-nio through the box's published HTTPS port logs in, creates a room, sends, syncs and
   reads back; every unit is active and the firewall's table is loaded;
5. `apply` again installs nothing and restarts nothing;
6. after a reboot of the box, every unit is active again, the firewall's table is loaded again,
   and the same user logs in (its account is in the database) and messages in a new room.

Also, after step 4, `matrix-wizard doctor` passes every check but TLS, unverified with the
self-signed certificate (the box's federation port is published on its own number, 8448).

The wizard on screen walks the same journey in test_journey_on_screen.py, and a compose
bundle on a box with a container engine inside it in test_journey_compose.py.
"""

import json
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.compose.engine import PROJECT_PREFIX, Engine
from tests.conftest import require_program
from tests.e2e.checks import check_doctor
from tests.e2e.client import converse
from tests.e2e.support import CERTIFICATE, PRIVATE_KEY, SERVER_NAME, Timings
from tests.integration.proxy_runtime import self_signed
from tests.journey.box import Box, running_box
from tests.journey.support import bundle_answers, generate_bundle, wizard
from tests.waiting import wait_until
from wizard.bundle import apply_script, systemd
from wizard.bundle.context import RenderContext

pytestmark = [pytest.mark.journey, pytest.mark.slow]

PASSWORD = "correct horse battery staple"
MESSAGE = "Hello from a fresh box"
USER = "alice"
GIB = 1024**3


def install_certificate(box: Box, ctx: RenderContext, folder: Path) -> None:
    """Make a self-signed certificate for the bundle's names and put it where the answers say."""
    chain, key = self_signed(
        folder, [ctx.homeserver_host, ctx.server_name_host, "turn." + SERVER_NAME]
    )
    box.run(f"mkdir -p {Path(CERTIFICATE).parent}")
    for source, target in ((chain, CERTIFICATE), (key, PRIVATE_KEY)):
        box.copy_in(source, target)


def check_running(box: Box, ctx: RenderContext) -> None:
    """Every unit the bundle starts is active, and the bundle's firewall table is loaded."""
    units = systemd.start_order(ctx)
    states = box.run(f"systemctl is-active {' '.join(units)}", check=False).split()
    assert states == ["active"] * len(units), box.failed_units_log()
    assert "table inet matrix_wizard" in box.run("nft list ruleset")


def print_footprint(box: Box) -> None:
    """Print the memory the box's processes hold and the disk its files take, installed."""
    rss = box.run(
        "cat /proc/[0-9]*/status 2>/dev/null | awk '/^VmRSS/ { k += $2 } END { print k }'"
    )
    disk = box.run("du -sxm / 2>/dev/null | cut -f1").strip()
    print(f"the box, installed and running: {int(rss) // 1024} MiB resident, {disk} MiB of disk")


def synapse_answers(box: Box) -> bool:
    """Return whether Synapse answers on its own port inside the box."""
    url = "http://127.0.0.1:8008/_matrix/client/versions"
    return box.run(f"curl -fs --max-time 5 {url} >/dev/null && echo up", check=False) == "up\n"


def test_a_fresh_box_detected_over_ssh_gets_a_working_homeserver(
    engine: Engine, tmp_path: Path, e2e_timings: list[Timings]
) -> None:
    require_program("ssh-keygen")
    timings = Timings("journey-native-synapse-postgresql-nginx-turn-monitoring")
    e2e_timings.append(timings)
    home = tmp_path / "home"
    home.mkdir()
    with ExitStack() as cleanup:
        with timings.step("box started (systemd running)"):
            box = cleanup.enter_context(
                running_box(tmp_path, f"{PROJECT_PREFIX}-box-{tmp_path.name}")
            )
        with timings.step("1. detect over SSH"):
            detected = json.loads(wizard("detect", *box.ssh_args(), "--json", home=home))
        facts = detected["facts"]
        assert facts["memory"]["limit"] == 2 * GIB
        assert facts["cpu"]["limit"] == 1.0
        found = {
            requirement["name"]: requirement["found"]
            for fit in detected["fits"]
            if fit["homeserver"] == "synapse"
            for check in fit["checks"]
            if check["tier"] == "minimum"
            for requirement in check["requirements"]
        }
        assert found["ram"].startswith("2 GiB (memory limit")
        assert found["cpu"].startswith("1 core (CPU quota")

        with timings.step("2. answers and generate"):
            answers = bundle_answers(
                home,
                SERVER_NAME,
                "nginx",
                "native",
                "calls.turn=true",
                "monitoring.prometheus=true",
            )
            bundle = tmp_path / "bundle"
            ctx = generate_bundle(home, answers, bundle)
        install_certificate(box, ctx, tmp_path)

        with timings.step("3. apply over SSH: apt, users, venv, units, firewall"):
            applied = wizard("apply", str(bundle), *box.ssh_args(), home=home, with_errors=True)
        assert "(staging: not done)" not in applied
        assert "synapse answers" in applied
        assert "could not change directory" not in applied  # psql runs from /

        with timings.step("4a. admin made with the README's command, in the box"):
            command = apply_script.admin_command(ctx)
            assert command is not None
            assert command in (bundle / "README.md").read_text(encoding="utf-8")
            made = box.run(f"{command} -u {USER} -p '{PASSWORD}'")
        assert "Success" in made
        with timings.step("4b. matrix-nio through the box's HTTPS port"):
            base_url = f"https://{ctx.homeserver_host}:{box.ports['https']}"
            seen = converse(base_url, f"@{USER}:{ctx.server_name}", PASSWORD, MESSAGE)
        assert MESSAGE in seen.bodies
        with timings.step("4c. matrix-wizard doctor against the box"):
            tls_ports = {box.ports["https"], box.ports["federation"]}
            check_doctor(bundle, ctx.homeserver_host, tls_ports, base_url)
        check_running(box, ctx)
        with timings.step("5. apply again: nothing to install, nothing restarted"):
            again_applied = wizard("apply", str(bundle), *box.ssh_args(), home=home)
        assert "installed already" in again_applied
        assert "systemctl restart" not in again_applied, again_applied
        for unit in systemd.start_order(ctx):
            assert f"{unit}: no file changed, left running" in again_applied
        with timings.step("6. reboot: the units, the firewall and the data come back"):
            box.reboot()
            wait_until(lambda: synapse_answers(box), "Synapse to answer after the reboot")
            check_running(box, ctx)
            again = converse(base_url, f"@{USER}:{ctx.server_name}", PASSWORD, MESSAGE)
        assert again.room_id != seen.room_id
        assert MESSAGE in again.bodies
        print_footprint(box)
    timings.finish()
