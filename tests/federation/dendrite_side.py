"""The Dendrite box of the federation test: its programs, the CA in its trust store, its unit."""

import shlex
from pathlib import Path

import yaml

from tests.federation.private_ca import PrivateCa
from tests.journey.box import Box
from wizard.bundle import apply_script, dendrite, layout, native
from wizard.bundle.context import RenderContext

# What of the build the bundle runs: its unit runs dendrite, its README create-account. The
# bundle writes Dendrite's signing key itself, so generate-keys is not needed.
PROGRAMS = ("dendrite", "create-account")
NAME_PLACEHOLDER = "YOURNAME"
# How much of Dendrite's log a failure shows.
LOG_LINES = 60
# Debian's folder for a host's own CAs, which update-ca-certificates adds to the system's bundle
# (/etc/ssl/certs/ca-certificates.crt, which Go reads).
LOCAL_CA = "/usr/local/share/ca-certificates/matrix-wizard-test-federation.crt"


def place_dendrite(box: Box, ctx: RenderContext, build: Path) -> None:
    """Put the build's programs where the bundle runs them, before apply.sh.

    That is /usr/local/bin (native.local_program), where a person copies the programs they
    built: a native apply.sh fetches no Dendrite and refuses to start without it there. Were
    apply.sh to install Dendrite elsewhere itself, the target below is the one line to change.
    """
    for program in PROGRAMS:
        target = native.local_program(ctx, program)
        box.run(f"mkdir -p {Path(target).parent}")
        box.copy_in(build / program, target)


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
    assert box.run(f"readlink /proc/{pid}/exe").strip() == native.local_program(ctx, PROGRAMS[0])
    status = box.run(f"cat /proc/{pid}/status")
    assert "NoNewPrivs:\t1" in status and "Seccomp:\t2" in status, status


def log_tail(box: Box, ctx: RenderContext) -> str:
    """Return the end of Dendrite's own log in the box, for a failure's message."""
    unit = layout.systemd_unit(ctx.homeserver.value)
    return box.run(f"journalctl -u {unit} -n {LOG_LINES} --no-pager", check=False)
