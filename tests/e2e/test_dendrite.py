"""A bundle from `matrix-wizard generate` runs a real Dendrite that a real client uses.

The tests run Dendrite v0.13.8, built with the machine's Go from the matrix-org module
(tests/e2e/dendrite_build.py): the newest release the Go module proxy serves. The bundle pins a
newer release for users (wizard/bundle/versions.py), published only as images; its config is
checked against that release only by the known-keys checks (tests/unit/test_known_keys.py), and
against v0.13.8 by running it here.

As tests/e2e/test_homeserver.py does for Synapse, each test writes answers (a native
deployment, free ports, TLS from certificate files), runs `generate --prefix` and the bundle's
own apply.sh under that staging prefix, then starts each program as its unit would:

1. the build's programs are put in the pinned release's folder under the prefix, where
   apply.sh's build step (build-dendrite.sh, run for real by
   tests/integration/test_dendrite_build.py) finds them and builds nothing, and linked into
   /usr/local/bin as that step links them; the unit's command line is then run unchanged, so
   Dendrite starts with the bundle's dendrite.yaml and signing key;
2. with PostgreSQL, a real server gets the bundle's init.sql and passes the README's check;
3. the proxy starts with the bundle's config and a self-signed certificate;
4. the first user is made with the README's create-account command, its name put in and its
   password typed at the prompts on a terminal, as a person would; nobody else can sign up
   through the proxy (registration is closed; by token it is refused for Dendrite, which
   v0.13.8 showed does not check tokens);
5. matrix-nio, through the proxy over TLS, logs in, creates a room, sends, syncs and reads back;
6. the well-known documents answer, the federation API says Dendrite, and Dendrite's admin
   endpoints and metrics, which answer on its own port, answer 404 through the proxy;
   `matrix-wizard doctor` passes all but TLS, unverified as the certificate is self-signed;
7. with monitoring and TURN chosen, Prometheus with the bundle's prometheus.yml scrapes
   Dendrite's metrics with their password (up = 1), and coturn grants an allocation to the
   credentials Dendrite hands the client and refuses a wrong secret's.

Dendrite has no setting that turns encryption on for new rooms (clients such as Element do it
themselves), so unlike Synapse's runs no encrypted room is asserted.
"""

import json
import shlex
import time
from pathlib import Path

import pytest

from tests.conftest import require_program
from tests.e2e.checks import check_doctor, check_routes, private_paths
from tests.e2e.client import converse
from tests.e2e.services import (
    check_turn,
    init_database,
    start_homeserver,
    start_prometheus,
    start_proxy,
)
from tests.e2e.support import (
    Staged,
    Timings,
    answers_for_run,
    programs_in,
    require_root,
    stage,
    wait_until,
)
from tests.e2e.terminal import answer_prompts
from tests.integration.postgres_server import PostgresServer
from tests.integration.proxy_runtime import send
from wizard.bundle import apply_script

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PASSWORD = "correct horse battery staple"
MESSAGE = "Hello from the end-to-end test, through Dendrite"
NAME_PLACEHOLDER = "YOURNAME"
# (proxy, database, with TURN and monitoring)
RUNS = [
    ("nginx", "postgresql", True),
    ("caddy", "sqlite", False),
    ("traefik", "postgresql", False),
]


def create_account_as_readme_says(staged: Staged, user: str) -> None:
    """Run the README's create-account command with a name, typing the password at its prompts."""
    command = apply_script.admin_command(staged.ctx)
    assert command is not None
    assert command in (staged.install_dir / "README.md").read_text(encoding="utf-8")
    argv = [user if word == NAME_PLACEHOLDER else word for word in shlex.split(command)]
    assert user in argv
    typed = answer_prompts(argv, [("Enter Password:", PASSWORD), ("Confirm Password:", PASSWORD)])
    assert typed.returncode == 0, typed.output
    assert f"Created account: {user}" in typed.output


def check_private_paths_live(staged: Staged) -> None:
    """Check each path the proxy must refuse answers on Dendrite's own port, so a 404 means it."""
    for path in private_paths(staged.ctx):
        reply = send(staged.ctx.ports.homeserver, staged.ctx.homeserver_host, path, tls=False)
        assert reply.status in (200, 401, 403), (path, reply)


def check_sign_up_refused(staged: Staged) -> None:
    """Check that nobody can sign up through the proxy: registration is closed (the default)."""
    ctx = staged.ctx
    attempt = {"username": "mallory", "password": PASSWORD, "auth": {"type": "m.login.dummy"}}
    body = json.dumps(attempt).encode()
    reply = send(ctx.ports.https, ctx.homeserver_host, "/_matrix/client/v3/register", body=body)
    assert reply.status == 403, reply
    assert json.loads(reply.body)["errcode"] == "M_FORBIDDEN"


@pytest.mark.parametrize(
    ("proxy", "database", "extras"),
    RUNS,
    ids=[
        "dendrite-nginx-postgresql-turn-monitoring",
        "dendrite-caddy-sqlite",
        "dendrite-traefik-postgresql",
    ],
)
def test_a_client_uses_the_dendrite_the_bundle_runs(
    proxy: str,
    database: str,
    extras: bool,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    dendrite_programs: Path,
    e2e_timings: list[Timings],
) -> None:
    require_root()
    require_program("openssl")
    timings = Timings(f"dendrite-{database}-{proxy}" + ("-turn-monitoring" if extras else ""))
    e2e_timings.append(timings)
    server: PostgresServer | None = None
    if database == "postgresql":
        with timings.step("PostgreSQL ready (shared by the session)"):
            server = request.getfixturevalue("postgres_server")
    with timings.step("generate, certificate, Dendrite's programs, apply.sh under the prefix"):
        port = server.port if server else None
        name = f"e2e_dendrite_{proxy}"
        answers = answers_for_run(proxy, database, extras, port, name, homeserver="dendrite")
        staged = stage(tmp_path, answers, dendrite_programs)
    ctx = staged.ctx
    user = "alice"
    with programs_in(tmp_path) as programs:
        if server is not None:
            with timings.step("1. database init and the README's check"):
                init_database(staged, server)
        with timings.step("2. Dendrite started and answering"):
            start_homeserver(staged, programs)
        if extras:
            with timings.step("7a. Prometheus started"):
                prometheus, dendrite_up = start_prometheus(staged, programs)
        with timings.step(f"3. {proxy} started and forwarding over TLS"):
            start_proxy(staged, programs, tmp_path)
        with timings.step("4. user created with the README's create-account command"):
            create_account_as_readme_says(staged, user)
        with timings.step("4b. nobody signs up through the proxy"):
            check_sign_up_refused(staged)
        with timings.step("5. matrix-nio: login, room, message, sync, read back"):
            seen = converse(
                ctx.public_baseurl.rstrip("/"), f"@{user}:{ctx.server_name}", PASSWORD, MESSAGE
            )
        assert MESSAGE in seen.bodies
        with timings.step("6a. well-known, federation, admin and metrics through the proxy"):
            check_private_paths_live(staged)
            check_routes(ctx)
        with timings.step("6b. matrix-wizard doctor"):
            check_doctor(
                staged.install_dir, ctx.homeserver_host, {ctx.ports.https, ctx.federation_port}
            )
        if extras:
            with timings.step("7b. Prometheus scraped Dendrite (up = 1)"):
                wait_until("Prometheus reports Dendrite up", dendrite_up, prometheus)
            with timings.step("7c. coturn: allocation with Dendrite's credentials, refused else"):
                check_turn(staged, programs, tmp_path, seen.turn)
        else:
            assert "username" not in seen.turn
        stop_started = time.monotonic()
    timings.steps["stop every program"] = round(time.monotonic() - stop_started, 3)
    timings.finish()
    print(json.dumps(timings.as_json(), indent=2))
