"""The rendered Synapse config against the real Synapse: its config checker, then a real start."""

import base64
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.bundle_support import FIXED_SECRETS, answers_for, facts_with
from tests.integration.postgres_server import (
    PostgresServer,
    free_port,
    postgres_server_fixture,  # noqa: F401  (registers the fixture)
)
from wizard.bundle import calls, matrix_rtc, postgres, synapse
from wizard.bundle.context import RenderContext

pytestmark = pytest.mark.integration

START_TIMEOUT = 90.0

# Loads a config the way Synapse does and prints what it understood, as JSON.
INSPECT = """
import json, sys, attr
from synapse.config.homeserver import HomeServerConfig
config = HomeServerConfig.load_config("", ["-c", sys.argv[1]])
limits = {
    name: {k: v for k, v in attr.asdict(value).items() if k != "key"}
    for name, value in sorted(vars(config.ratelimiting).items())
    if name.startswith("rc_") and attr.has(type(value))
}
print(json.dumps({
    "server_name": config.server.server_name,
    "public_baseurl": config.server.public_baseurl,
    "presence": config.server.presence_enabled,
    "listeners": [
        {"port": listener.port, "type": listener.type,
         "bind": list(listener.bind_addresses),
         "names": sorted(name for resource in (listener.http_options.resources
                         if listener.http_options else []) for name in resource.names)}
        for listener in config.server.listeners
    ],
    "enable_registration": config.registration.enable_registration,
    "requires_token": config.registration.registration_requires_token,
    "max_upload_size": config.media.max_upload_size,
    "turn_uris": config.voip.turn_uris,
    "turn_user_lifetime": config.voip.turn_user_lifetime,
    "enable_metrics": config.metrics.enable_metrics,
    "global_factor": config.caches.global_factor,
    "database": config.database.databases[0].config["name"],
    "signing_key_ids": [key.version for key in config.key.signing_key],
    "rate_limits": limits,
}, default=str))
"""


def _synapse_python() -> str:
    """Return the Python that has Synapse, skipping (failing under CI) when it is missing."""
    if importlib.util.find_spec("synapse") is None:
        message = "matrix-synapse is not installed in the test environment (.[test] installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return sys.executable


def _native_context(root: Path, secrets: Any = FIXED_SECRETS, **sets: Any) -> RenderContext:
    """Return a native deployment whose every path lies under root, through the staging prefix."""
    answers = answers_for(deployment__kind="native", deployment__prefix=str(root), **sets)
    return RenderContext(answers=answers, facts=facts_with(), secrets=secrets)


def _write(ctx: RenderContext) -> Path:
    """Write Synapse's files where the config says they are; return homeserver.yaml's path."""
    for relative, file in synapse.render(ctx).items():
        target = Path(ctx.install_dir) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(file.text, encoding="utf-8")
    Path(ctx.hs_data_dir).mkdir(parents=True, exist_ok=True)
    return Path(ctx.install_dir) / synapse.HOMESERVER_YAML


def _check(config_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_synapse_python(), "-m", "synapse.config", "-c", str(config_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _inspect(config_path: Path) -> dict[str, Any]:
    result = subprocess.run(
        [_synapse_python(), "-c", INSPECT, str(config_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout.splitlines()[-1])
    assert isinstance(data, dict)
    return data


@pytest.fixture
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return an empty folder whose path the answers' path validator accepts."""
    return tmp_path_factory.mktemp("synapse")


CHOICES: dict[str, dict[str, Any]] = {
    "sqlite-closed": {"database": "sqlite"},
    "postgres-turn-metrics-token": {
        "database": "postgresql",
        "calls__turn": True,
        "monitoring__prometheus": True,
        "registration__mode": "token",
    },
    "postgres-external-open-relaxed": {
        "database": "postgresql",
        "database__host": "db.example.net",
        "registration__mode": "open",
        "rate_limits__preset": "relaxed",
    },
    "sqlite-matrix-rtc-strict": {
        "database": "sqlite",
        "calls__matrix_rtc": True,
        "calls__external_ip": "203.0.113.10",
        "rate_limits__preset": "strict",
    },
    "postgres-mas-closed": {"database": "postgresql", "auth__mas": True},
    "postgres-mas-token": {
        "database": "postgresql",
        "auth__mas": True,
        "registration__mode": "token",
    },
    "postgres-mas-open": {
        "database": "postgresql",
        "auth__mas": True,
        "registration__mode": "open",
    },
    "sqlite-strict-invite-production": {
        "database": "sqlite",
        "rate_limits__preset": "strict",
        "encryption__by_default": "invite",
        "homeserver__tier": "production",
        "database__accept_sqlite_in_production": True,
    },
}


@pytest.mark.parametrize("name", list(CHOICES))
def test_rendered_config_parses_with_synapse(root: Path, name: str) -> None:
    ctx = _native_context(root, **CHOICES[name])
    config_path = _write(ctx)

    result = _check(config_path)

    assert result.returncode == 0, result.stderr
    assert "Config parses OK!" in result.stdout
    assert Path(ctx.hs_media_dir).is_dir(), "Synapse creates the media store it was given"


def test_synapse_reads_the_values_that_were_meant(root: Path) -> None:
    ctx = _native_context(root, **CHOICES["postgres-turn-metrics-token"])
    seen = _inspect(_write(ctx))

    assert seen["server_name"] == ctx.server_name
    assert seen["public_baseurl"] == ctx.public_baseurl
    assert seen["enable_registration"] is True
    assert seen["requires_token"] is True
    assert seen["max_upload_size"] == ctx.upload_limit_bytes
    assert seen["turn_uris"] == calls.turn_uris(ctx)
    assert seen["turn_user_lifetime"] == 3600 * 1000
    assert seen["enable_metrics"] is True
    assert seen["database"] == "psycopg2"
    assert seen["signing_key_ids"] == [FIXED_SECRETS.signing_key_id]
    public, metrics = seen["listeners"]
    assert public == {
        "port": ctx.ports.homeserver,
        "type": "http",
        "bind": ["127.0.0.1"],
        "names": ["client", "federation"],
    }
    assert metrics["type"] == "metrics"
    assert metrics["port"] == ctx.ports.metrics
    assert metrics["bind"] == ["127.0.0.1"]


def test_normal_rate_limits_are_exactly_synapses_defaults(root: Path) -> None:
    ctx = _native_context(root)
    config_path = _write(ctx)
    ours = _inspect(config_path)["rate_limits"]
    data = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    bare = config_path.with_name("without-rate-limits.yaml")
    bare.write_text(
        yaml.safe_dump({key: value for key, value in data.items() if not key.startswith("rc_")}),
        encoding="utf-8",
    )
    defaults = _inspect(bare)["rate_limits"]

    assert ours == defaults
    strict = _inspect(_write(_native_context(root, rate_limits__preset="strict")))["rate_limits"]
    assert strict["rc_message"]["per_second"] < defaults["rc_message"]["per_second"]


def test_compose_config_parses_with_container_paths_redirected(root: Path) -> None:
    answers = answers_for(database="postgresql", monitoring__prometheus=True)
    ctx = RenderContext(answers=answers, facts=facts_with(), secrets=FIXED_SECRETS)
    files = synapse.render(ctx)
    text = files[synapse.HOMESERVER_YAML].text
    for container_dir in ("/config", "/data", "/media"):
        assert f": {container_dir}" in text
        text = text.replace(f": {container_dir}", f": {root}{container_dir}")
    (root / "config").mkdir()
    (root / "data").mkdir()
    for relative in (synapse.LOG_CONFIG, synapse.SIGNING_KEY):
        (root / "config" / Path(relative).name).write_text(files[relative].text, encoding="utf-8")
    config_path = root / "config" / "homeserver.yaml"
    config_path.write_text(text, encoding="utf-8")

    result = _check(config_path)

    assert result.returncode == 0, result.stderr
    assert (root / "media").is_dir()


def test_s3_media_parses_when_the_provider_module_is_installed(root: Path) -> None:
    if importlib.util.find_spec("s3_storage_provider") is None:
        pytest.skip("synapse-s3-storage-provider is not installed in the test environment")
    secrets = FIXED_SECRETS.model_copy(update={"s3_secret_access_key": "s3SECRETs3secret"})
    ctx = _native_context(
        root,
        secrets=secrets,
        media__backend="s3",
        media__s3={"bucket": "matrix-media", "access_key_id": "AKIAEXAMPLE"},
    )

    result = _check(_write(ctx))

    assert result.returncode == 0, result.stderr


def _broken(root: Path, change: Any) -> subprocess.CompletedProcess[str]:
    config_path = _write(_native_context(root, registration__mode="open"))
    data = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    change(data)
    config_path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return _check(config_path)


def test_open_registration_without_the_acknowledgement_is_refused(root: Path) -> None:
    result = _broken(root, lambda data: data.pop("enable_registration_without_verification"))

    assert result.returncode != 0
    assert "enable_registration_without_verification" in result.stdout + result.stderr


def test_an_unknown_listener_resource_is_refused(root: Path) -> None:
    def add_resource(data: dict[str, Any]) -> None:
        data["listeners"][0]["resources"][0]["names"].append("no_such_resource")

    result = _broken(root, add_resource)

    assert result.returncode != 0
    assert "Unknown listener resource" in result.stderr


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@contextmanager
def _running_synapse(config_path: Path, url: str) -> Iterator[Path]:
    """Run the real homeserver until the block ends; yield the file it logs to."""
    log_path = config_path.with_name("synapse-output.log")
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [_synapse_python(), "-m", "synapse.app.homeserver", "-c", str(config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=config_path.parent,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"synapse exited with {process.returncode}:\n{log_path.read_text()}")
            try:
                if _get(url)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"synapse did not answer {url}:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield log_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def _expected_verify_key() -> str:
    seed = base64.b64decode(FIXED_SECRETS.signing_key_seed)
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii").rstrip("=")


@pytest.mark.slow
def test_synapse_starts_on_sqlite_with_metrics_kept_off_the_public_port(root: Path) -> None:
    http_port, metrics_port = free_port(), free_port()
    ctx = _native_context(
        root,
        database="sqlite",
        monitoring__prometheus=True,
        deployment__ports__homeserver=http_port,
        deployment__ports__metrics=metrics_port,
    )
    base = f"http://127.0.0.1:{http_port}"

    with _running_synapse(_write(ctx), f"{base}/_matrix/client/versions") as log_path:
        metrics_status, metrics_body = _get(f"http://127.0.0.1:{metrics_port}/_synapse/metrics")
        public_metrics_status, _ = _get(f"{base}/_synapse/metrics")
        key_status, key_body = _get(f"{base}/_matrix/key/v2/server")

    assert metrics_status == 200
    assert b"synapse_" in metrics_body
    assert public_metrics_status == 404
    assert key_status == 200
    verify_keys = json.loads(key_body)["verify_keys"]
    assert verify_keys == {
        f"ed25519:{FIXED_SECRETS.signing_key_id}": {"key": _expected_verify_key()}
    }
    output = log_path.read_text(encoding="utf-8", errors="replace")
    assert re.search(r" - synapse\.[\w.]+ - \d+ - INFO - ", output), "log.config's console format"
    for secret in FIXED_SECRETS.values():
        assert secret not in output


@pytest.mark.slow
def test_synapse_starts_on_the_postgres_the_init_script_made(
    root: Path, postgres_server: PostgresServer
) -> None:
    http_port = free_port()
    ctx = _native_context(
        root,
        database="postgresql",
        database__name="synapse_started",
        database__user="synapse_started",
        deployment__ports__homeserver=http_port,
        deployment__ports__postgres=postgres_server.port,
    )
    script = root / "init.sql"
    script.write_text(postgres.init_sql(ctx), encoding="utf-8")
    postgres_server.psql("--quiet", "--file", str(script))

    with _running_synapse(_write(ctx), f"http://127.0.0.1:{http_port}/_matrix/client/versions"):
        tables = postgres_server.query(
            "SELECT count(*) FROM pg_tables WHERE tableowner = 'synapse_started'",
            database="synapse_started",
        )

    assert int(tables[0][0]) > 10, "Synapse created its schema as the role init.sql made"


def _call(url: str, body: dict[str, Any] | None = None, token: str | None = None) -> Any:
    """Send a JSON request (POST with a body, else GET) and return the JSON answer."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_synapse_starts_with_calls_and_serves_what_lk_jwt_service_and_clients_ask(
    root: Path,
) -> None:
    """Synapse runs with the MatrixRTC sections, and serves what clients and lk-jwt-service ask.

    Clients read the LiveKit transport from it; the OpenID token a client gets is checked on
    its federation listener, the request lk-jwt-service makes before it mints a LiveKit token.
    """
    http_port = free_port()
    ctx = _native_context(
        root,
        database="sqlite",
        calls__matrix_rtc=True,
        calls__external_ip="203.0.113.10",
        deployment__ports__homeserver=http_port,
    )
    base = f"http://127.0.0.1:{http_port}"
    config_path = _write(ctx)
    seen = _inspect(config_path)
    assert seen["rate_limits"]["rc_message"]["per_second"] >= matrix_rtc.MESSAGE_LIMIT[0]
    assert seen["rate_limits"]["rc_delayed_event_mgmt"]["burst_count"] == 20

    with _running_synapse(config_path, f"{base}/_matrix/client/versions"):
        register = [
            _synapse_python(),
            *("-m", "synapse._scripts.register_new_matrix_user", "-c", str(config_path)),
            *("-u", "alice", "-p", "a long password", "--no-admin", base),
        ]
        done = subprocess.run(register, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        login = _call(
            f"{base}/_matrix/client/v3/login",
            {
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": "alice"},
                "password": "a long password",
            },
        )
        token = login["access_token"]
        transports = _call(
            f"{base}/_matrix/client/unstable/org.matrix.msc4143/rtc/transports", token=token
        )
        user_id = login["user_id"]
        openid = _call(f"{base}/_matrix/client/v3/user/{user_id}/openid/request_token", {}, token)
        userinfo = _call(
            f"{base}/_matrix/federation/v1/openid/userinfo?access_token={openid['access_token']}"
        )

    assert transports["rtc_transports"] == matrix_rtc.foci(ctx)
    assert userinfo == {"sub": user_id}


def _post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.mark.slow
def test_synapse_with_mas_starts_and_leaves_sign_up_and_login_to_mas(
    root: Path, postgres_server: PostgresServer
) -> None:
    """Synapse starts with the MAS section and no longer serves registration or password login.

    MAS itself is not running (no registry this project reaches serves it), so this proves
    Synapse's side only: the section loads, the database init.sql makes for MAS exists and
    belongs to MAS's role, and Synapse serves sign-up to application services only, with no
    password login nor username check, though the answers open registration to anyone.
    """
    http_port = free_port()
    ctx = _native_context(
        root,
        database="postgresql",
        database__name="synapse_mas",
        database__user="synapse_mas",
        auth__mas=True,
        registration__mode="open",
        deployment__ports__homeserver=http_port,
        deployment__ports__postgres=postgres_server.port,
    )
    script = root / "init.sql"
    script.write_text(postgres.init_sql(ctx), encoding="utf-8")
    postgres_server.psql("--quiet", "--file", str(script))
    base = f"http://127.0.0.1:{http_port}/_matrix/client"

    with _running_synapse(_write(ctx), f"{base}/versions") as log_path:
        register = _post(f"{base}/v3/register", {"username": "eve", "password": "pw-eve-123"})
        login = _get(f"{base}/v3/login")
        available = _get(f"{base}/v3/register/available?username=eve")

    assert register[0] == 403, register
    assert "Only m.login.application_service registrations" in register[1]["error"]
    assert login[0] == 404, login
    assert available[0] == 404, available
    owner = postgres_server.query(
        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'mas'"
    )
    assert owner == [["mas"]], "init.sql made MAS's own database, owned by its own role"
    output = log_path.read_text(encoding="utf-8", errors="replace")
    assert FIXED_SECRETS.mas_shared_secret not in output
