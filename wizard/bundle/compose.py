"""docker-compose.yml: every service of the stack, with only the proxy and coturn reachable."""

from typing import Any

import yaml

from wizard.answers.model import Homeserver, ProxyKind
from wizard.bundle import (
    calls,
    certificates,
    conduit,
    conduit_family,
    dendrite,
    element_web,
    layout,
    mas,
    matrix_rtc,
    media,
    monitoring,
    nginx,
    postgres,
    synapse_image,
    synapse_workers,
    versions,
    worker_routes,
)
from wizard.bundle.context import (
    CONTAINER_CONFIG_DIR,
    CONTAINER_DATA_DIR,
    CONTAINER_MEDIA_DIR,
    CONTAINER_WELLKNOWN_DIR,
    POSTGRES_SERVICE,
    WELLKNOWN_SERVICE,
    RenderContext,
)
from wizard.bundle.model import PRIVATE, Bundle, File
from wizard.bundle.worker_layout import Worker
from wizard.errors import WizardError
from wizard.paths import asset

# Keyed by service name: every key is a str, the enums' members included.
IMAGES: dict[str, str] = {
    Homeserver.SYNAPSE: versions.SYNAPSE_IMAGE,
    Homeserver.DENDRITE: versions.DENDRITE_IMAGE,
    **{homeserver: member.image for homeserver, member in conduit_family.MEMBERS.items()},
    ProxyKind.NGINX: versions.NGINX_IMAGE,
    ProxyKind.CADDY: versions.CADDY_IMAGE,
    ProxyKind.TRAEFIK: versions.TRAEFIK_IMAGE,
    POSTGRES_SERVICE: versions.POSTGRES_IMAGE,
    WELLKNOWN_SERVICE: versions.NGINX_IMAGE,
    layout.COTURN_SERVICE: versions.COTURN_IMAGE,
    layout.PROMETHEUS_SERVICE: versions.PROMETHEUS_IMAGE,
    layout.GRAFANA_SERVICE: versions.GRAFANA_IMAGE,
    synapse_workers.REDIS_SERVICE: versions.REDIS_IMAGE,
    matrix_rtc.LIVEKIT_SERVICE: versions.LIVEKIT_IMAGE,
    matrix_rtc.LK_JWT_SERVICE: versions.LK_JWT_SERVICE_IMAGE,
}

COMPOSE_FILE = layout.COMPOSE_FILE
POSTGRES_ENV = postgres.ENV_FILE
GRAFANA_ENV = "grafana/grafana.env"
WELLKNOWN_CONF = "wellknown/default.conf"

# Paths inside the containers.
POSTGRES_CONFIG = "/etc/postgresql/postgresql.conf"
POSTGRES_DATA = "/var/lib/postgresql/data"
POSTGRES_INITDB_ARGS = "--encoding=UTF-8 --lc-collate=C --lc-ctype=C"
POSTGRES_SUPERUSER = postgres.SUPERUSER
POSTGRES_INIT_SCRIPT = "/docker-entrypoint-initdb.d/init.sql"
TRAEFIK_STATIC = "/etc/traefik/traefik.yml"
TRAEFIK_DYNAMIC = "/etc/traefik/dynamic.yml"
TRAEFIK_ACME_DIR = "/etc/traefik/acme"
# Where Traefik reaches the well-known server: http://wellknown:80 in traefik/dynamic.yml.
WELLKNOWN_PORT = 80
LETSENCRYPT_DIR = "/etc/letsencrypt"
CONFIG_FILES = {
    Homeserver.SYNAPSE: "homeserver.yaml",
    Homeserver.DENDRITE: "dendrite.yaml",
    **{homeserver: conduit.config_name(homeserver) for homeserver in conduit_family.MEMBERS},
}
PROMETHEUS_RETENTION = "30d"
# Grafana's settings besides its paths and port, in containers and natively alike.
GRAFANA_SETTINGS = {
    "GF_USERS_ALLOW_SIGN_UP": "false",
    "GF_ANALYTICS_REPORTING_ENABLED": "false",
    "GF_ANALYTICS_CHECK_FOR_UPDATES": "false",
}


def _mount(host: str, container: str, *, read_only: bool = False) -> str:
    return f"{host}:{container}:ro" if read_only else f"{host}:{container}"


def _started(*services: str) -> dict[str, dict[str, str]]:
    return {service: {"condition": "service_started"} for service in services}


def _healthcheck(command: str, start_period: str = "60s") -> dict[str, Any]:
    return {
        "test": ["CMD-SHELL", command],
        "interval": "15s",
        "timeout": "5s",
        "retries": 5,
        "start_period": start_period,
    }


def _answers_http(port: int) -> str:
    """Return a check that something answers HTTP on a port, with busybox's wget."""
    # Any status counts, even a redirect or the 400 a TLS port gives to plain HTTP: the
    # server serves. `wget -S` prints the status line even when it then fails.
    return f"wget -S -O /dev/null http://127.0.0.1:{port}/ 2>&1 | grep -q HTTP/"


def _service(image: str | dict[str, Any], **fields: Any) -> dict[str, Any]:
    """Return a service from its image (or image and build fields) and its other fields."""
    named = {"image": image} if isinstance(image, str) else image
    return {**named, "restart": "unless-stopped", **fields}


def _homeserver_image(ctx: RenderContext) -> str | dict[str, Any]:
    if ctx.homeserver is Homeserver.SYNAPSE:
        return synapse_image.image_fields(ctx)
    return IMAGES[ctx.homeserver]


def _logging() -> dict[str, Any]:
    """Return a size-capped log setting, so container logs cannot fill the disk."""
    return {"driver": "json-file", "options": {"max-size": "10m", "max-file": "3"}}


def homeserver_config_path(ctx: RenderContext) -> str:
    """Return the homeserver's main config file as the homeserver process sees it."""
    return f"{ctx.hs_config_dir}/{CONFIG_FILES[ctx.homeserver]}"


def dendrite_command(ctx: RenderContext) -> list[str]:
    """Return Dendrite's arguments: its config, its listen address, and the registration flag."""
    args = [
        "--config",
        homeserver_config_path(ctx),
        "--http-bind-address",
        f"{ctx.listen_address}:{ctx.ports.homeserver}",
    ]
    # Dendrite refuses registration without a captcha unless this flag is given; the
    # bundle opens registration only on purpose, never with a captcha.
    return args + dendrite.start_flags(ctx)


def _homeserver_volumes(ctx: RenderContext) -> list[str]:
    hs = ctx.homeserver.value
    volumes = [
        _mount(f"{ctx.install_dir}/{hs}", CONTAINER_CONFIG_DIR, read_only=True),
        _mount(layout.service_dir(ctx, hs), CONTAINER_DATA_DIR),
    ]
    if media.keeps_local_media(ctx):
        volumes.append(_mount(ctx.media_host_dir, CONTAINER_MEDIA_DIR))
    ca_path = ctx.answers.proxy.federation_ca_path
    if ca_path:
        volumes.append(_mount(ctx.host_path(ca_path), ca_path, read_only=True))
    return volumes


def _homeserver(ctx: RenderContext) -> dict[str, Any]:
    hs = ctx.homeserver
    port = ctx.ports.homeserver
    service = _service(
        _homeserver_image(ctx), volumes=_homeserver_volumes(ctx), stop_grace_period="1m"
    )
    if hs is Homeserver.SYNAPSE:
        service["user"] = layout.owner(ctx, hs.value)
        service["environment"] = {"SYNAPSE_CONFIG_PATH": homeserver_config_path(ctx)}
        service["healthcheck"] = _healthcheck(f"curl -fSs http://localhost:{port}/health")
    elif hs is Homeserver.DENDRITE:
        service["command"] = dendrite_command(ctx)
        service["ulimits"] = {"nofile": {"soft": 65535, "hard": 65535}}
        service["healthcheck"] = _healthcheck(
            f"curl -fSs http://localhost:{port}/_matrix/client/versions"
        )
    else:
        # The Conduit family's images hold nothing but the server: no shell or curl for a
        # healthcheck; apply.sh asks through the proxy instead.
        service["environment"] = conduit.environment(ctx)
    dependencies: dict[str, dict[str, str]] = {}
    if ctx.bundled_postgres:
        dependencies[POSTGRES_SERVICE] = {"condition": "service_healthy"}
    if synapse_workers.worker_names(ctx):
        dependencies.update(_started(synapse_workers.REDIS_SERVICE))
    if dependencies:
        service["depends_on"] = dependencies
    return service


def _synapse_worker(ctx: RenderContext, worker: Worker) -> dict[str, Any]:
    config = homeserver_config_path(ctx)
    port = synapse_workers.port(ctx, worker)
    return _service(
        _homeserver_image(ctx),
        user=layout.owner(ctx, Homeserver.SYNAPSE.value),
        command=[
            "run",
            f"--config-path={config}",
            f"--config-path={CONTAINER_CONFIG_DIR}/workers/{worker.name}.yaml",
        ],
        environment={"SYNAPSE_WORKER": synapse_workers.WORKER_APP},
        volumes=_homeserver_volumes(ctx),
        healthcheck=_healthcheck(f"curl -fSs http://localhost:{port}/health"),
        depends_on={Homeserver.SYNAPSE.value: {"condition": "service_healthy"}},
    )


def _postgres(ctx: RenderContext) -> dict[str, Any]:
    port = ctx.ports.postgres
    postgres_dir = f"{ctx.install_dir}/postgres"
    # The cluster belongs to the postgres superuser (its password in postgres.env); init.sql,
    # run once by the image's entrypoint on an empty cluster, makes the homeserver's role
    # without superuser and its database owned by it, UTF8 with C collation.
    return _service(
        IMAGES[POSTGRES_SERVICE],
        env_file=[f"{ctx.install_dir}/{POSTGRES_ENV}"],
        environment={
            "POSTGRES_USER": POSTGRES_SUPERUSER,
            "POSTGRES_INITDB_ARGS": POSTGRES_INITDB_ARGS,
        },
        command=[
            "postgres",
            "-c",
            f"config_file={POSTGRES_CONFIG}",
            "-c",
            "listen_addresses=*",
            "-c",
            f"port={port}",
        ],
        volumes=[
            _mount(layout.service_dir(ctx, POSTGRES_SERVICE), POSTGRES_DATA),
            _mount(f"{postgres_dir}/postgresql.conf", POSTGRES_CONFIG, read_only=True),
            _mount(f"{postgres_dir}/init.sql", POSTGRES_INIT_SCRIPT, read_only=True),
        ],
        shm_size=f"{postgres.shm_size_mb(ctx)}m",
        # Over TCP: while the entrypoint runs init.sql its server listens on the socket only,
        # so the check does not pass before the homeserver's database exists.
        healthcheck=_healthcheck(
            f"pg_isready -q -h 127.0.0.1 -p {port} -U {POSTGRES_SUPERUSER}", start_period="30s"
        ),
        stop_grace_period="1m",
    )


def proxy_ports(ctx: RenderContext) -> list[int]:
    """Return the ports the proxy publishes on the host: HTTP, HTTPS and federation if separate."""
    ports = [ctx.ports.http, ctx.ports.https]
    if ctx.federation_port not in ports:
        ports.append(ctx.federation_port)
    return ports


def _certificate_volumes(ctx: RenderContext) -> list[str]:
    if certificates.uses_certbot(ctx):
        return [
            _mount(layout.letsencrypt_dir(ctx), LETSENCRYPT_DIR, read_only=True),
            _mount(layout.acme_webroot_dir(ctx), nginx.CONTAINER_ACME_WEBROOT, read_only=True),
        ]
    host = certificates.host_certificate_files(ctx)
    seen = certificates.proxy_certificate_files(ctx)
    if host is None or seen is None:
        return []
    return [
        _mount(host.chain, seen.chain, read_only=True),
        _mount(host.key, seen.key, read_only=True),
    ]


def _proxy(ctx: RenderContext) -> dict[str, Any]:
    kind = ctx.answers.proxy.kind
    wellknown = _mount(f"{ctx.install_dir}/well-known", CONTAINER_WELLKNOWN_DIR, read_only=True)
    # nginx resolves its upstreams' names once, at start: the workers it routes to must be up.
    dependencies = [
        ctx.homeserver.value,
        *(synapse_workers.service_name(worker) for worker in worker_routes.routed_workers(ctx)),
    ]
    if matrix_rtc.enabled(ctx):
        dependencies += [matrix_rtc.LIVEKIT_SERVICE, matrix_rtc.LK_JWT_SERVICE]
    if kind is ProxyKind.NGINX:
        volumes = [
            _mount(
                f"{ctx.install_dir}/nginx/matrix.conf",
                "/etc/nginx/conf.d/default.conf",
                read_only=True,
            ),
            wellknown,
        ]
    elif kind is ProxyKind.CADDY:
        caddy_dir = layout.service_dir(ctx, kind.value)
        volumes = [
            _mount(f"{ctx.install_dir}/caddy/Caddyfile", "/etc/caddy/Caddyfile", read_only=True),
            _mount(f"{caddy_dir}/data", "/data"),
            _mount(f"{caddy_dir}/config", "/config"),
            wellknown,
        ]
    else:
        volumes = [
            _mount(f"{ctx.install_dir}/traefik/traefik.yml", TRAEFIK_STATIC, read_only=True),
            _mount(f"{ctx.install_dir}/traefik/dynamic.yml", TRAEFIK_DYNAMIC, read_only=True),
            _mount(layout.service_dir(ctx, kind.value), TRAEFIK_ACME_DIR),
        ]
        dependencies.append(WELLKNOWN_SERVICE)
    if element_web.enabled(ctx):
        dependencies.append(element_web.SERVICE)
    # The nginx, Caddy and Traefik images are Alpine-based: busybox wget is there.
    return _service(
        IMAGES[kind],
        ports=[f"{port}:{port}" for port in proxy_ports(ctx)],
        volumes=volumes + _certificate_volumes(ctx),
        depends_on=_started(*dependencies),
        healthcheck=_healthcheck(_answers_http(ctx.ports.https), start_period="30s"),
    )


def _wellknown(ctx: RenderContext) -> dict[str, Any]:
    return _service(
        IMAGES[WELLKNOWN_SERVICE],
        volumes=[
            _mount(
                f"{ctx.install_dir}/{WELLKNOWN_CONF}",
                "/etc/nginx/conf.d/default.conf",
                read_only=True,
            ),
            _mount(f"{ctx.install_dir}/well-known", CONTAINER_WELLKNOWN_DIR, read_only=True),
        ],
        # nginx's Alpine image has busybox wget.
        healthcheck=_healthcheck(_answers_http(WELLKNOWN_PORT), start_period="30s"),
    )


def _element_web(ctx: RenderContext) -> dict[str, Any]:
    """Return Element Web's container: the official image with the bundle's config.json."""
    port = element_web.CONTAINER_PORT
    return _service(
        element_web.image(),
        environment={"ELEMENT_WEB_PORT": str(port)},
        volumes=[
            _mount(element_web.config_host_path(ctx), element_web.CONTAINER_CONFIG, read_only=True)
        ],
        # The image is built on nginx's Alpine image: busybox wget is there.
        healthcheck=_healthcheck(_answers_http(port), start_period="30s"),
    )


def _coturn(ctx: RenderContext) -> dict[str, Any]:
    volumes = [
        _mount(f"{ctx.install_dir}/{calls.TURN_CONFIG}", calls.CONTAINER_CONFIG, read_only=True)
    ]
    if calls.turn_tls(ctx):
        volumes.append(
            _mount(layout.turn_certificate_dir(ctx), calls.CONTAINER_CERT_DIR, read_only=True)
        )
    # Host networking: Docker handles the large relay port range badly.
    return _service(
        IMAGES[layout.COTURN_SERVICE],
        network_mode="host",
        # As PID 1, turnserver ignores SIGTERM, so each restart would wait for the kill; the
        # engine's init runs it instead and passes the signal on.
        init=True,
        command=["-c", calls.CONTAINER_CONFIG],
        volumes=volumes,
        # A STUN binding request to its own port; the image ships coturn's turnutils_stunclient,
        # which retries for ever when nothing answers, hence coreutils' timeout.
        healthcheck=_healthcheck(
            f"timeout 4 turnutils_stunclient -p {ctx.ports.turn} 127.0.0.1", start_period="30s"
        ),
    )


def _livekit(ctx: RenderContext) -> dict[str, Any]:
    """Return LiveKit on the stack's network, publishing only its media ports.

    Its signalling port stays inside, reached through the proxy; it advertises the answered
    public address (node_ip), never its bridge address.
    """
    calls_answers = ctx.answers.calls
    return _service(
        IMAGES[matrix_rtc.LIVEKIT_SERVICE],
        command=["--config", matrix_rtc.CONTAINER_LIVEKIT_CONFIG],
        env_file=[f"{ctx.install_dir}/{matrix_rtc.LIVEKIT_ENV}"],
        ports=[
            f"{calls_answers.rtc_tcp_port}:{calls_answers.rtc_tcp_port}/tcp",
            f"{calls_answers.rtc_udp_port}:{calls_answers.rtc_udp_port}/udp",
        ],
        volumes=[
            _mount(
                f"{ctx.install_dir}/{matrix_rtc.LIVEKIT_CONFIG}",
                matrix_rtc.CONTAINER_LIVEKIT_CONFIG,
                read_only=True,
            )
        ],
    )


def _prometheus(ctx: RenderContext) -> dict[str, Any]:
    port = monitoring.PROMETHEUS_CONTAINER_PORT
    return _service(
        IMAGES[layout.PROMETHEUS_SERVICE],
        command=[
            "--config.file=/etc/prometheus/prometheus.yml",
            "--storage.tsdb.path=/prometheus",
            f"--storage.tsdb.retention.time={PROMETHEUS_RETENTION}",
        ],
        ports=[f"127.0.0.1:{ctx.ports.prometheus}:{port}"],
        volumes=[
            _mount(
                f"{ctx.install_dir}/{monitoring.PROMETHEUS_CONFIG}",
                "/etc/prometheus/prometheus.yml",
                read_only=True,
            ),
            _mount(layout.service_dir(ctx, layout.PROMETHEUS_SERVICE), "/prometheus"),
        ],
        depends_on=_started(ctx.homeserver.value),
        # The Prometheus image is busybox-based: its wget asks Prometheus's own health endpoint.
        healthcheck=_healthcheck(
            f"wget -q -O /dev/null http://127.0.0.1:{port}/-/healthy", start_period="30s"
        ),
    )


def _grafana(ctx: RenderContext) -> dict[str, Any]:
    port = monitoring.GRAFANA_CONTAINER_PORT
    return _service(
        IMAGES[layout.GRAFANA_SERVICE],
        env_file=[f"{ctx.install_dir}/{GRAFANA_ENV}"],
        environment=dict(GRAFANA_SETTINGS),
        ports=[f"127.0.0.1:{ctx.ports.grafana}:{port}"],
        volumes=[
            _mount(layout.service_dir(ctx, layout.GRAFANA_SERVICE), "/var/lib/grafana"),
            _mount(
                f"{ctx.install_dir}/grafana/provisioning",
                "/etc/grafana/provisioning",
                read_only=True,
            ),
            _mount(
                layout.grafana_dashboards_dir(ctx),
                monitoring.CONTAINER_DASHBOARDS_DIR,
                read_only=True,
            ),
        ],
        depends_on=_started(layout.PROMETHEUS_SERVICE),
        # Grafana's image is Alpine-based: busybox wget asks Grafana's health endpoint.
        healthcheck=_healthcheck(f"wget -q -O /dev/null http://127.0.0.1:{port}/api/health"),
    )


def database_clients(ctx: RenderContext) -> list[str]:
    """Return the services that log in to the database: the homeserver, its workers and MAS."""
    workers = synapse_workers.workers(ctx)
    found = [ctx.homeserver.value, *(synapse_workers.service_name(worker) for worker in workers)]
    return [*found, mas.SERVICE] if mas.enabled(ctx) else found


def services(ctx: RenderContext) -> dict[str, dict[str, Any]]:
    """Return every compose service of the stack, keyed by its service name."""
    found = {ctx.homeserver.value: _homeserver(ctx)}
    for worker in synapse_workers.workers(ctx):
        found[synapse_workers.service_name(worker)] = _synapse_worker(ctx, worker)
    if synapse_workers.worker_names(ctx):
        found[synapse_workers.REDIS_SERVICE] = _service(
            IMAGES[synapse_workers.REDIS_SERVICE],
            healthcheck=_healthcheck("redis-cli ping | grep -q PONG", start_period="10s"),
        )
    if ctx.bundled_postgres:
        found[POSTGRES_SERVICE] = _postgres(ctx)
    found[ctx.answers.proxy.kind.value] = _proxy(ctx)
    if ctx.answers.proxy.kind is ProxyKind.TRAEFIK:
        found[WELLKNOWN_SERVICE] = _wellknown(ctx)
    if element_web.enabled(ctx):
        found[element_web.SERVICE] = _element_web(ctx)
    if mas.enabled(ctx):
        found[mas.SERVICE] = mas.compose_service(ctx)
    if ctx.answers.calls.turn:
        found[layout.COTURN_SERVICE] = _coturn(ctx)
    if matrix_rtc.enabled(ctx):
        found[matrix_rtc.LIVEKIT_SERVICE] = _livekit(ctx)
        found[matrix_rtc.LK_JWT_SERVICE] = _service(
            IMAGES[matrix_rtc.LK_JWT_SERVICE],
            env_file=[f"{ctx.install_dir}/{matrix_rtc.LK_JWT_ENV}"],
        )
    if ctx.answers.monitoring.prometheus:
        found[layout.PROMETHEUS_SERVICE] = _prometheus(ctx)
    if ctx.answers.monitoring.grafana:
        found[layout.GRAFANA_SERVICE] = _grafana(ctx)
    for service in found.values():
        service["logging"] = _logging()
    return found


def _read_only_host_path(volume: str) -> str | None:
    """Return the host side of a read-only mount, or None for a mount the service may write."""
    host = volume.split(":", 1)[0]
    return host if volume.endswith(":ro") else None


def service_files(ctx: RenderContext) -> dict[str, list[str]]:
    """Return the bundle paths each service reads: its read-only mounts inside the install folder.

    A mount the service may write holds its state, not the bundle's files, so it is left out.
    """
    inside = f"{ctx.install_dir}/"
    found: dict[str, list[str]] = {}
    for name, service in services(ctx).items():
        hosts = (_read_only_host_path(volume) for volume in service.get("volumes", []))
        paths = [host.removeprefix(inside) for host in hosts if host and host.startswith(inside)]
        if paths:
            found[name] = paths
    return found


def _env_file(values: dict[str, str]) -> str:
    for name, value in values.items():
        if not value or "\n" in value or "\r" in value:
            raise WizardError(
                f"the secret for {name} is empty or spans lines",
                "remove it from secrets.yaml to make a new one",
            )
    return "".join(f"{name}={value}\n" for name, value in values.items())


def grafana_env_file(ctx: RenderContext) -> Bundle:
    """Return Grafana's private admin settings when Grafana is chosen, for compose or systemd."""
    if not ctx.answers.monitoring.grafana:
        return {}
    env = _env_file(
        {
            "GF_SECURITY_ADMIN_USER": "admin",
            "GF_SECURITY_ADMIN_PASSWORD": ctx.secrets.grafana_admin_password,
        }
    )
    return {GRAFANA_ENV: File(env, PRIVATE)}


def render(ctx: RenderContext) -> Bundle:
    """Return docker-compose.yml and its private env files, when the bundle runs under compose."""
    if not ctx.compose:
        return {}
    header = "# The Matrix stack, written by matrix-wizard: start it with apply.sh.\n"
    text = header + yaml.safe_dump({"services": services(ctx)}, sort_keys=False)
    files: Bundle = {COMPOSE_FILE: File(text)}
    if ctx.bundled_postgres:
        password = ctx.secrets.postgres_superuser_password
        env = _env_file({postgres.SUPERUSER_PASSWORD_VARIABLE: password})
        files[POSTGRES_ENV] = File(env, PRIVATE)
    files.update(grafana_env_file(ctx))
    if ctx.answers.proxy.kind is ProxyKind.TRAEFIK:
        files[WELLKNOWN_CONF] = File(asset("templates/wellknown.conf").read_text(encoding="utf-8"))
    return files
