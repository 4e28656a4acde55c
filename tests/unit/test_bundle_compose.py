"""docker-compose.yml: the right services, only the proxy and coturn reachable, env-file secrets."""

import re
from typing import Any

import pytest
import yaml

from tests.bundle_support import (
    FIXED_SECRETS,
    HOMESERVERS,
    PROXIES,
    STACKS,
    answers_for,
    context_for,
    facts_with,
)
from wizard.answers.model import CONDUIT_FAMILY
from wizard.answers.secret_store import Secrets
from wizard.bundle import calls, compose, conduit, layout, monitoring, versions
from wizard.bundle.context import RenderContext
from wizard.bundle.model import PRIVATE
from wizard.bundle.render import render
from wizard.errors import WizardError


def services_of(ctx: RenderContext) -> dict[str, Any]:
    data = yaml.safe_load(compose.render(ctx)[compose.COMPOSE_FILE].text)
    assert set(data) == {"services"}
    services: dict[str, Any] = data["services"]
    return services


def test_nothing_is_rendered_for_a_native_deployment() -> None:
    assert compose.render(context_for(answers_for(deployment__kind="native"))) == {}


@pytest.mark.parametrize(("homeserver", "database"), STACKS)
@pytest.mark.parametrize("proxy", PROXIES)
def test_each_chosen_part_gets_exactly_its_service(
    homeserver: str, database: str, proxy: str
) -> None:
    ctx = context_for(answers_for(homeserver, database=database, proxy=proxy))
    services = services_of(ctx)
    expected = {homeserver, proxy}
    if database == "postgresql":
        expected.add("postgres")
    if proxy == "traefik":
        expected.add("wellknown")
    assert set(services) == expected
    for name, service in services.items():
        assert service["restart"] == "unless-stopped", name
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on missing {dependency}"


def test_extras_add_coturn_prometheus_and_grafana() -> None:
    ctx = context_for(
        answers_for(calls__turn=True, monitoring__prometheus=True, monitoring__grafana=True)
    )
    services = services_of(ctx)
    assert {"coturn", "prometheus", "grafana"} <= set(services)
    assert services["coturn"]["network_mode"] == "host"
    assert services["coturn"]["init"] is True  # turnserver ignores SIGTERM as PID 1
    assert "ports" not in services["coturn"]


@pytest.mark.parametrize("proxy", PROXIES)
def test_only_the_proxy_publishes_ports_and_monitoring_stays_on_loopback(proxy: str) -> None:
    ctx = context_for(
        answers_for(
            proxy=proxy,
            calls__turn=True,
            monitoring__prometheus=True,
            monitoring__grafana=True,
        )
    )
    services = services_of(ctx)
    assert services[proxy]["ports"] == ["80:80", "443:443", "8448:8448"]
    assert services["prometheus"]["ports"] == ["127.0.0.1:9090:9090"]
    assert services["grafana"]["ports"] == ["127.0.0.1:3000:3000"]
    public = {
        name
        for name, service in services.items()
        if any(not str(port).startswith("127.0.0.1:") for port in service.get("ports", []))
    }
    assert public == {proxy}


def test_published_ports_follow_the_answers() -> None:
    ctx = context_for(
        answers_for(
            deployment__ports__http=8080,
            deployment__ports__https=8443,
            proxy__federation_port=443,
        )
    )
    assert services_of(ctx)["nginx"]["ports"] == ["8080:8080", "8443:8443"]


def test_no_secret_is_written_into_the_compose_file() -> None:
    ctx = context_for(
        answers_for(calls__turn=True, monitoring__prometheus=True, monitoring__grafana=True)
    )
    text = compose.render(ctx)[compose.COMPOSE_FILE].text
    for value in FIXED_SECRETS.values():
        assert value not in text


def test_passwords_go_to_private_env_files() -> None:
    ctx = context_for(answers_for(monitoring__prometheus=True, monitoring__grafana=True))
    files = compose.render(ctx)
    postgres_env = files[compose.POSTGRES_ENV]
    grafana_env = files[compose.GRAFANA_ENV]
    assert postgres_env.mode == PRIVATE
    assert grafana_env.mode == PRIVATE
    assert f"POSTGRES_PASSWORD={FIXED_SECRETS.postgres_superuser_password}\n" == postgres_env.text
    assert f"GF_SECURITY_ADMIN_PASSWORD={FIXED_SECRETS.grafana_admin_password}" in (
        grafana_env.text
    )
    services = services_of(ctx)
    assert services["postgres"]["env_file"] == [f"{ctx.install_dir}/{compose.POSTGRES_ENV}"]
    assert services["grafana"]["env_file"] == [f"{ctx.install_dir}/{compose.GRAFANA_ENV}"]


def test_synapse_runs_as_991_from_its_read_only_config_after_postgres_is_healthy() -> None:
    ctx = context_for(answers_for("synapse", database="postgresql"))
    synapse = services_of(ctx)["synapse"]
    assert synapse["user"] == "991:991"
    assert synapse["environment"] == {"SYNAPSE_CONFIG_PATH": "/config/homeserver.yaml"}
    assert "/opt/matrix-wizard/synapse:/config:ro" in synapse["volumes"]
    assert "/var/lib/matrix-wizard/synapse:/data" in synapse["volumes"]
    assert "/var/lib/matrix-wizard/media:/media" in synapse["volumes"]
    assert synapse["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert "localhost:8008/health" in synapse["healthcheck"]["test"][1]


def test_an_external_database_gets_no_postgres_service() -> None:
    ctx = context_for(
        answers_for("synapse", database="postgresql", database__host="db.example.org")
    )
    services = services_of(ctx)
    assert "postgres" not in services
    assert "depends_on" not in services["synapse"]
    assert compose.POSTGRES_ENV not in compose.render(ctx)


@pytest.mark.parametrize(("mode", "flagged"), [("closed", False), ("open", True)])
def test_dendrite_gets_its_config_and_the_registration_flag_only_when_it_registers(
    mode: str, flagged: bool
) -> None:
    ctx = context_for(answers_for("dendrite", registration__mode=mode))
    command = services_of(ctx)["dendrite"]["command"]
    assert command[:2] == ["--config", "/config/dendrite.yaml"]
    assert command[2:4] == ["--http-bind-address", "0.0.0.0:8008"]
    assert ("-really-enable-open-registration" in command) is flagged


@pytest.mark.parametrize("homeserver", ["conduit", "continuwuity", "tuwunel"])
def test_the_conduit_family_reads_the_config_named_in_its_environment(homeserver: str) -> None:
    ctx = context_for(answers_for(homeserver))
    service = services_of(ctx)[homeserver]
    assert service["environment"] == conduit.environment(ctx)
    assert list(service["environment"].values()) == [f"/config/{homeserver}.toml"]
    assert (
        service["image"]
        == {
            "conduit": f"matrixconduit/matrix-conduit:v{versions.CONDUIT_VERSION}",
            "continuwuity": f"ghcr.io/continuwuity/continuwuity:v{versions.CONTINUWUITY_VERSION}",
            "tuwunel": f"ghcr.io/matrix-construct/tuwunel:v{versions.TUWUNEL_VERSION}",
        }[homeserver]
    )
    assert "ports" not in service  # the proxy is the only way in
    volumes = service["volumes"]
    assert f"/opt/matrix-wizard/{homeserver}:/config:ro" in volumes
    assert f"/var/lib/matrix-wizard/{homeserver}:/data" in volumes
    if homeserver != "conduit":  # media stays in the data folder, with the database
        assert not any(volume.endswith(":/media") for volume in volumes)


def test_postgres_is_created_with_c_locale_its_config_and_a_readiness_check() -> None:
    ctx = context_for(
        answers_for("synapse", database="postgresql", deployment__ports__postgres=6543)
    )
    postgres = services_of(ctx)["postgres"]
    major = int(postgres["image"].split(":")[1].split(".")[0])
    assert 14 <= major < 18
    assert postgres["environment"] == {
        "POSTGRES_USER": "postgres",
        "POSTGRES_INITDB_ARGS": "--encoding=UTF-8 --lc-collate=C --lc-ctype=C",
    }
    assert "config_file=/etc/postgresql/postgresql.conf" in postgres["command"]
    assert "port=6543" in postgres["command"]
    assert "pg_isready -q -h 127.0.0.1 -p 6543 -U postgres" in postgres["healthcheck"]["test"][1]
    assert "ports" not in postgres
    mounts = postgres["volumes"]
    assert "/var/lib/matrix-wizard/postgres:/var/lib/postgresql/data" in mounts
    assert "/opt/matrix-wizard/postgres/init.sql:/docker-entrypoint-initdb.d/init.sql:ro" in mounts


def test_the_homeserver_role_is_not_the_clusters_superuser() -> None:
    """POSTGRES_USER made the homeserver's role the superuser; init.sql makes it a plain owner."""
    ctx = context_for(answers_for("synapse", database="postgresql"))
    postgres = services_of(ctx)["postgres"]
    files = compose.render(ctx)
    assert postgres["environment"]["POSTGRES_USER"] != ctx.answers.database.user
    assert "POSTGRES_DB" not in postgres["environment"]
    assert FIXED_SECRETS.database_password not in files[compose.POSTGRES_ENV].text
    assert FIXED_SECRETS.postgres_superuser_password in files[compose.POSTGRES_ENV].text


@pytest.mark.parametrize(("ram_gib", "expected"), [(1, "256m"), (8, "512m"), (64, "1024m")])
def test_postgres_gets_shared_memory_sized_from_its_ram(ram_gib: float, expected: str) -> None:
    ctx = context_for(answers_for("synapse", database="postgresql"), facts_with(ram_gib=ram_gib))
    assert services_of(ctx)["postgres"]["shm_size"] == expected


def test_traefik_gets_a_static_server_for_well_known_with_json_headers() -> None:
    ctx = context_for(answers_for(proxy="traefik"))
    files = compose.render(ctx)
    conf = files[compose.WELLKNOWN_CONF].text
    assert "default_type application/json;" in conf
    assert f"listen {compose.WELLKNOWN_PORT};" in conf
    assert "Access-Control-Allow-Origin" in conf
    wellknown = services_of(ctx)["wellknown"]
    assert f"{ctx.install_dir}/well-known:/srv/well-known:ro" in wellknown["volumes"]
    assert compose.WELLKNOWN_CONF not in compose.render(context_for(answers_for(proxy="nginx")))


def test_nginx_with_acme_reads_certbot_certificates_and_files_mode_reads_the_given_files() -> None:
    acme = services_of(context_for(answers_for(proxy="nginx")))["nginx"]
    assert "/etc/letsencrypt:/etc/letsencrypt:ro" in acme["volumes"]
    files = services_of(
        context_for(
            answers_for(
                proxy="caddy",
                proxy__tls="files",
                proxy__cert_path="/etc/ssl/matrix.pem",
                proxy__key_path="/etc/ssl/matrix.key",
            )
        )
    )["caddy"]
    assert "/etc/ssl/matrix.pem:/etc/ssl/matrix.pem:ro" in files["volumes"]
    assert "/etc/ssl/matrix.key:/etc/ssl/matrix.key:ro" in files["volumes"]


def test_a_staging_prefix_moves_every_host_path() -> None:
    ctx = context_for(answers_for(deployment__prefix="/srv/stage", calls__turn=True))
    for name, service in services_of(ctx).items():
        for volume in service.get("volumes", []):
            assert volume.startswith("/srv/stage/"), (name, volume)


def test_synapse_workers_each_get_a_service_and_redis() -> None:
    ctx = context_for(
        answers_for(
            "synapse",
            database="postgresql",
            homeserver__workers=True,
            homeserver__tier="production",
        )
    )
    services = services_of(ctx)
    assert {"synapse-sync1", "synapse-event-persister1", "redis"} <= set(services)
    worker = services["synapse-sync1"]
    assert "--config-path=/config/workers/sync1.yaml" in worker["command"]
    assert "ports" not in services["redis"]


@pytest.mark.parametrize("proxy", ["nginx", "caddy", "traefik"])
def test_the_proxy_starts_after_the_workers_it_routes_to(proxy: str) -> None:
    ctx = context_for(answers_for(database="postgresql", proxy=proxy, homeserver__workers=True))
    depends = services_of(ctx)[proxy]["depends_on"]
    routed = {"synapse-sync1", "synapse-client-reader1", "synapse-federation-reader1"}
    assert routed | {"synapse-media1", "synapse"} <= set(depends)
    assert not {"synapse-event-persister1", "synapse-federation-sender1", "synapse-tasks1"} & set(
        depends
    )
    assert {condition["condition"] for condition in depends.values()} == {"service_started"}


def test_rendering_is_deterministic() -> None:
    answers = answers_for(calls__turn=True, monitoring__prometheus=True, monitoring__grafana=True)
    assert compose.render(context_for(answers)) == compose.render(context_for(answers))


def test_a_password_spanning_lines_is_refused_with_a_hint() -> None:
    secrets = FIXED_SECRETS.model_copy(update={"postgres_superuser_password": "two\nlines"})
    ctx = RenderContext(answers=answers_for(), facts=None, secrets=Secrets(**secrets.model_dump()))
    with pytest.raises(WizardError, match=r"secrets\.yaml"):
        compose.render(ctx)


@pytest.mark.parametrize(
    ("proxy", "reads"),
    [
        ("nginx", {"nginx": ["nginx/matrix.conf", "well-known"]}),
        ("caddy", {"caddy": ["caddy/Caddyfile", "well-known"]}),
        (
            "traefik",
            {
                "traefik": ["traefik/traefik.yml", "traefik/dynamic.yml"],
                "wellknown": [compose.WELLKNOWN_CONF, "well-known"],
            },
        ),
    ],
)
def test_on_sqlite_the_homeserver_reads_its_config_folder_and_the_proxy_its_files(
    proxy: str, reads: dict[str, list[str]]
) -> None:
    ctx = context_for(answers_for("synapse", database="sqlite", proxy=proxy))
    assert compose.service_files(ctx) == {"synapse": ["synapse"], **reads}


def test_bundled_postgres_reads_its_config_and_init_script_and_not_its_cluster() -> None:
    ctx = context_for(answers_for("dendrite", database="postgresql"))
    files = compose.service_files(ctx)
    assert files["dendrite"] == ["dendrite"]
    assert files["postgres"] == ["postgres/postgresql.conf", "postgres/init.sql"]


def test_turn_and_monitoring_read_their_configs_and_not_their_state() -> None:
    ctx = context_for(
        answers_for(calls__turn=True, monitoring__prometheus=True, monitoring__grafana=True)
    )
    assert calls.turn_tls(ctx)
    files = compose.service_files(ctx)
    assert files["coturn"] == [calls.TURN_CONFIG]
    assert files["prometheus"] == [monitoring.PROMETHEUS_CONFIG]
    assert files["grafana"] == ["grafana/provisioning", "grafana/dashboards"]


def test_synapse_workers_read_the_synapse_folder_and_redis_reads_nothing() -> None:
    ctx = context_for(
        answers_for(
            "synapse",
            database="postgresql",
            homeserver__workers=True,
            homeserver__tier="production",
        )
    )
    files = compose.service_files(ctx)
    assert files["synapse-sync1"] == files["synapse-tasks1"] == ["synapse"]
    assert "redis" not in files


def test_state_inside_the_install_folder_is_not_a_file_a_service_reads() -> None:
    ctx = context_for(
        answers_for(
            database="sqlite",
            proxy="caddy",
            deployment__prefix="/srv/stage",
            deployment__data_dir="/opt/matrix-wizard/state",
            media__path="/opt/matrix-wizard/media",
        )
    )
    assert compose.service_files(ctx) == {
        "synapse": ["synapse"],
        "caddy": ["caddy/Caddyfile", "well-known"],
    }


@pytest.mark.parametrize("homeserver", HOMESERVERS)
@pytest.mark.parametrize("proxy", PROXIES)
def test_every_file_a_service_reads_is_in_the_bundle_or_a_folder_apply_makes(
    homeserver: str, proxy: str
) -> None:
    ctx = _everything(homeserver, proxy)
    written = render(ctx.answers, None, FIXED_SECRETS)
    made = {folder.path for folder in layout.folders(ctx, turn_tls=calls.turn_tls(ctx))}
    for name, paths in compose.service_files(ctx).items():
        for path in paths:
            in_bundle = path in written or any(file.startswith(f"{path}/") for file in written)
            assert in_bundle or f"{ctx.install_dir}/{path}" in made, (name, path)


def _everything(homeserver: str, proxy: str) -> RenderContext:
    database = "rocksdb" if homeserver in CONDUIT_FAMILY else "postgresql"
    sets: dict[str, Any] = {
        "calls__turn": True,
        "monitoring__prometheus": True,
        "monitoring__grafana": True,
    }
    if homeserver == "synapse":
        sets["homeserver__workers"] = True
    return context_for(answers_for(homeserver, database=database, proxy=proxy, **sets))


EXACT_TAG = re.compile(r":v?\d+\.\d+\.\d+(-[a-z0-9.]+)*$")
# PostgreSQL numbers its releases major.minor since version 10: 16.9 is one exact release.
EXACT_POSTGRES_TAG = re.compile(r"^postgres:\d+\.\d+$")


@pytest.mark.parametrize("homeserver", HOMESERVERS)
@pytest.mark.parametrize("proxy", PROXIES)
def test_every_image_names_an_exact_release(homeserver: str, proxy: str) -> None:
    for name, service in services_of(_everything(homeserver, proxy)).items():
        pattern = EXACT_POSTGRES_TAG if name == "postgres" else EXACT_TAG
        assert pattern.search(service["image"]), f"{name}: {service['image']} floats"


@pytest.mark.parametrize("homeserver", HOMESERVERS)
@pytest.mark.parametrize("proxy", PROXIES)
def test_every_long_running_service_has_a_healthcheck(homeserver: str, proxy: str) -> None:
    # The Conduit family's images hold no shell or client, and a Synapse worker has no HTTP
    # listener.
    without = {*CONDUIT_FAMILY, "synapse-worker1", "synapse-worker2"}
    for name, service in services_of(_everything(homeserver, proxy)).items():
        if name in without:
            continue
        check = service.get("healthcheck", {})
        assert check.get("test", [None])[0] == "CMD-SHELL", f"{name} has no healthcheck"
