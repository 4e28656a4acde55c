"""ACME on a fresh box with the bare domain hosted elsewhere: certbot, its renewal, for real.

The box of the journey test (tests/journey/box.py) gets a native Synapse + nginx bundle with
TLS from ACME, applied over SSH. The certificate authority is Pebble (tests/journey/acme.py);
certbot in the box is pointed at it by root's own configuration file (~/.config/letsencrypt),
and the box trusts the CA of Pebble's TLS certificate, as a box would trust Let's Encrypt's.
In the box's /etc/hosts, the homeserver's and TURN's names point at the box and the bare
domain at another address (the bundle's README allows the apex to be hosted elsewhere). Then:

1. apply.sh asks for the homeserver's and TURN's names only, says why the bare domain is left
   out, serves the challenges with its temporary web server, and nginx then serves the
   certificate Pebble issued;
2. `certbot renew --force-renewal` renews through the running nginx (the webroot, no stop) and
   its deploy hook makes nginx serve the new certificate.
"""

import subprocess
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.compose.engine import PROJECT_PREFIX, Engine
from tests.compose.stack import own_address
from tests.conftest import require_program
from tests.e2e.support import SERVER_NAME, Timings
from tests.journey.acme import running_acme
from tests.journey.box import Box, running_box
from tests.journey.support import wizard
from tests.waiting import wait_until

pytestmark = [pytest.mark.journey, pytest.mark.slow]

HOMESERVER_HOST = f"matrix.{SERVER_NAME}"
TURN_HOST = f"turn.{SERVER_NAME}"
# The bare domain's address: elsewhere (TEST-NET-2).
ELSEWHERE = "198.51.100.7"
LIVE = f"/etc/letsencrypt/live/{HOMESERVER_HOST}"
LOCAL_CAS = "/usr/local/share/ca-certificates"
USER_CONFIG = "/root/.config/letsencrypt"


def served_certificate(box: Box) -> str:
    """Return the serial and issuer of the certificate nginx serves on the box's HTTPS port."""
    shown = subprocess.run(
        [
            "openssl",
            "s_client",
            "-connect",
            f"127.0.0.1:{box.ports['https']}",
            "-servername",
            HOMESERVER_HOST,
        ],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    described = subprocess.run(
        ["openssl", "x509", "-noout", "-serial", "-issuer"],
        input=shown.stdout,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return described.stdout


def point_names(box: Box) -> None:
    """Point the homeserver's and TURN's names at the box, and the bare domain elsewhere."""
    here = box.run("python3 -c 'import socket; print(socket.gethostbyname(socket.gethostname()))'")
    box.run(f"echo '{here.strip()} {HOMESERVER_HOST} {TURN_HOST}' >> /etc/hosts")
    box.run(f"echo '{ELSEWHERE} {SERVER_NAME}' >> /etc/hosts")


def test_certbot_gets_and_renews_a_certificate_without_the_bare_domain(
    engine: Engine, tmp_path: Path, e2e_timings: list[Timings]
) -> None:
    require_program("openssl")
    timings = Timings("journey-native-synapse-sqlite-nginx-acme")
    e2e_timings.append(timings)
    home = tmp_path / "home"
    home.mkdir()
    with ExitStack() as cleanup:
        box = cleanup.enter_context(running_box(tmp_path, f"{PROJECT_PREFIX}-acme-{tmp_path.name}"))
        acme = cleanup.enter_context(running_acme(tmp_path, own_address(), box.ports["http"]))
        # The ca-certificates package, which apply.sh installs, adds the CA to the trusted ones.
        box.run(f"mkdir -p {LOCAL_CAS}")
        box.copy_in(acme.ca, f"{LOCAL_CAS}/acme.crt")
        # certbot reads its defaults from root's cli.ini too: here, the authority to ask. (The
        # one in /etc/letsencrypt belongs to the certbot package.)
        config = f"server = {acme.directory}"
        box.run(f"mkdir -p {USER_CONFIG} && echo '{config}' > {USER_CONFIG}/cli.ini")
        point_names(box)
        answers = tmp_path / "answers.yaml"
        answers.write_text(
            wizard(
                *("answers", "--homeserver", "synapse", "--server-name", SERVER_NAME),
                *("--database", "sqlite", "--proxy", "nginx", "--set", "deployment.kind=native"),
                *("--set", "proxy.tls=acme", "--set", f"proxy.acme_email=admin@{SERVER_NAME}"),
                *("--set", "calls.turn=true"),
                home=home,
            ),
            encoding="utf-8",
        )
        bundle = tmp_path / "bundle"
        wizard("generate", "--answers", str(answers), "--out", str(bundle), home=home)
        with timings.step("1. apply over SSH: certbot through the temporary web server"):
            applied = wizard("apply", str(bundle), *box.ssh_args(), home=home, with_errors=True)
        assert f"{SERVER_NAME} does not point here (it resolves to: {ELSEWHERE} )" in applied
        names = box.run(f"openssl x509 -in {LIVE}/fullchain.pem -noout -ext subjectAltName")
        assert f"DNS:{HOMESERVER_HOST}" in names and f"DNS:{TURN_HOST}" in names
        assert f"DNS:{SERVER_NAME}," not in names + ","
        first = served_certificate(box)
        assert "Pebble" in first, first
        with timings.step("2. certbot renew: webroot through nginx, deploy hook reloads it"):
            renewed = box.run("certbot renew --force-renewal --no-random-sleep-on-renew 2>&1")
            wait_until(
                lambda: served_certificate(box) not in ("", first),
                "nginx to serve the renewed certificate",
            )
        assert "Congratulations, all renewals succeeded" in renewed or "success" in renewed, renewed
        assert box.run("systemctl is-active nginx").strip() == "active"
        assert "authenticator = webroot" in box.run(
            f"cat /etc/letsencrypt/renewal/{HOMESERVER_HOST}.conf"
        )
    timings.finish()
