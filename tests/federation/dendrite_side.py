"""The Dendrite box of the federation test: its programs, the CA in its trust store, its unit."""

import shlex
from pathlib import Path

import yaml

from tests.federation.private_ca import PrivateCa
from tests.journey.box import Box
from wizard.bundle import apply_script, dendrite, dendrite_build, layout
from wizard.bundle.context import RenderContext

NAME_PLACEHOLDER = "YOURNAME"
# How much of Dendrite's log a failure shows.
LOG_LINES = 60
# Debian's folder for a host's own CAs, which update-ca-certificates adds to the system's bundle
# (/etc/ssl/certs/ca-certificates.crt, which Go reads).
LOCAL_CA = "/usr/local/share/ca-certificates/matrix-wizard-test-federation.crt"


def place_dendrite(box: Box, ctx: RenderContext, build: Path) -> None:
    """Put the build's programs in the pinned release's folder, where apply.sh's build step looks.

    build-dendrite.sh then finds the release built and builds nothing (building it in a box of
    one core would take many minutes; tests/integration/test_dendrite_build.py runs that build),
    and links the programs into /usr/local/bin as it does after a build.
    """
    release = dendrite_build.program_dir(ctx)
    box.run(f"mkdir -p {release}")
    for program in dendrite_build.PROGRAMS:
        box.copy_in(build / program, f"{release}/{program}")


def check_verifies_certificates(bundle: Path) -> None:
    """Check the bundle's Dendrite verifies other servers' certificates: the CA must be trusted."""
    config = yaml.safe_load((bundle / dendrite.CONFIG_FILE).read_text(encoding="utf-8"))
    assert not config["federation_api"].get("disable_tls_validation", False)


def trust_ca_system_wide(box: Box, ca: PrivateCa) -> None:
    """Add the test's CA to the box's system trust store, as an admin of a closed federation would.

    Dendrite has no setting for a federation CA (the answers refuse proxy.federation_ca_path
    for it); Go's TLS reads the system's bundle, which update-ca-certificates writes.
    """
    box.run("apt-get update -q && apt-get install -y -q --no-install-recommends ca-certificates")
    box.copy_in(ca.certificate, LOCAL_CA)
    added = box.run("update-ca-certificates")
    assert "1 added" in added, added


def make_user(box: Box, ctx: RenderContext, user: str, password: str) -> None:
    """Make the user with the README's create-account command, the password on its stdin."""
    command = apply_script.admin_command(ctx)
    assert command is not None and NAME_PLACEHOLDER in command
    named = command.replace(NAME_PLACEHOLDER, shlex.quote(user))
    made = box.run(f"printf '%s' {shlex.quote(password)} | {named} -passwordstdin 2>&1")
    assert f"Created account: {user}" in made, made


def check_runs_under_its_unit(box: Box, ctx: RenderContext) -> None:
    """Check Dendrite is the unit's main process, as the unit's user, inside its sandbox.

    The sandbox shows in the process's status: no new privileges, and a seccomp filter (the
    unit's SystemCallFilter).
    """
    unit = layout.systemd_unit(ctx.homeserver.value)
    assert box.run(f"systemctl is-active {unit}", check=False).strip() == "active"
    pid = box.run(f"systemctl show --property=MainPID --value {unit}").strip()
    assert pid not in ("", "0"), f"{unit} has no main process"
    assert box.run(f"stat -c %U /proc/{pid}").strip() == layout.owner(ctx, ctx.homeserver.value)
    # The unit runs apply.sh's link in /usr/local/bin, which leads to the release's folder.
    built = f"{dendrite_build.program_dir(ctx)}/dendrite"
    assert box.run(f"readlink /proc/{pid}/exe").strip() == built
    status = box.run(f"cat /proc/{pid}/status")
    assert "NoNewPrivs:\t1" in status and "Seccomp:\t2" in status, status


def log_tail(box: Box, ctx: RenderContext) -> str:
    """Return the end of Dendrite's own log in the box, for a failure's message."""
    unit = layout.systemd_unit(ctx.homeserver.value)
    return box.run(f"journalctl -u {unit} -n {LOG_LINES} --no-pager", check=False)
