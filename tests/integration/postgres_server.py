"""A real PostgreSQL server on loopback in a temporary folder, as a pytest fixture.

Use it from a test module with
``from tests.integration.postgres_server import postgres_server_fixture  # noqa: F401``
(the import registers the fixture) and ask for ``postgres_server: PostgresServer``.
"""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import require_program
from tests.waiting import LIMIT

SUPERUSER = "postgres"
START_TIMEOUT = LIMIT


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def postgres_bin_dir() -> Path:
    """Return the folder of the newest installed PostgreSQL's programs, or skip without one."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda path: int(Path(path).parent.name)
    )
    if candidates:
        bin_dir = Path(candidates[-1])
    else:
        bin_dir = Path(require_program("initdb")).resolve().parent
    for program in ("initdb", "postgres", "pg_ctl", "pg_isready", "psql"):
        require_program(str(bin_dir / program))
    return bin_dir


def as_postgres_user() -> list[str]:
    """Return the command prefix that runs a program as the postgres user (needed as root)."""
    if os.geteuid() != 0:
        return []
    return [require_program("runuser"), "-u", SUPERUSER, "--"]


@dataclass(frozen=True)
class PostgresServer:
    """A running PostgreSQL: where it listens, and psql bound to it."""

    bin_dir: Path
    root: Path
    port: int
    host: str = "127.0.0.1"
    superuser: str = SUPERUSER

    @property
    def socket_dir(self) -> Path:
        """Return the folder holding the server's Unix socket."""
        return self.root / "socket"

    @property
    def data_dir(self) -> Path:
        """Return the cluster's data folder."""
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        """Return the file the server logs to."""
        return self.root / "server.log"

    def log(self) -> str:
        """Return what the server has logged so far."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def psql(
        self,
        *args: str,
        user: str | None = None,
        database: str = "postgres",
        password: str | None = None,
        over_tcp: bool = False,
        check: bool = True,
        stdin: str | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run psql against the server; as the superuser over the socket unless told otherwise."""
        host = self.host if over_tcp else str(self.socket_dir)
        env = {**os.environ, "PGCONNECT_TIMEOUT": "10", **(environment or {})}
        env.pop("PGPASSWORD", None)
        if password is not None:
            env["PGPASSWORD"] = password
        command = [
            str(self.bin_dir / "psql"),
            "--no-psqlrc",
            "--no-password",
            "--host",
            host,
            "--port",
            str(self.port),
            "--username",
            user or self.superuser,
            "--dbname",
            database,
            *args,
        ]
        result = subprocess.run(
            command, input=stdin, capture_output=True, text=True, env=env, timeout=60, check=False
        )
        if check and result.returncode != 0:
            pytest.fail(
                f"psql {' '.join(args)} failed ({result.returncode}):\n{result.stderr}\n"
                f"server log:\n{self.log()}"
            )
        return result

    def query(self, sql: str, database: str = "postgres") -> list[list[str]]:
        """Return the rows of a query run as the superuser, each a list of text fields."""
        result = self.psql(
            "--tuples-only", "--no-align", "--field-separator=|", "-c", sql, database=database
        )
        return [line.split("|") for line in result.stdout.splitlines() if line]


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        pytest.fail(f"{what} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


def _wait_ready(server: PostgresServer, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"postgres exited with {process.returncode}:\n{server.log()}")
        ready = subprocess.run(
            [
                str(server.bin_dir / "pg_isready"),
                "--quiet",
                "--host",
                server.host,
                "--port",
                str(server.port),
            ],
            check=False,
            timeout=30,
        )
        if ready.returncode == 0:
            return
        time.sleep(0.05)
    pytest.fail(f"postgres was not ready within {START_TIMEOUT:.0f} s:\n{server.log()}")


def _stop(server: PostgresServer, process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        subprocess.run(
            [
                *as_postgres_user(),
                str(server.bin_dir / "pg_ctl"),
                "stop",
                "--pgdata",
                str(server.data_dir),
                "--mode",
                "fast",
                "--wait",
            ],
            capture_output=True,
            check=False,
            timeout=60,
        )
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)


def start_postgres(
    superuser: str = SUPERUSER,
    initdb_options: tuple[str, ...] = ("--encoding", "UTF8", "--locale", "C.UTF-8"),
) -> Iterator[PostgresServer]:
    """Create a cluster in a temporary folder, run it on a free loopback port, then remove it."""
    bin_dir = postgres_bin_dir()
    runner = as_postgres_user()
    root = Path(tempfile.mkdtemp(prefix="matrix-wizard-pg-"))
    server = PostgresServer(bin_dir=bin_dir, root=root, port=free_port(), superuser=superuser)
    server.socket_dir.mkdir()
    if runner:
        for path in (root, server.socket_dir):
            shutil.chown(path, user=SUPERUSER, group=SUPERUSER)
    try:
        _run(
            [
                *runner,
                str(bin_dir / "initdb"),
                "--pgdata",
                str(server.data_dir),
                "--username",
                superuser,
                *initdb_options,
                "--auth-local",
                "trust",
                "--auth-host",
                "scram-sha-256",
            ],
            "initdb",
        )
        with server.log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    *runner,
                    str(bin_dir / "postgres"),
                    "-D",
                    str(server.data_dir),
                    "-c",
                    f"listen_addresses={server.host}",
                    "-p",
                    str(server.port),
                    "-k",
                    str(server.socket_dir),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_ready(server, process)
            yield server
        finally:
            _stop(server, process)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(name="postgres_server", scope="session")
def postgres_server_fixture() -> Iterator[PostgresServer]:
    """Yield a PostgreSQL server shared by the session; tests use their own database names."""
    yield from start_postgres()
