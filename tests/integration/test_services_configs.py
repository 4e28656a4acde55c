"""The files around the homeserver, checked by docker-compose, promtool, coturn, nft, nginx, sh."""

import contextlib
import json
import os
import socket
import sqlite3
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.bundle_support import FIXED_SECRETS, PROXIES, STACKS, answers_for, context_for
from tests.conftest import require_program
from tests.waiting import wait_until
from wizard.bundle import (
    apply_script,
    backup,
    calls,
    compose,
    firewall,
    monitoring,
    readme,
    systemd,
)
from wizard.bundle.context import RenderContext
from wizard.bundle.model import Bundle, File
from wizard.paths import asset

pytestmark = pytest.mark.integration

SERVICE_MODULES = (compose, systemd, calls, monitoring, backup, firewall, apply_script, readme)


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def services_bundle(ctx: RenderContext) -> Bundle:
    """Return these modules' files, with stand-ins for the other parts' files apply.sh copies."""
    files: Bundle = {}
    for module in SERVICE_MODULES:
        files.update(module.render(ctx))
    hs = ctx.homeserver.value
    stand_ins = [
        "secrets.yaml",
        f"{hs}/{compose.CONFIG_FILES[ctx.homeserver]}",
        "postgres/init.sql",
        "postgres/postgresql.conf",
        "well-known/matrix/server",
    ]
    for path in stand_ins:
        files.setdefault(path, File("stand-in\n", 0o600))
    return files


def write(files: Bundle, folder: Path) -> Path:
    for path, file in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(file.text, encoding="utf-8")
        target.chmod(file.mode)
    return folder


def run(*args: str, **options: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, **options)


# docker-compose -----------------------------------------------------------------------------


def compose_check(ctx: RenderContext) -> subprocess.CompletedProcess[str]:
    folder = write(compose.render(ctx), Path(ctx.install_dir))
    return run(
        require_program("docker-compose"), "-f", str(folder / "docker-compose.yml"), "config", "-q"
    )


@pytest.mark.parametrize(("homeserver", "database"), STACKS)
@pytest.mark.parametrize("proxy", PROXIES)
@pytest.mark.parametrize("extras", [False, True], ids=["plain", "turn+monitoring"])
def test_docker_compose_accepts_every_stack(
    homeserver: str, database: str, proxy: str, extras: bool, tmp_path: Path
) -> None:
    registering = "open" if homeserver == "dendrite" else "token"  # Dendrite checks no tokens
    ctx = context_for(
        answers_for(
            homeserver,
            database=database,
            proxy=proxy,
            calls__turn=extras,
            monitoring__prometheus=extras,
            monitoring__grafana=extras,
            registration__mode=registering if extras else "closed",
            deployment__prefix=str(tmp_path),
        )
    )
    result = compose_check(ctx)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "sets",
    [
        {"database__host": "db.example.org"},
        {"homeserver__workers": True, "homeserver__tier": "production"},
        {
            "proxy": "caddy",
            "proxy__tls": "files",
            "proxy__cert_path": "/etc/ssl/m.pem",
            "proxy__key_path": "/etc/ssl/m.key",
        },
    ],
    ids=["external-database", "workers", "certificate-files"],
)
def test_docker_compose_accepts_the_other_shapes(sets: dict[str, Any], tmp_path: Path) -> None:
    ctx = context_for(
        answers_for("synapse", database="postgresql", deployment__prefix=str(tmp_path), **sets)
    )
    result = compose_check(ctx)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (
            lambda s: s["synapse"].update(depends_on={"missing": {"condition": "service_started"}}),
            "missing",
        ),
        (lambda s: s["nginx"].update(listen_on=["80"]), "listen_on"),
    ],
    ids=["undefined-dependency", "unknown-key"],
)
def test_docker_compose_refuses_a_broken_file(breakage: Any, message: str, tmp_path: Path) -> None:
    ctx = context_for(answers_for(deployment__prefix=str(tmp_path)))
    folder = write(compose.render(ctx), Path(ctx.install_dir))
    path = folder / "docker-compose.yml"
    data = yaml.safe_load(path.read_text())
    breakage(data["services"])
    path.write_text(yaml.safe_dump(data))
    result = run(require_program("docker-compose"), "-f", str(path), "config", "-q")
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.slow
def test_the_static_well_known_server_answers_json_with_cors(tmp_path: Path) -> None:
    nginx = require_program("nginx")
    served = tmp_path / "well-known" / "matrix"
    served.mkdir(parents=True)
    (served / "server").write_text('{"m.server": "matrix.example.com:443"}')
    port = free_port()
    conf = asset("templates/wellknown.conf").read_text()
    conf = conf.replace("listen 80;", f"listen 127.0.0.1:{port};")
    conf = conf.replace("/srv/well-known/", f"{tmp_path}/well-known/")
    (tmp_path / "wellknown.conf").write_text(conf)
    temp_paths = "".join(
        f"    {name}_temp_path {tmp_path}/{name};\n"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # Workers run as root only when nginx is started by root: the temp folder is private.
    user = "user root;\n" if os.geteuid() == 0 else ""
    (tmp_path / "nginx.conf").write_text(
        f"{user}daemon off;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        "events {}\n"
        f"http {{\n{temp_paths}    access_log off;\n    include {tmp_path}/wellknown.conf;\n}}\n"
    )
    args = [
        nginx,
        "-p",
        str(tmp_path),
        "-e",
        f"{tmp_path}/error.log",
        "-c",
        f"{tmp_path}/nginx.conf",
    ]
    assert run(*args, "-t").returncode == 0
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Traefik strips /.well-known before forwarding here (test_proxy_configs runs the two).
    url = f"http://127.0.0.1:{port}/matrix/server"

    def answer() -> Any:
        try:
            return urllib.request.urlopen(url, timeout=2)
        except urllib.error.HTTPError:
            raise
        except OSError:
            return None

    try:
        response = wait_until(answer, "nginx to answer")
        assert response.headers["Content-Type"] == "application/json"
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert json.loads(response.read()) == {"m.server": "matrix.example.com:443"}
    finally:
        server.terminate()
        server.wait(timeout=10)


# promtool -----------------------------------------------------------------------------------


@pytest.mark.parametrize("homeserver", ["synapse", "dendrite", "conduit"])
@pytest.mark.parametrize("kind", ["compose", "native"])
def test_promtool_accepts_each_prometheus_config(
    homeserver: str, kind: str, tmp_path: Path
) -> None:
    ctx = context_for(answers_for(homeserver, monitoring__prometheus=True, deployment__kind=kind))
    folder = write(monitoring.render(ctx), tmp_path)
    result = run(
        require_program("promtool"), "check", "config", str(folder / monitoring.PROMETHEUS_CONFIG)
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_refuses_a_broken_prometheus_config(tmp_path: Path) -> None:
    ctx = context_for(answers_for(monitoring__prometheus=True))
    path = write(monitoring.render(ctx), tmp_path) / monitoring.PROMETHEUS_CONFIG
    data = yaml.safe_load(path.read_text())
    data["scrape_configs"][1]["metrics_path"] = 9000
    data["scrape_configs"][1]["scrape_intervall"] = "15s"
    path.write_text(yaml.safe_dump(data))
    result = run(require_program("promtool"), "check", "config", str(path))
    assert result.returncode != 0


# coturn -------------------------------------------------------------------------------------


def turn_config(folder: Path, *extra: str) -> tuple[Path, int]:
    """Write the rendered coturn config with a loopback-only override appended, for a test."""
    ctx = context_for(answers_for(proxy="nginx", calls__turn=True))
    port = free_port(socket.SOCK_DGRAM)
    override = [
        "listening-ip=127.0.0.1",
        "relay-ip=127.0.0.1",
        f"listening-port={port}",
        f"tls-listening-port={free_port()}",
        "allow-loopback-peers",
        "allowed-peer-ip=127.0.0.1",
        f"pidfile={folder}/turnserver.pid",
        f"userdb={folder}/turndb",
        *extra,
    ]
    config = folder / "turnserver.conf"
    config.write_text(calls.render(ctx)[calls.TURN_CONFIG].text + "\n".join(override) + "\n")
    return config, port


@contextlib.contextmanager
def running_turnserver(config: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run the real coturn until it has set up its servers, and stop it afterwards."""
    binary = require_program("turnserver")
    with log.open("w") as output:
        server = subprocess.Popen(
            [binary, "-c", str(config)], stdout=output, stderr=subprocess.STDOUT
        )
    try:
        wait_until(lambda: "turn server id" in log.read_text(), "coturn to set up its servers")
        yield server
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def turnserver(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """Start coturn with the rendered config; fail if it stopped by the end of the test."""
    config, port = turn_config(tmp_path)
    log = tmp_path / "turnserver.log"
    with running_turnserver(config, log) as server:
        yield port, log
        assert server.poll() is None, "coturn stopped:\n" + log.read_text()


@pytest.mark.slow
def test_coturn_starts_with_the_config_and_knows_every_option(turnserver: tuple[int, Path]) -> None:
    _, log = turnserver
    text = log.read_text()
    assert "Bad configuration" not in text
    assert "unknown option" not in text.lower()
    assert "Default realm: turn.example.com" in text


@pytest.mark.slow
def test_coturn_reports_a_bad_option_so_the_check_above_can_fail(tmp_path: Path) -> None:
    config, _ = turn_config(tmp_path, "no-such-option")
    log = tmp_path / "turnserver.log"
    with running_turnserver(config, log):
        assert "Bad configuration format: no-such-option" in log.read_text()


def allocate(port: int, username: str, password: str) -> subprocess.CompletedProcess[str]:
    client = require_program("turnutils_uclient")
    return run(
        client,
        "-u",
        username,
        "-w",
        password,
        "-p",
        str(port),
        "-y",
        "-n",
        "1",
        "-m",
        "1",
        "127.0.0.1",
    )


@pytest.mark.slow
def test_coturn_allocates_for_homeserver_credentials_and_refuses_a_wrong_secret(
    turnserver: tuple[int, Path],
) -> None:
    port, _ = turnserver
    expires = int(time.time()) + 3600
    good = calls.turn_credentials(FIXED_SECRETS.turn_shared_secret, "@alice:example.com", expires)
    accepted = allocate(port, *good)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    bad = calls.turn_credentials("not the secret", "@alice:example.com", expires)
    refused = allocate(port, *bad)
    assert refused.returncode != 0
    assert "Cannot complete Allocation" in refused.stdout + refused.stderr


# The server's own address, in a private network namespace holding it; no NAT gateway exists
# here: coturn's external-ip mapping stands in for one, so what a real gateway does with the
# advertised address (forwarding, hairpinning) is not proven.
OWN_ADDRESS = "10.0.0.1"
PUBLIC_ADDRESS = "93.184.216.34"


@contextlib.contextmanager
def turnserver_owning(address: str, tmp_path: Path, **sets: Any) -> Iterator[int]:
    """Run the real coturn with the rendered config in a network namespace where it owns address.

    Yields coturn's process id, whose network namespace a client enters with nsenter.
    """
    if os.geteuid() != 0:
        pytest.skip("a private network namespace needs root")
    unshare = require_program("unshare")
    binary = require_program("turnserver")
    ctx = context_for(answers_for(proxy="nginx", calls__turn=True, **sets))
    config = tmp_path / "turnserver.conf"
    override = [
        f"listening-ip={address}",
        f"relay-ip={address}",
        f"pidfile={tmp_path}/turnserver.pid",
        f"userdb={tmp_path}/turndb",
    ]
    config.write_text(calls.render(ctx)[calls.TURN_CONFIG].text + "\n".join(override) + "\n")
    log = tmp_path / "turnserver.log"
    script = f"ip link set lo up && ip addr add {address}/32 dev lo && exec {binary} -c {config}"
    with log.open("w") as output:
        server = subprocess.Popen(
            [unshare, "--net", "sh", "-c", script], stdout=output, stderr=subprocess.STDOUT
        )
    try:
        wait_until(lambda: "turn server id" in log.read_text(), "coturn to set up its servers")
        yield server.pid
    finally:
        server.terminate()
        server.wait(timeout=10)


def relay_between_two_clients(pid: int, address: str) -> subprocess.CompletedProcess[str]:
    """Make two allocations on coturn and send between their relays: client-TURN-TURN-client."""
    nsenter = require_program("nsenter")
    client = require_program("turnutils_uclient")
    expires = int(time.time()) + 3600
    user, password = calls.turn_credentials(
        FIXED_SECRETS.turn_shared_secret, "@alice:example.com", expires
    )
    return run(
        nsenter,
        f"--net=/proc/{pid}/ns/net",
        client,
        *("-u", user, "-w", password, "-p", "3478", "-y", "-n", "1", "-m", "1"),
        address,
    )


@pytest.mark.slow
def test_coturn_relays_to_its_own_private_address_when_the_answers_name_it(
    tmp_path: Path,
) -> None:
    sets = {"calls__external_ip": OWN_ADDRESS}
    with turnserver_owning(OWN_ADDRESS, tmp_path, **sets) as pid:
        relayed = relay_between_two_clients(pid, OWN_ADDRESS)
    assert relayed.returncode == 0, relayed.stdout + relayed.stderr
    assert "Forbidden IP" not in relayed.stdout + relayed.stderr
    text = (tmp_path / "turnserver.log").read_text()
    assert "Bad configuration" not in text
    assert f"White listing: {OWN_ADDRESS}" in text
    assert f"allowed-peer-ip={OWN_ADDRESS}" in (tmp_path / "turnserver.conf").read_text()


@pytest.mark.slow
def test_without_its_own_address_coturn_refuses_to_relay_to_itself(tmp_path: Path) -> None:
    """The check above can fail: the same flow is refused when the answers give no address."""
    with turnserver_owning(OWN_ADDRESS, tmp_path) as pid:
        relayed = relay_between_two_clients(pid, OWN_ADDRESS)
    assert relayed.returncode != 0
    assert "403 (Forbidden IP)" in relayed.stdout + relayed.stderr


@pytest.mark.slow
def test_behind_nat_coturn_loads_the_mapping_and_relays_to_itself(tmp_path: Path) -> None:
    sets = {"calls__external_ip": PUBLIC_ADDRESS, "calls__internal_ip": OWN_ADDRESS}
    with turnserver_owning(OWN_ADDRESS, tmp_path, **sets) as pid:
        relayed = relay_between_two_clients(pid, OWN_ADDRESS)
    assert relayed.returncode == 0, relayed.stdout + relayed.stderr
    text = (tmp_path / "turnserver.log").read_text()
    assert "Bad configuration" not in text
    # coturn 4.6.1 also allows external-ip's private part by itself; the line says it for all.
    assert f"White listing: {OWN_ADDRESS}" in text
    written = (tmp_path / "turnserver.conf").read_text()
    assert f"external-ip={PUBLIC_ADDRESS}/{OWN_ADDRESS}" in written
    assert f"allowed-peer-ip={OWN_ADDRESS}" in written


# backup.sh ----------------------------------------------------------------------------------


def test_the_sqlite_backup_copies_database_media_and_bundle_and_prunes_old_ones(
    tmp_path: Path,
) -> None:
    require_program("sqlite3")
    ctx = context_for(
        answers_for(
            "synapse", database="sqlite", backups__keep_days=7, deployment__prefix=str(tmp_path)
        )
    )
    install = write(services_bundle(ctx), Path(ctx.install_dir))
    data = Path(ctx.data_dir) / "synapse"
    data.mkdir(parents=True)
    with sqlite3.connect(data / "homeserver.db") as db:
        db.execute("CREATE TABLE users (name TEXT)")
        db.execute("INSERT INTO users VALUES ('@alice:example.com')")
    media = Path(ctx.media_host_dir) / "local_content" / "ab"
    media.mkdir(parents=True)
    (media / "cdef").write_bytes(b"picture")
    backups = Path(backup.backup_dir(ctx))
    old, recent, unrelated = (
        backups / "20200101T000000Z",
        backups / "20990101T000000Z",
        backups / "keep-me",
    )
    for folder, days in ((old, 30), (recent, 2), (unrelated, 30)):
        folder.mkdir(parents=True)
        stamp = time.time() - days * 86400
        os.utime(folder, (stamp, stamp))

    result = run("sh", str(install / backup.BACKUP_SCRIPT))

    assert result.returncode == 0, result.stdout + result.stderr
    made = [p for p in backups.iterdir() if p not in (recent, unrelated)]
    assert len(made) == 1, sorted(backups.iterdir())
    target = made[0]
    assert target.stat().st_mode & 0o777 == 0o700
    with sqlite3.connect(target / "homeserver.db") as db:
        assert db.execute("SELECT name FROM users").fetchall() == [("@alice:example.com",)]
    with tarfile.open(target / "media.tar") as archive:
        assert "./local_content/ab/cdef" in archive.getnames()
    with tarfile.open(target / "bundle.tar") as archive:
        assert "./secrets.yaml" in archive.getnames()
    assert not old.exists()
    assert recent.exists() and unrelated.exists()


# apply.sh -----------------------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, tuple[int, int, int, bytes]]:
    found = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        content = path.read_bytes() if path.is_file() else b""
        found[str(path.relative_to(root))] = (info.st_mode, info.st_uid, info.st_gid, content)
    return found


def staged(tmp_path: Path, **sets: Any) -> tuple[RenderContext, Path]:
    ctx = context_for(answers_for(deployment__prefix=str(tmp_path / "host"), **sets))
    return ctx, write(services_bundle(ctx), tmp_path / "bundle")


@pytest.mark.parametrize(
    "sets",
    [
        {"calls__turn": True, "monitoring__prometheus": True, "monitoring__grafana": True},
        {"homeserver": "conduit", "database": "rocksdb", "proxy": "caddy"},
        {"homeserver": "dendrite", "deployment__kind": "native"},
    ],
    ids=["synapse-everything", "conduit-caddy", "dendrite-native"],
)
def test_a_dry_run_prints_every_step_and_creates_nothing(
    sets: dict[str, Any], tmp_path: Path
) -> None:
    ctx, bundle = staged(tmp_path, **sets)
    before = snapshot(tmp_path)
    result = run("sh", str(bundle / apply_script.APPLY_SCRIPT), "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "host").exists()
    out = result.stdout
    assert "dry run" in out
    assert f"+ cp -Rp {bundle}/. {ctx.install_dir}/" in out
    assert f"+ mkdir -p {ctx.data_dir}/{ctx.homeserver.value}" in out
    assert f"+ chmod 0600 {ctx.install_dir}/secrets.yaml" in out
    if ctx.compose:
        assert "up -d --remove-orphans" in out
    for value in FIXED_SECRETS.values():
        assert value not in out + result.stderr


def test_apply_prepares_the_host_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("setting the owners the services need takes root")
    ctx, bundle = staged(tmp_path, calls__turn=True, monitoring__prometheus=True)
    script = str(bundle / apply_script.APPLY_SCRIPT)
    first = run("sh", script, "--skip-start")
    assert first.returncode == 0, first.stdout + first.stderr
    after_first = snapshot(tmp_path / "host")
    second = run("sh", script, "--skip-start")
    assert second.returncode == 0, second.stdout + second.stderr
    assert snapshot(tmp_path / "host") == after_first

    install, data = Path(ctx.install_dir), Path(ctx.data_dir)
    assert (install / "secrets.yaml").stat().st_mode & 0o777 == 0o600
    assert (install / "synapse/homeserver.yaml").stat().st_uid == 991
    assert (install / calls.TURN_CONFIG).stat().st_uid == 65534
    assert (install / apply_script.APPLY_SCRIPT).stat().st_mode & 0o777 == 0o755
    assert (data / "synapse").stat().st_uid == 991
    assert (data / "synapse").stat().st_mode & 0o777 == 0o750
    assert (data / "postgres").stat().st_mode & 0o777 == 0o700
    assert (install / "docker-compose.yml").read_text() == (
        bundle / "docker-compose.yml"
    ).read_text()
    assert "firewall alone" in first.stdout
    assert "asks no certificate authority" in first.stdout


def test_apply_refuses_an_incomplete_bundle(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("apply.sh checks that it runs as root before anything else")
    _, bundle = staged(tmp_path)
    (bundle / "synapse" / "homeserver.yaml").unlink()
    result = run("sh", str(bundle / apply_script.APPLY_SCRIPT), "--skip-start")
    assert result.returncode == 1
    assert "synapse/homeserver.yaml is missing" in result.stderr
    assert not (tmp_path / "host").exists()
