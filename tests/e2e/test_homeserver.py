"""A bundle from `matrix-wizard generate` runs a real Synapse that a real client uses.

For Synapse with PostgreSQL behind nginx, Caddy and Traefik, and Synapse with SQLite behind
nginx, each test writes answers (a native deployment, every port a free port, TLS from
certificate files), runs `generate --prefix`, and runs the bundle's own apply.sh under that
staging prefix: it places the bundle, creates the folders, installs the systemd units and links
the nginx site there, and prints (without doing) what would touch the host itself. Then, as
systemd would, it starts each program with the command, environment and folder of the unit
apply.sh installed:

1. PostgreSQL (a real server on loopback) gets the bundle's init.sql, piped to psql as
   apply.sh does, and the README's database check answers what the README says it must;
2. Synapse starts with the bundle's homeserver.yaml and log.config (the venv apply.sh would
   build is a link to the test's own virtualenv, which holds matrix-synapse);
3. the proxy starts with the bundle's config and a self-signed certificate made with openssl;
   nginx's main nginx.conf is a stand-in for Debian's (it includes conf.d/*.conf as Debian's
   does), and Traefik's well-known server is the bundle's own matrix-wellknown unit;
4. matrix-nio, through the proxy over TLS, logs in as a user made with the README's
   register_new_matrix_user command, creates a room, sends a message, syncs and reads it back;
5. through the proxy: /.well-known/matrix/server and /client hold the bundle's JSON with a JSON
   content type and CORS, the federation API answers on its port, and /_synapse/admin and the
   metrics path do not; `matrix-wizard doctor --insecure` passes every check but TLS, which it
   reports as unverified (the certificate is self-signed);
6. with monitoring chosen, Prometheus with the bundle's prometheus.yml scrapes Synapse (up = 1);
7. with TURN chosen, coturn with the bundle's turnserver.conf grants an allocation to the
   credentials Synapse hands the client, and refuses ones made with a wrong secret. For the
   test only, `allow-loopback-peers` and `allowed-peer-ip=127.0.0.1` are appended to a copy of
   turnserver.conf: the bundle refuses loopback and private peers, and the test client's peer
   is on loopback.

Apart from that and nginx's main file, every file is used as generated. Each program is started
and stopped by the test (Popen handles kept and waited for), and a failure prints their logs.
The time of each step and of each run is printed and written to e2e-timings.json in pytest's
base temporary folder.

Dendrite runs the same way in tests/e2e/test_dendrite.py. Conduit cannot run here: no binary
is installed. For it the bundle is checked instead of run: its config against the keys and
start-up rules of each release (tests/unit/test_known_keys.py, `matrix-wizard check`), its
compose file with docker-compose, its proxy configs with the real nginx (tests/integration/
test_proxy_configs.py), its systemd unit with systemd-analyze (tests/integration/
test_systemd_units.py), and the native apply.sh's steps for it (tests/integration/
test_native_apply.py). Not checked for it: that it starts with its config and answers, that a
client can register, log in and message, the TURN credentials it hands out, and its database.
"""

import json
import time
from pathlib import Path

import pytest

from tests.conftest import require_program
from tests.e2e.checks import check_doctor, check_routes
from tests.e2e.client import converse
from tests.e2e.services import (
    check_turn,
    init_database,
    register_as_readme_says,
    start_homeserver,
    start_prometheus,
    start_proxy,
)
from tests.e2e.support import (
    Timings,
    answers_for_run,
    programs_in,
    require_root,
    stage,
    wait_until,
)
from tests.integration.postgres_server import PostgresServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PASSWORD = "correct horse battery staple"
MESSAGE = "Hello from the end-to-end test"
# (proxy, database, with TURN and monitoring)
RUNS = [
    ("nginx", "postgresql", True),
    ("caddy", "postgresql", False),
    ("traefik", "postgresql", False),
    ("nginx", "sqlite", False),
]


@pytest.mark.parametrize(
    ("proxy", "database", "extras"),
    RUNS,
    ids=[
        "nginx-postgresql-turn-monitoring",
        "caddy-postgresql",
        "traefik-postgresql",
        "nginx-sqlite",
    ],
)
def test_a_client_uses_the_homeserver_the_bundle_runs(
    proxy: str,
    database: str,
    extras: bool,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    e2e_timings: list[Timings],
) -> None:
    require_root()
    require_program("openssl")
    timings = Timings(f"synapse-{database}-{proxy}" + ("-turn-monitoring" if extras else ""))
    e2e_timings.append(timings)
    server: PostgresServer | None = None
    if database == "postgresql":
        with timings.step("PostgreSQL ready (shared by the session)"):
            server = request.getfixturevalue("postgres_server")
    with timings.step("generate, certificate, apply.sh under the prefix"):
        port = server.port if server else None
        answers = answers_for_run(proxy, database, extras, port, f"e2e_{proxy}")
        staged = stage(tmp_path, answers)
    ctx = staged.ctx
    user = "alice"
    with programs_in(tmp_path) as programs:
        if server is not None:
            with timings.step("1. database init and the README's check"):
                init_database(staged, server)
        with timings.step("2. Synapse started and answering"):
            start_homeserver(staged, programs)
        if extras:
            with timings.step("6a. Prometheus started"):
                prometheus, synapse_up = start_prometheus(staged, programs)
        with timings.step(f"3. {proxy} started and forwarding over TLS"):
            start_proxy(staged, programs, tmp_path)
        with timings.step("4a. user created with the README's command"):
            register_as_readme_says(staged, user, PASSWORD)
        with timings.step("4b. matrix-nio: login, room, message, sync, read back"):
            seen = converse(
                ctx.public_baseurl.rstrip("/"), f"@{user}:{ctx.server_name}", PASSWORD, MESSAGE
            )
        assert MESSAGE in seen.bodies
        assert seen.encrypted  # new rooms are end-to-end encrypted by default
        with timings.step("5a. well-known, federation, admin and metrics through the proxy"):
            check_routes(staged.ctx)
        with timings.step("5b. matrix-wizard doctor"):
            tls_ports = {ctx.ports.https, ctx.federation_port}
            check_doctor(staged.install_dir, ctx.homeserver_host, tls_ports)
        if extras:
            with timings.step("6b. Prometheus scraped Synapse (up = 1)"):
                wait_until("Prometheus reports Synapse up", synapse_up, prometheus)
            with timings.step("7. coturn: allocation with Synapse's credentials, refused else"):
                check_turn(staged, programs, tmp_path, seen.turn)
        else:
            assert seen.turn == {} or "username" not in seen.turn
        stop_started = time.monotonic()
    timings.steps["stop every program"] = round(time.monotonic() - stop_started, 3)
    timings.finish()
    print(json.dumps(timings.as_json(), indent=2))
