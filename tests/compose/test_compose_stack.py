"""A compose bundle from `matrix-wizard generate` runs under a real container engine.

Each test writes answers with `deployment.kind: compose` (every published port a free one, TLS
from certificate files), runs `generate --prefix`, and runs the bundle's own apply.sh: its
compose steps (`up`, the database check, the wait for a healthy homeserver) go to podman's
Docker API with Debian's docker-compose (tests/compose/engine.py). The images the bundle names
are stand-ins built here under the same names and tags (tests/compose/images/*/Dockerfile says
what of each official image's contract it keeps; not kept, so not proven: the official images'
own builds, the alpine base, and the newer releases of nginx, Caddy, PostgreSQL, coturn and
Prometheus that the bundle pins, where Debian bookworm's are used). Then, through the ports the
stack publishes on this machine:

1. matrix-nio, over TLS through the proxy, logs in as a user made with the README's
   register_new_matrix_user command, creates a room, sends, syncs and reads back;
2. /.well-known/matrix/server and /client hold the bundle's JSON with a JSON content type and
   CORS, the federation API answers, /_synapse/admin and the metrics path do not, and
   `matrix-wizard doctor --insecure` passes every check but TLS (self-signed: unverified);
   Element Web's host serves the bundle's config.json and the page of the `element-web`
   container, a stand-in for Element's image that serves a page of its own, with Element
   Web's headers (not proven: Element Web itself);
3. with monitoring, the bundle's Prometheus reports Synapse up; with TURN, the bundle's coturn
   (on the host's network, as the bundle runs it) grants an allocation to the credentials
   Synapse hands out and refuses a wrong secret. The relay goes to this machine's own address,
   given as `calls.external_ip`: the bundle refuses private peers but allows that one.
4. with Caddy and with nginx, a second apply after a changed answer reaches the running service,
   which apply.sh restarts, and which nginx, reloaded, finds at its new address.

Every file is used as generated. A failure prints the stack's logs; each stack is taken down
at the end of its test. The time of each step is printed and written with the native runs' in
e2e-timings.json.
"""

import asyncio
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.compose.engine import Engine, podman
from tests.compose.stack import ComposeRun, own_address, ports_for_run, prepare
from tests.conftest import require_program
from tests.e2e.checks import check_doctor, check_routes
from tests.e2e.client import converse
from tests.e2e.support import CERTIFICATE, PRIVATE_KEY, SERVER_NAME, Timings, http_json
from tests.integration.proxy_runtime import send
from tests.integration.s3_server import ACCESS_KEY_ID, BUCKET, SECRET, object_keys, running_s3
from tests.waiting import wait_until
from tests.workers import load, metrics
from wizard.bundle import calls, compose, element_web, layout, synapse_workers, versions
from wizard.bundle.context import POSTGRES_SERVICE, RenderContext
from wizard.bundle.worker_layout import Role

pytestmark = [pytest.mark.compose, pytest.mark.slow]

PASSWORD = "correct horse battery staple"
MESSAGE = "Hello from the compose test"
USER = "alice"
# (proxy, database, with TURN and monitoring)
RUNS = [
    ("nginx", "postgresql", True),
    ("caddy", "sqlite", False),
    ("traefik", "postgresql", False),
]


def answers_for_run(proxy: str, database: str, extras: bool) -> dict[str, Any]:
    """Return the answers of one compose run."""
    answers: dict[str, Any] = {
        "homeserver": {"kind": "synapse", "tier": "minimum"},
        "domain": {"server_name": SERVER_NAME, "element_host": f"element.{SERVER_NAME}"},
        "database": {"kind": database},
        "proxy": {"kind": proxy, "tls": "files", "cert_path": CERTIFICATE, "key_path": PRIVATE_KEY},
        "calls": {"turn": extras},
        "monitoring": {"prometheus": extras},
        "deployment": {"kind": "compose", "ports": ports_for_run()},
    }
    if extras:
        answers["calls"]["external_ip"] = own_address()
    return answers


@pytest.fixture
def stack(engine: Engine, tmp_path: Path) -> Iterator[list[ComposeRun]]:
    """Hold the test's stack and take it down at the end, printing its logs (shown on failure)."""
    runs: list[ComposeRun] = []
    yield runs
    for run in runs:
        print(run.logs())
        run.down()


def login(run: ComposeRun) -> str:
    """Log in through the proxy with a password and return the access token."""
    body = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": USER}}
    body["password"] = PASSWORD
    reply = send(
        run.ctx.ports.https,
        run.ctx.homeserver_host,
        "/_matrix/client/v3/login",
        body=json.dumps(body).encode(),
    )
    assert reply.status == 200, reply
    token: str = json.loads(reply.body)["access_token"]
    return token


def upload_limit(run: ComposeRun, token: str) -> int:
    """Return the upload limit in bytes that Synapse announces through the proxy."""
    reply = send(
        run.ctx.ports.https,
        run.ctx.homeserver_host,
        "/_matrix/client/v1/media/config",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert reply.status == 200, reply
    return int(json.loads(reply.body)["m.upload.size"])


def check_prometheus(run: ComposeRun) -> None:
    """Wait until the bundle's Prometheus reports Synapse up."""
    url = f"http://127.0.0.1:{run.ctx.ports.prometheus}/api/v1/query?query=up"

    def synapse_up() -> bool:
        try:
            results = http_json(url)["data"]["result"]
        except OSError:
            return False
        return any(
            result["metric"].get("job") == "synapse" and result["value"][1] == "1"
            for result in results
        )

    wait_until(synapse_up, "Prometheus to report Synapse up")


def allocate(run: ComposeRun, address: str, user: str, password: str) -> tuple[int, str]:
    """Relay one message between two allocations on the bundle's coturn; return code and output."""
    argv = [require_program("turnutils_uclient"), "-u", user, "-w", password]
    argv += ["-p", str(run.ctx.ports.turn), "-y", "-n", "1", "-m", "1", address]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    return done.returncode, done.stdout + done.stderr


def check_turn(run: ComposeRun, turn: dict[str, Any]) -> None:
    """Allocate with the credentials Synapse handed out, and fail to with a wrong secret."""
    address = run.ctx.answers.calls.external_ip
    assert address
    username, password = turn["username"], turn["password"]
    expires, _, user_id = username.partition(":")
    secret = run.ctx.secrets.turn_shared_secret
    assert calls.turn_credentials(secret, user_id, int(expires)) == (username, password)
    code, output = allocate(run, address, username, password)
    assert code == 0, output + run.logs()
    wrong = calls.turn_credentials("not-the-shared-secret", user_id, int(expires))
    code, output = allocate(run, address, *wrong)
    assert code != 0, output
    assert "Cannot complete Allocation" in output


@pytest.mark.parametrize(
    ("proxy", "database", "extras"),
    RUNS,
    ids=["nginx-postgresql-turn-monitoring", "caddy-sqlite-second-apply", "traefik-postgresql"],
)
def test_a_client_uses_the_compose_stack_the_bundle_runs(
    proxy: str,
    database: str,
    extras: bool,
    engine: Engine,
    tmp_path: Path,
    stack: list[ComposeRun],
    e2e_timings: list[Timings],
) -> None:
    require_program("openssl")
    timings = Timings(
        f"compose-synapse-{database}-{proxy}" + ("-turn-monitoring" if extras else "")
    )
    e2e_timings.append(timings)
    answers = answers_for_run(proxy, database, extras)
    with timings.step("generate, certificate, stand-in images (built once per machine)"):
        run = prepare(tmp_path, engine, answers)
    stack.append(run)
    with timings.step("apply.sh: compose up, database check, homeserver healthy"):
        output = run.apply()
    restarts = [
        line for line in output.splitlines() if line.startswith("+ ") and " restart" in line
    ]
    assert restarts == []  # every service started with its files
    with timings.step("1a. user created with the README's command"):
        run.register(USER, PASSWORD)
    ctx = run.ctx
    with timings.step("1b. matrix-nio: login, room, message, sync, read back"):
        seen = converse(
            ctx.public_baseurl.rstrip("/"), f"@{USER}:{ctx.server_name}", PASSWORD, MESSAGE
        )
    assert MESSAGE in seen.bodies
    assert seen.encrypted
    with timings.step("2. well-known, federation, admin and metrics through the proxy"):
        check_routes(ctx)
    with timings.step("2a. Element Web's container: config.json and the page, with headers"):
        check_element_web(ctx)
    with timings.step("2b. matrix-wizard doctor"):
        element = frozenset({f"{element_web.host(ctx)}:{ctx.ports.https}"})
        ports = {ctx.ports.https, ctx.federation_port}
        check_doctor(run.install_dir, ctx.homeserver_host, ports, other_tls=element)
    if extras:
        with timings.step("3a. Prometheus scraped Synapse (up = 1)"):
            check_prometheus(run)
        with timings.step("3b. coturn: allocation with Synapse's credentials, refused else"):
            check_turn(run, seen.turn)
    else:
        assert seen.turn == {} or "username" not in seen.turn
    if proxy in ("caddy", "nginx"):
        # nginx keeps the addresses it looked up: the restarted Synapse must still be reached.
        with timings.step("4. changed answer, generate and apply again, seen by Synapse"):
            check_second_apply(run, answers)
    stop_started = time.monotonic()
    run.down()
    timings.steps["compose down"] = round(time.monotonic() - stop_started, 3)
    timings.finish()


def check_element_web(ctx: RenderContext) -> None:
    """Element Web's container serves the bundle's config.json and its page through the proxy.

    The image is a stand-in serving a page of its own (tests/compose/images/element-web): what is
    proven is the bundle's side, the service, its mounted config.json, port, healthcheck and the
    proxy's route and headers, not Element Web.
    """
    host = element_web.host(ctx)
    config = send(ctx.ports.https, host, "/config.json")
    assert config.status == 200, config
    assert json.loads(config.body) == element_web.config_document(ctx)
    assert config.headers["cache-control"] == element_web.NO_CACHE
    for name, value in element_web.SECURITY_HEADERS.items():
        assert config.headers[name.lower()] == value, name
    page = send(ctx.ports.https, host, "/")
    assert page.status == 200, page
    assert b"Element Web stand-in" in page.body


def check_second_apply(run: ComposeRun, answers: dict[str, Any]) -> None:
    """Change the upload limit, generate and apply again: Synapse announces the new limit."""
    token = login(run)
    before = upload_limit(run, token)
    answers["media"] = {"max_upload_mb": 7}
    run.regenerate(answers)
    output = run.apply()
    assert "    synapse: synapse/homeserver.yaml changed" in output
    assert before != 7 * 1024 * 1024
    wait_until(lambda: upload_limit(run, token) == 7 * 1024 * 1024, "Synapse to read the new limit")


def upload_and_read_back(run: ComposeRun, token: str, body: bytes) -> tuple[str, bytes]:
    """Upload a file through the proxy, drop Synapse's local copy, download it; return id, body."""
    ctx = run.ctx
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "text/plain"}
    path = "/_matrix/media/v3/upload?filename=note.txt"
    uploaded = send(ctx.ports.https, ctx.homeserver_host, path, body=body, headers=auth)
    assert uploaded.status == 200, uploaded
    server, media_id = json.loads(uploaded.body)["content_uri"].removeprefix("mxc://").split("/")
    # The local copy goes: the file can only come back from the bucket now.
    shutil.rmtree(Path(ctx.media_host_dir) / "local_content")
    path = f"/_matrix/client/v1/media/download/{server}/{media_id}"
    downloaded = send(ctx.ports.https, ctx.homeserver_host, path, headers=auth)
    assert downloaded.status == 200, downloaded
    return media_id, downloaded.body


def test_media_kept_in_s3_reads_back_through_the_compose_stack(
    engine: Engine, tmp_path: Path, stack: list[ComposeRun], e2e_timings: list[Timings]
) -> None:
    """Synapse's image with the S3 provider, built by the bundle, keeps media in a real S3 server.

    The S3 server is moto's (tests/integration/s3_server.py says why), on this machine's own
    address so that the Synapse container reaches it; the image is built by apply.sh's `up` from
    the bundle's Dockerfile, with pip finding the provider in the stand-in's wheels.
    """
    timings = Timings("compose-synapse-sqlite-nginx-s3")
    e2e_timings.append(timings)
    with running_s3(tmp_path, own_address()) as endpoint:
        answers = answers_for_run("nginx", "sqlite", extras=False)
        s3 = {"bucket": BUCKET, "endpoint": endpoint, "access_key_id": ACCESS_KEY_ID}
        answers["media"] = {"backend": "s3", "s3": s3}
        (tmp_path / "bundle").mkdir()
        (tmp_path / "bundle" / "secrets.yaml").write_text(f"s3_secret_access_key: {SECRET}\n")
        with timings.step("generate, certificate, stand-in images (built once per machine)"):
            run = prepare(tmp_path, engine, answers)
        stack.append(run)
        with timings.step("apply.sh: the S3 image built, compose up, homeserver healthy"):
            run.apply()
        run.register(USER, PASSWORD)
        body = b"a file kept in S3 by the compose bundle\n"
        with timings.step("upload through the proxy, read back from the bucket"):
            media_id, downloaded = upload_and_read_back(run, login(run), body)
        keys = object_keys(endpoint)
        run.down()
    timings.finish()
    assert f"local_content/{media_id[:2]}/{media_id[2:4]}/{media_id[4:]}" in keys
    assert downloaded == body


def healthy(run: ComposeRun, service: str) -> bool:
    """Return whether the engine reports the service's container healthy."""
    return run.health(service) == "healthy"


def worker_metrics(run: ComposeRun) -> dict[str, str]:
    """Return every Synapse process's metrics text, read inside its own container."""
    ctx = run.ctx
    ports = {
        (metrics.MAIN, ctx.homeserver.value): ctx.ports.metrics,
        **{
            (worker.name, synapse_workers.service_name(worker)): synapse_workers.metrics_port(
                ctx, worker
            )
            for worker in synapse_workers.workers(ctx)
        },
    }
    return {
        name: run.compose(
            *("exec", "-T", service, "curl", "-fsS"),
            f"http://localhost:{port}/_synapse/metrics",
        )
        for (name, service), port in ports.items()
    }


def test_synapse_workers_serve_their_requests_through_the_proxy(
    engine: Engine, tmp_path: Path, stack: list[ComposeRun], e2e_timings: list[Timings]
) -> None:
    """The production tier's workers: each healthy, and each serves the requests of its role.

    matrix-nio talks through nginx, shares a file and asks the federation API; each Synapse
    container's own metrics show the sync worker served the syncs, the client reader the reads,
    the media worker the file, the federation reader the federation API, and the event
    persister wrote the events, the main process none of it. The sync worker's process killed
    with SIGKILL (as the kernel's OOM killer does) is started again by the bundle's restart
    policy, and the users carry on.
    """
    timings = Timings("compose-synapse-postgresql-nginx-workers")
    e2e_timings.append(timings)
    answers = answers_for_run("nginx", "postgresql", extras=False)
    answers["homeserver"] = {"kind": "synapse", "tier": "production"}
    answers["monitoring"] = {"prometheus": True}
    with timings.step("generate, certificate, stand-in images (built once per machine)"):
        run = prepare(tmp_path, engine, answers)
    stack.append(run)
    with timings.step("apply.sh: compose up, database check, homeserver healthy"):
        run.apply()
    ctx = run.ctx
    workers = [synapse_workers.service_name(worker) for worker in synapse_workers.workers(ctx)]
    assert len(workers) == len(Role)
    with timings.step("workers healthy and connected to Redis"):
        for worker in workers:
            wait_until(partial(healthy, run, worker), f"{worker} to report healthy")
            logs = run.compose("logs", "--no-color", worker)
            assert "Connected to redis" in logs, logs
    for user in (USER, "bob"):
        run.register(user, PASSWORD)
    base_url = ctx.public_baseurl.rstrip("/")

    async def use() -> tuple[bytes, dict[str, dict[str, str]]]:
        clients = [
            await load.login(base_url, f"@{user}:{ctx.server_name}", PASSWORD)
            for user in (USER, "bob")
        ]
        return await load.exercise(base_url, clients, rounds=2)

    with timings.step("two users talk and share a file through nginx"):
        downloaded, version = asyncio.run(use())
    assert downloaded == load.FILE_BODY
    assert version["server"]["name"] == "Synapse"
    metrics.check_roles(synapse_workers.workers(ctx), worker_metrics(run), "compose")

    sync = synapse_workers.service_name(
        next(worker for worker in synapse_workers.workers(ctx) if worker.role is Role.SYNC)
    )
    before = run.main_pid(sync)
    with timings.step("the sync worker killed with SIGKILL, restarted, users carry on"):
        os.kill(before, signal.SIGKILL)
        wait_until(
            lambda: run.main_pid(sync) not in (0, before) and healthy(run, sync),
            f"{sync} to be restarted by its restart policy and healthy",
        )
        downloaded, _ = asyncio.run(use())
    assert downloaded == load.FILE_BODY
    run.down()
    timings.finish()


def older_bundles_cluster(run: ComposeRun) -> None:
    """Make the cluster as an older bundle's stack did: the homeserver's role its superuser."""
    ctx = run.ctx
    database = ctx.answers.database
    data = layout.service_dir(ctx, POSTGRES_SERVICE)
    Path(data).mkdir(parents=True)
    name = f"{run.env['COMPOSE_PROJECT_NAME']}-older-postgres"
    podman(
        *("run", "--detach", "--name", name, "--volume", f"{data}:/var/lib/postgresql/data"),
        *("--env", f"POSTGRES_USER={database.user}", "--env", f"POSTGRES_DB={database.name}"),
        *("--env", f"POSTGRES_PASSWORD={ctx.secrets.database_password}"),
        *("--env", f"POSTGRES_INITDB_ARGS={compose.POSTGRES_INITDB_ARGS}"),
        *(versions.POSTGRES_IMAGE, "postgres"),
    )
    try:
        ready = ("exec", name, "pg_isready", "-h", "127.0.0.1", "-U", database.user)
        wait_until(
            lambda: "accepting connections" in podman(*ready, check=False),
            "the older cluster to accept connections",
        )
    finally:
        podman("rm", "--force", "--time", "30", name)


def test_a_cluster_an_older_bundle_made_gets_a_plain_homeserver_role(
    engine: Engine, tmp_path: Path, stack: list[ComposeRun], e2e_timings: list[Timings]
) -> None:
    """An older bundle's cluster (homeserver role its superuser) is handed over by apply.sh."""
    timings = Timings("compose-synapse-postgresql-caddy-older-cluster")
    e2e_timings.append(timings)
    answers = answers_for_run("caddy", "postgresql", extras=False)
    run = prepare(tmp_path, engine, answers)
    stack.append(run)
    with timings.step("a cluster made as an older bundle made it"):
        older_bundles_cluster(run)
    with timings.step("apply.sh: roles handed over, compose up, homeserver healthy"):
        output = run.apply()
    user = run.ctx.answers.database.user
    assert f"{user}, the first superuser, becomes postgres" in output
    query = "SELECT rolname || ':' || rolsuper FROM pg_roles WHERE rolname IN ('postgres', "
    query += f"'{user}') ORDER BY rolname"
    roles = run.compose("exec", "-T", "postgres", "psql", "-U", "postgres", "-tAc", query)
    assert roles.split() == ["postgres:true", f"{user}:false"]
    run.register(USER, PASSWORD)
    ctx = run.ctx
    seen = converse(ctx.public_baseurl.rstrip("/"), f"@{USER}:{ctx.server_name}", PASSWORD, MESSAGE)
    assert MESSAGE in seen.bodies
    assert "nothing to change" in run.apply()
    run.down()
    timings.finish()
