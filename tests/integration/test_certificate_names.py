"""apply.sh asks certbot only for the names DNS points here, read through the real resolver.

Each run sees its own /etc/hosts, bind-mounted in a private mount namespace (the host's file is
untouched), so getent, the script's resolver, answers as the DNS of a real deployment would.
Proven: the certbot command a dry run prints, with the names, the webroot and the renewal hook.
Not proven: a certificate authority accepting them (none can be reached from here).
"""

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.bundle_support import FIXED_SECRETS, answers_for
from tests.conftest import require_program
from wizard.bundle import layout
from wizard.bundle.context import RenderContext
from wizard.bundle.render import render

pytestmark = pytest.mark.integration

HERE, ELSEWHERE = "203.0.113.10", "198.51.100.7"
CERTBOT_LINE = re.compile(r"^\+ certbot certonly .*$", re.MULTILINE)


def _dry_run(tmp_path: Path, hosts: dict[str, str], **sets: Any) -> tuple[RenderContext, str]:
    """Render a bundle and run its apply.sh --dry-run with the given name-to-address DNS."""
    require_program("unshare")
    if shutil.which("mount") is None:
        pytest.skip("mount is not installed")
    answers = answers_for(
        deployment__install_dir=str(tmp_path / "install"),
        deployment__data_dir=str(tmp_path / "data"),
        **sets,
    )
    bundle = tmp_path / "bundle"
    for relative, file in render(answers, None, FIXED_SECRETS).items():
        target = bundle / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(file.text, encoding="utf-8")
        target.chmod(file.mode)
    hosts_file = tmp_path / "hosts"
    hosts_file.write_text("".join(f"{address} {name}\n" for name, address in hosts.items()))
    script = 'mount --bind "$1" /etc/hosts && exec sh "$2" --dry-run'
    done = subprocess.run(
        [
            *("unshare", "--mount", "--propagation", "private", "sh", "-c", script),
            *("sh", str(hosts_file), str(bundle / "apply.sh")),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return RenderContext(answers=answers, facts=None, secrets=FIXED_SECRETS), done.stdout


def _requested_names(out: str) -> list[str]:
    lines = CERTBOT_LINE.findall(out)
    assert len(lines) == 1, out
    return re.findall(r" -d (\S+)", lines[0])


@pytest.mark.parametrize("kind", ["compose", "native"])
def test_a_bare_domain_hosted_elsewhere_is_left_out_and_the_fix_is_said(
    tmp_path: Path, kind: str
) -> None:
    hosts = {"matrix.example.com": HERE, "example.com": ELSEWHERE, "turn.example.com": HERE}
    ctx, out = _dry_run(
        tmp_path,
        hosts,
        deployment__kind=kind,
        calls__turn=True,
        calls__turn_host="turn.example.com",
    )
    assert _requested_names(out) == ["matrix.example.com", "turn.example.com"]
    assert f"example.com does not point here (it resolves to: {ELSEWHERE} )" in out
    assert "/.well-known/matrix/ where it points" in out
    certbot = CERTBOT_LINE.findall(out)[0]
    assert f"--webroot --webroot-path {layout.acme_webroot_dir(ctx)} " in certbot
    assert "--standalone" not in certbot and "--pre-hook" not in certbot
    assert f"--deploy-hook {ctx.install_dir}/apply.sh --certificate-renewed" in certbot


def test_every_name_is_asked_for_when_all_point_here(tmp_path: Path) -> None:
    hosts = {"matrix.example.com": HERE, "example.com": HERE, "turn.example.com": HERE}
    _, out = _dry_run(tmp_path, hosts, calls__turn=True, calls__turn_host="turn.example.com")
    assert _requested_names(out) == ["matrix.example.com", "example.com", "turn.example.com"]
    assert "does not point here" not in out


def test_a_turn_name_not_yet_in_dns_is_left_out(tmp_path: Path) -> None:
    hosts = {"matrix.example.com": HERE, "example.com": HERE}
    _, out = _dry_run(tmp_path, hosts, calls__turn=True, calls__turn_host="turn.example.com")
    assert _requested_names(out) == ["matrix.example.com", "example.com"]
    assert "turn.example.com does not point here (it resolves to: nothing)" in out
    assert "TURN over TLS fails certificate checks" in out


def test_srv_delegation_says_federation_needs_the_server_name(tmp_path: Path) -> None:
    hosts = {"matrix.example.com": HERE, "example.com": ELSEWHERE}
    _, out = _dry_run(tmp_path, hosts, domain__delegation="srv")
    assert _requested_names(out) == ["matrix.example.com"]
    assert "other servers check the certificate for it (SRV delegation)" in out


def test_a_homeserver_name_not_in_dns_is_reported(tmp_path: Path) -> None:
    _, out = _dry_run(tmp_path, {"example.com": HERE})
    assert "matrix.example.com does not resolve: create the DNS records" in out
    assert _requested_names(out) == ["matrix.example.com"]


def test_the_element_web_host_is_asked_for_when_it_points_here(tmp_path: Path) -> None:
    here = {"matrix.example.com": HERE, "example.com": HERE, "element.example.com": HERE}
    _, out = _dry_run(tmp_path, here, domain__element_host="element.example.com")
    assert _requested_names(out) == ["matrix.example.com", "example.com", "element.example.com"]
    elsewhere = here | {"element.example.com": ELSEWHERE}
    _, out = _dry_run(tmp_path / "2", elsewhere, domain__element_host="element.example.com")
    assert _requested_names(out) == ["matrix.example.com", "example.com"]
    assert "browsers refuse Element Web there until it points here" in out
