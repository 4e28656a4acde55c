"""apply.sh under compose names what the host lacks before it changes anything.

No container engine runs here: `docker` and `docker-compose` are stand-ins that answer
`version`, so that the check sees them; the host is busybox's applets alone, as a minimal one.
"""

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import busybox_applets, run_cli
from tests.e2e.support import require_root

pytestmark = pytest.mark.integration

ANSWERS = """\
homeserver: {kind: synapse}
domain: {server_name: example.com}
database: {kind: sqlite}
proxy: {kind: caddy}
firewall: {enabled: %s}
deployment: {kind: compose}
"""


def dry_run(tmp_path: Path, firewall: bool) -> str:
    """Generate a compose bundle and return what its apply.sh --dry-run prints on a bare host.

    No staging prefix: the dry run changes nothing, and a staging run leaves the firewall alone.
    """
    answers = tmp_path / "answers.yaml"
    answers.write_text(ANSWERS % str(firewall).lower(), encoding="utf-8")
    bundle = tmp_path / "bundle"
    done = run_cli("generate", "--answers", str(answers), "--out", str(bundle))
    assert done.returncode == 0, done.stdout + done.stderr
    stand_ins = tmp_path / "stand-ins"
    stand_ins.mkdir()
    for program in ("docker", "docker-compose"):
        (stand_ins / program).write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
        (stand_ins / program).chmod(0o755)
    path = f"{stand_ins}:{busybox_applets(tmp_path / 'busybox', flock=True)}"
    done = subprocess.run(
        ["sh", str(bundle / "apply.sh"), "--dry-run"],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": path},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_a_host_without_nft_or_ufw_is_told_to_install_nftables_for_the_firewall(
    tmp_path: Path,
) -> None:
    require_root()
    assert "missing: nftables" in dry_run(tmp_path, firewall=True)


def test_without_the_firewall_nftables_is_not_asked_for(tmp_path: Path) -> None:
    require_root()
    assert "nftables" not in dry_run(tmp_path, firewall=False).split("==> creating folders")[0]
