"""systemd units: each service's command, user and folders, parsed back from the unit files."""

import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.bundle_support import HOMESERVERS, answers_for, context_for
from tests.e2e.support import unit_command, unit_entries
from wizard.bundle import layout, native, synapse_workers, systemd, traefik, versions
from wizard.bundle.context import RenderContext
from wizard.bundle.model import PRIVATE, PUBLIC
from wizard.bundle.render import render
from wizard.errors import WizardError

LIVE = "/etc/letsencrypt/live/matrix.example.com"


def _native(**sets: Any) -> RenderContext:
    return context_for(answers_for(deployment__kind="native", **sets))


def _written(ctx: RenderContext, folder: Path) -> dict[str, Path]:
    paths = {}
    for relative, file in systemd.render(ctx).items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(file.text, encoding="utf-8")
        paths[relative] = target
    return paths


def _settings(path: Path, key: str) -> list[str]:
    return [value for _, name, value in unit_entries(path) if name == key]


def test_compose_bundles_have_no_units() -> None:
    assert systemd.render(context_for(answers_for())) == {}


def test_synapse_runs_from_its_venv_as_its_user_after_postgresql(tmp_path: Path) -> None:
    ctx = _native(database="postgresql")
    unit = _written(ctx, tmp_path)["systemd/matrix-synapse.service"]
    command = unit_command(unit)
    venv = native.synapse_venv(ctx)
    assert command.argv == [
        f"{venv}/bin/python",
        "-m",
        "synapse.app.homeserver",
        "--config-path=/opt/matrix-wizard/synapse/homeserver.yaml",
    ]
    assert command.cwd == "/var/lib/matrix-wizard/synapse"
    assert _settings(unit, "User") == ["matrix-synapse"]
    assert _settings(unit, "Type") == ["notify"]
    assert "postgresql.service" in _settings(unit, "After")[0].split()
    writable = _settings(unit, "ReadWritePaths")[0].split()
    assert writable == ["/var/lib/matrix-wizard/synapse", "/var/lib/matrix-wizard/media"]
    assert _settings(unit, "ProtectSystem") == ["strict"]
    assert _settings(unit, "WantedBy") == ["multi-user.target"]


def test_synapse_on_sqlite_waits_for_no_database(tmp_path: Path) -> None:
    unit = _written(_native(database="sqlite"), tmp_path)["systemd/matrix-synapse.service"]
    assert "postgresql.service" not in _settings(unit, "After")[0]


@pytest.mark.parametrize(("mode", "flag"), [("closed", False), ("open", True)])
def test_dendrite_binds_loopback_with_its_config(tmp_path: Path, mode: str, flag: bool) -> None:
    ctx = _native(homeserver="dendrite", registration__mode=mode)
    unit = _written(ctx, tmp_path)["systemd/dendrite.service"]
    argv = unit_command(unit).argv
    assert argv[0] == "/usr/local/bin/dendrite"
    assert argv[1:5] == [
        "--config",
        "/opt/matrix-wizard/dendrite/dendrite.yaml",
        "--http-bind-address",
        "127.0.0.1:8008",
    ]
    assert ("-really-enable-open-registration" in argv) is flag
    assert _settings(unit, "LimitNOFILE") == ["65535"]


@pytest.mark.parametrize(
    ("homeserver", "unit_name", "variable", "release"),
    [
        ("conduit", "matrix-conduit", "CONDUIT_CONFIG", f"Conduit {versions.CONDUIT_VERSION}"),
        (
            "continuwuity",
            "continuwuity",
            "CONTINUWUITY_CONFIG",
            f"Continuwuity {versions.CONTINUWUITY_VERSION}",
        ),
        ("tuwunel", "tuwunel", "TUWUNEL_CONFIG", f"Tuwunel {versions.TUWUNEL_VERSION}"),
    ],
)
def test_the_conduit_family_finds_its_config_through_the_environment(
    tmp_path: Path, homeserver: str, unit_name: str, variable: str, release: str
) -> None:
    unit = _written(_native(homeserver=homeserver), tmp_path)[f"systemd/{unit_name}.service"]
    command = unit_command(unit)
    assert command.argv == [f"/usr/local/bin/{unit_name}"]
    assert command.env == {variable: f"/opt/matrix-wizard/{homeserver}/{homeserver}.toml"}
    assert command.cwd == f"/var/lib/matrix-wizard/{homeserver}"
    assert _settings(unit, "User") == [unit_name]
    assert _settings(unit, "Description")[0].startswith(release)
    writable = _settings(unit, "ReadWritePaths")[0].split()
    if homeserver == "conduit":
        assert writable == ["/var/lib/matrix-wizard/conduit", "/var/lib/matrix-wizard/media"]
    else:  # media is in the data folder
        assert writable == [f"/var/lib/matrix-wizard/{homeserver}"]


def test_traefik_and_its_well_known_server_agree_on_the_port(tmp_path: Path) -> None:
    ctx = _native(proxy="traefik", deployment__ports={"wellknown": 18090})
    units = _written(ctx, tmp_path)
    served = unit_command(units["systemd/matrix-wellknown.service"]).argv
    assert served == [
        "/usr/bin/python3",
        *("-m", "http.server", "--bind", "127.0.0.1"),
        *("--directory", "/opt/matrix-wizard/well-known", "18090"),
    ]
    assert _settings(units["systemd/matrix-wellknown.service"], "DynamicUser") == ["yes"]
    dynamic = yaml.safe_load(traefik.render(ctx)[traefik.DYNAMIC_PATH].text)
    servers = dynamic["http"]["services"]["wellknown"]["loadBalancer"]["servers"]
    assert servers == [{"url": "http://127.0.0.1:18090"}]
    proxy = units["systemd/traefik.service"]
    assert unit_command(proxy).argv == [
        "/usr/local/bin/traefik",
        "--configFile=/opt/matrix-wizard/traefik/traefik.yml",
    ]
    assert _settings(proxy, "User") == ["traefik"]
    assert _settings(proxy, "AmbientCapabilities") == ["CAP_NET_BIND_SERVICE"]
    assert "matrix-wellknown.service" in _settings(proxy, "Wants")[0]


def test_drop_ins_replace_the_packaged_command(tmp_path: Path) -> None:
    ctx = _native(
        proxy="caddy",
        calls__turn=True,
        monitoring__prometheus=True,
        deployment__ports={"prometheus": 19090},
    )
    units = _written(ctx, tmp_path)
    for name in ("caddy", "coturn", "prometheus"):
        drop_in = units[f"systemd/{name}.service.d/matrix-wizard.conf"]
        starts = _settings(drop_in, "ExecStart")
        assert starts[0] == "", f"{name}: the packaged ExecStart must be reset first"
        assert len(starts) == 2
    caddy = unit_command(units["systemd/caddy.service.d/matrix-wizard.conf"])
    assert caddy.argv[:2] == ["/usr/bin/caddy", "run"]
    assert "/opt/matrix-wizard/caddy/Caddyfile" in caddy.argv
    assert caddy.env["XDG_DATA_HOME"] == "/var/lib/matrix-wizard/caddy/data"
    coturn = unit_command(units["systemd/coturn.service.d/matrix-wizard.conf"]).argv
    assert coturn == [
        "/usr/bin/turnserver",
        *("-c", "/opt/matrix-wizard/coturn/turnserver.conf"),
        "--pidfile=",
        "--userdb=/var/lib/matrix-wizard/coturn/turndb",
    ]
    prometheus = unit_command(units["systemd/prometheus.service.d/matrix-wizard.conf"]).argv
    assert "--web.listen-address=127.0.0.1:19090" in prometheus
    assert "--storage.tsdb.path=/var/lib/matrix-wizard/prometheus" in prometheus


def test_grafana_reads_its_password_from_the_private_env_file(tmp_path: Path) -> None:
    ctx = _native(monitoring__prometheus=True, monitoring__grafana=True)
    files = systemd.render(ctx)
    assert files["grafana/grafana.env"].mode == PRIVATE
    drop_in = _written(ctx, tmp_path)["systemd/grafana-server.service.d/matrix-wizard.conf"]
    assert _settings(drop_in, "EnvironmentFile") == ["/opt/matrix-wizard/grafana/grafana.env"]
    assert ctx.secrets.grafana_admin_password not in drop_in.read_text()
    assert "GF_SERVER_HTTP_ADDR=127.0.0.1" in _settings(drop_in, "Environment")


def test_units_are_public_and_hold_no_secret() -> None:
    ctx = _native(
        database="postgresql", calls__turn=True, monitoring__prometheus=True, proxy="caddy"
    )
    for path, file in systemd.render(ctx).items():
        if path.startswith("systemd/"):
            assert file.mode == PUBLIC
            for secret in ctx.secrets.values():
                assert secret not in file.text, path


def test_services_start_in_order_the_homeserver_first() -> None:
    ctx = _native(proxy="traefik", calls__turn=True, monitoring__prometheus=True)
    assert systemd.start_order(ctx) == [
        "matrix-synapse",
        "matrix-wellknown",
        "traefik",
        "coturn",
        "prometheus",
    ]


@pytest.mark.parametrize(
    "argument", ["plain/path", "with space", 'a "quote"', "100%", "$HOME", "back\\slash", ""]
)
def test_exec_arguments_read_back_as_written(argument: str) -> None:
    line = systemd.exec_line(["/bin/echo", argument])
    words = [word.replace("%%", "%").replace("$$", "$") for word in shlex.split(line)]
    assert words == ["/bin/echo", argument]
    assert "$HOME" not in line.replace("$$HOME", "")  # never expanded by systemd


def test_a_line_break_cannot_reach_a_unit() -> None:
    with pytest.raises(WizardError, match="line break"):
        systemd.exec_line(["/bin/echo", "two\nlines"])
    with pytest.raises(WizardError, match="line break"):
        systemd.environment("NAME", "a\nb")


@pytest.mark.parametrize("homeserver", HOMESERVERS)
def test_the_homeserver_has_no_capability_and_only_ip_and_unix_sockets(
    tmp_path: Path, homeserver: str
) -> None:
    paths = _written(_native(homeserver=homeserver), tmp_path)
    unit = paths[systemd.unit_path(layout.systemd_unit(homeserver))]
    assert _settings(unit, "CapabilityBoundingSet") == [""]
    assert _settings(unit, "AmbientCapabilities") == [""]
    assert _settings(unit, "RestrictAddressFamilies") == ["AF_UNIX AF_INET AF_INET6"]
    assert _settings(unit, "SystemCallFilter") == ["@system-service", "~@privileged"]
    assert _settings(unit, "UMask") == ["0077"]
    assert _settings(unit, "RestrictNamespaces") == ["yes"]


def test_traefik_may_bind_only_low_ports(tmp_path: Path) -> None:
    paths = _written(_native(proxy="traefik"), tmp_path)
    unit = paths["systemd/traefik.service"]
    assert _settings(unit, "CapabilityBoundingSet") == ["CAP_NET_BIND_SERVICE"]
    assert _settings(unit, "AmbientCapabilities") == ["CAP_NET_BIND_SERVICE"]


@pytest.mark.parametrize(("turn_port", "capability"), [(3478, ""), (853, "CAP_NET_BIND_SERVICE")])
def test_coturn_is_sandboxed_and_binds_a_low_port_only_when_one_is_chosen(
    tmp_path: Path, turn_port: int, capability: str
) -> None:
    ctx = _native(calls__turn=True, deployment__ports__turn=turn_port)
    drop_in = _written(ctx, tmp_path)[systemd.drop_in_path("coturn")]
    assert _settings(drop_in, "CapabilityBoundingSet") == [capability]
    assert _settings(drop_in, "ProtectSystem") == ["strict"]
    assert "AF_NETLINK" in _settings(drop_in, "RestrictAddressFamilies")[0]
    assert _settings(drop_in, "ReadWritePaths") != []


@pytest.mark.parametrize(
    ("sets", "expected"),
    [
        (
            {"calls__turn": True, "monitoring__prometheus": True, "monitoring__grafana": True},
            {
                "matrix-synapse": ["synapse", "systemd/matrix-synapse.service"],
                "nginx": ["nginx/matrix.conf", f"{LIVE}/fullchain.pem", f"{LIVE}/privkey.pem"],
                "coturn": [
                    "coturn",
                    "systemd/coturn.service.d/matrix-wizard.conf",
                    "/var/lib/matrix-wizard/coturn/fullchain.pem",  # the copies of the certificate
                    "/var/lib/matrix-wizard/coturn/privkey.pem",
                ],
                "prometheus": ["prometheus", "systemd/prometheus.service.d/matrix-wizard.conf"],
                "grafana-server": [
                    "grafana",
                    "systemd/grafana-server.service.d/matrix-wizard.conf",
                ],
            },
        ),
        (
            {"homeserver": "dendrite", "proxy": "traefik"},
            {
                "dendrite": ["dendrite", "systemd/dendrite.service"],
                "matrix-wellknown": ["well-known", "systemd/matrix-wellknown.service"],
                "traefik": ["traefik", "systemd/traefik.service"],
            },
        ),
        (
            {"homeserver": "conduit", "proxy": "caddy"},
            {
                "matrix-conduit": ["conduit", "systemd/matrix-conduit.service"],
                "caddy": ["caddy", "systemd/caddy.service.d/matrix-wizard.conf"],
            },
        ),
        (
            {"homeserver": "tuwunel", "proxy": "traefik"},
            {
                "tuwunel": ["tuwunel", "systemd/tuwunel.service"],
                "matrix-wellknown": ["well-known", "systemd/matrix-wellknown.service"],
                "traefik": ["traefik", "systemd/traefik.service"],
            },
        ),
    ],
)
def test_each_unit_reads_its_own_unit_and_bundle_folder(
    sets: dict[str, Any], expected: dict[str, list[str]]
) -> None:
    ctx = _native(**sets)
    found = systemd.service_files(ctx)
    assert found == expected
    assert list(found) == systemd.start_order(ctx)
    bundle = render(ctx.answers, None, ctx.secrets)
    for paths in found.values():
        for path in paths:
            if path.startswith("/"):  # the host's own file, a certificate
                continue
            assert any(file == path or file.startswith(f"{path}/") for file in bundle), path


def test_the_files_a_unit_reads_leave_out_its_state_even_inside_the_install_folder() -> None:
    ctx = _native(
        calls__turn=True,
        deployment__install_dir="/srv/matrix",
        deployment__data_dir="/srv/matrix/state",
    )
    assert systemd.service_files(ctx)["coturn"] == [
        "coturn",
        "systemd/coturn.service.d/matrix-wizard.conf",
        # Of its data folder, only the copies of the certificate: coturn keeps state beside them.
        "/srv/matrix/state/coturn/fullchain.pem",
        "/srv/matrix/state/coturn/privkey.pem",
    ]


def test_a_certificate_from_files_is_read_where_the_answers_put_it() -> None:
    ctx = _native(
        proxy__tls="files",
        proxy__cert_path="/etc/ssl/matrix/fullchain.pem",
        proxy__key_path="/etc/ssl/matrix/privkey.pem",
    )
    assert systemd.service_files(ctx)["nginx"] == [
        "nginx/matrix.conf",
        "/etc/ssl/matrix/fullchain.pem",
        "/etc/ssl/matrix/privkey.pem",
    ]


def test_the_files_a_unit_reads_follow_a_staging_prefix() -> None:
    ctx = _native(proxy="caddy", deployment__prefix="/tmp/staged")
    assert systemd.service_files(ctx)["caddy"] == [
        "caddy",
        "systemd/caddy.service.d/matrix-wizard.conf",
    ]


@pytest.mark.parametrize(
    ("sets", "unit", "version", "said"),
    [
        ({}, "matrix-synapse", "SYNAPSE_VERSION", "Synapse 9.9.9 Matrix homeserver"),
        (
            {
                "media__backend": "s3",
                "media__s3": {"bucket": "media", "access_key_id": "AKIAEXAMPLE"},
            },
            "matrix-synapse",
            "S3_STORAGE_PROVIDER_VERSION",
            "with the S3 storage provider 9.9.9",
        ),
        ({"homeserver": "dendrite"}, "dendrite", "DENDRITE_VERSION", "Dendrite 9.9.9"),
        ({"proxy": "traefik"}, "traefik", "TRAEFIK_VERSION", "Traefik 9.9.9 in front"),
    ],
    ids=["synapse", "s3-provider", "dendrite", "traefik"],
)
def test_a_unit_names_its_release_so_a_new_one_changes_the_file_and_restarts_it(
    sets: dict[str, Any], unit: str, version: str, said: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = _native(**sets)
    path = systemd.unit_path(unit)
    before = systemd.render(ctx)[path].text
    monkeypatch.setattr(versions, version, "9.9.9")
    after = systemd.render(ctx)[path].text
    assert said in after
    assert after != before


WORKERS = {"homeserver__workers": True, "database": "postgresql"}
TEMPLATE = "systemd/matrix-synapse-worker@.service"
# The settings of the main unit a worker's differ in; it shares every other one.
OWN_SETTINGS = {"Description", "After", "Wants", "ExecStart", "SyslogIdentifier", "Restart"}


def test_workers_run_from_the_venv_under_a_template_named_by_the_worker(tmp_path: Path) -> None:
    ctx = _native(**WORKERS)
    unit = _written(ctx, tmp_path)[TEMPLATE]
    command = unit_command(unit)
    assert command.argv == [
        f"{native.synapse_venv(ctx)}/bin/python",
        *("-m", "synapse.app.generic_worker"),
        "--config-path=/opt/matrix-wizard/synapse/homeserver.yaml",
        "--config-path=/opt/matrix-wizard/synapse/workers/%i.yaml",
    ]
    assert systemd.worker_argv(ctx, "sync1")[-1] == "--config-path=" + (
        systemd.worker_config_path(ctx, "sync1")
    )
    assert command.cwd == "/var/lib/matrix-wizard/synapse"
    assert _settings(unit, "AssertPathExists") == ["/opt/matrix-wizard/synapse/workers/%i.yaml"]
    assert _settings(unit, "Description")[0].endswith(": %i")
    assert _settings(unit, "User") == ["matrix-synapse"]
    assert _settings(unit, "SyslogIdentifier") == ["matrix-synapse-%i"]


def test_a_worker_notifies_restarts_always_and_follows_the_main_process_and_redis(
    tmp_path: Path,
) -> None:
    unit = _written(_native(**WORKERS), tmp_path)[TEMPLATE]
    assert _settings(unit, "Type") == ["notify"]
    assert _settings(unit, "NotifyAccess") == ["main"]
    assert _settings(unit, "Restart") == ["always"]
    needs = ["matrix-synapse.service", "redis-server.service"]
    assert _settings(unit, "After")[0].split() == needs
    assert _settings(unit, "Requires")[0].split() == needs
    assert _settings(unit, "PartOf") == ["matrix-synapse.service"]
    # An enabled worker starts whenever the main process does.
    assert _settings(unit, "WantedBy") == ["matrix-synapse.service"]


def test_a_worker_has_the_main_process_sandbox_and_writable_folders(tmp_path: Path) -> None:
    units = _written(_native(**WORKERS), tmp_path)
    main = unit_entries(units["systemd/matrix-synapse.service"])
    worker = unit_entries(units[TEMPLATE])
    shared = {key for section, key, _ in main if section == "Service"} - OWN_SETTINGS
    assert "ReadWritePaths" in shared
    assert [entry for entry in main if entry[1] in shared] == [
        entry for entry in worker if entry[1] in shared
    ]


def test_the_main_process_wants_redis_only_when_workers_run(tmp_path: Path) -> None:
    with_workers = _written(_native(**WORKERS), tmp_path / "on")["systemd/matrix-synapse.service"]
    assert "redis-server.service" in _settings(with_workers, "Wants")[0].split()
    assert "redis-server.service" in _settings(with_workers, "After")[0].split()
    alone = _written(_native(database="postgresql"), tmp_path / "off")
    assert "redis-server" not in alone["systemd/matrix-synapse.service"].read_text()
    assert TEMPLATE not in alone


def test_each_worker_reads_the_synapse_folder_and_the_template_unit() -> None:
    ctx = _native(**WORKERS)
    found = systemd.service_files(ctx)
    names = [worker.name for worker in synapse_workers.workers(ctx)]
    assert systemd.worker_units(ctx) == [f"matrix-synapse-worker@{name}" for name in names]
    assert list(found) == [*systemd.start_order(ctx), *systemd.worker_units(ctx)]
    for unit in systemd.worker_units(ctx):
        assert found[unit] == ["synapse", TEMPLATE]
    assert "redis-server" not in found  # apply.sh starts the packaged Redis before them


def test_the_worker_template_follows_a_staging_prefix() -> None:
    ctx = _native(deployment__prefix="/tmp/staged", **WORKERS)
    text = {unit.path: unit.text() for unit in systemd.unit_files(ctx)}[TEMPLATE]
    assert "AssertPathExists=/tmp/staged/opt/matrix-wizard/synapse/workers/%i.yaml" in text
    assert "/tmp/staged/opt/venvs/matrix-synapse/bin/python -m synapse.app.generic_worker" in text
