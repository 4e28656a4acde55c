"""systemd units for a deployment without containers, written from data.

The bundle writes full units for what it installs itself (the homeserver, the template unit of
Synapse's workers, Traefik and the well-known server Traefik needs) and drop-ins that point the
distribution's own units (Caddy, coturn, Prometheus, Grafana) at the bundle's files. apply.sh
copies them all into /etc/systemd/system; nginx and PostgreSQL read the bundle's files from
their conf.d folders, and Redis, for the workers, runs as packaged.
"""

import re
from dataclasses import dataclass

from wizard.answers.model import Homeserver, ProxyKind
from wizard.bundle import (
    calls,
    certificates,
    compose,
    conduit,
    conduit_family,
    layout,
    mas,
    matrix_rtc,
    media,
    monitoring,
    native,
    nginx,
    synapse_workers,
    versions,
)
from wizard.bundle.context import WELLKNOWN_SERVICE, RenderContext
from wizard.bundle.model import Bundle, File
from wizard.errors import WizardError

UNIT_FOLDER = "systemd"
DROP_IN_NAME = "matrix-wizard.conf"
SYSTEM_UNIT_DIR = "/etc/systemd/system"
# Programs the distribution packages install; a staging prefix does not move them.
CADDY_PROGRAM = "/usr/bin/caddy"
TURNSERVER_PROGRAM = "/usr/bin/turnserver"
PROMETHEUS_PROGRAM = "/usr/bin/prometheus"
KILL_PROGRAM = "/bin/kill"
DENDRITE_OPEN_FILES = 65535

# Arguments that need no quoting in an Exec line; anything else is double-quoted.
_PLAIN_ARGUMENT = re.compile(r"^[A-Za-z0-9._+/:@=,-]+$")
# The sandbox of Synapse's contrib/systemd/override-hardened.conf, for every service the
# bundle runs: no devices, a read-only system, no kernel or clock changes, no new namespaces,
# only the system calls of an ordinary service (a refused one fails with EPERM, not a kill).
_HARDENING = (
    ("NoNewPrivileges", "yes"),
    ("PrivateTmp", "yes"),
    ("PrivateDevices", "yes"),
    ("ProtectSystem", "strict"),
    ("ProtectHome", "read-only"),
    ("ProtectKernelTunables", "yes"),
    ("ProtectKernelModules", "yes"),
    ("ProtectKernelLogs", "yes"),
    ("ProtectControlGroups", "yes"),
    ("ProtectClock", "yes"),
    ("ProtectHostname", "yes"),
    ("ProtectProc", "invisible"),
    ("RestrictSUIDSGID", "yes"),
    ("RestrictRealtime", "yes"),
    ("RestrictNamespaces", "yes"),
    ("LockPersonality", "yes"),
    ("RemoveIPC", "yes"),
    ("SystemCallArchitectures", "native"),
    ("SystemCallFilter", "@system-service"),
    ("SystemCallFilter", "~@privileged"),
    ("SystemCallErrorNumber", "EPERM"),
    ("UMask", "0077"),
)
# Sockets a service opens: IP, and Unix for PostgreSQL's socket and systemd's notify socket.
_ADDRESS_FAMILIES = "AF_UNIX AF_INET AF_INET6"
# coturn also lists the host's addresses to listen on all of them, which takes netlink.
_COTURN_ADDRESS_FAMILIES = f"{_ADDRESS_FAMILIES} AF_NETLINK"
BIND_LOW_PORTS = "CAP_NET_BIND_SERVICE"
# The bundle files a packaged unit reads with no drop-in: apply.sh links them into its conf.d.
_LINKED_CONFIG = {layout.systemd_unit(ProxyKind.NGINX.value): nginx.BUNDLE_PATH}
FIRST_UNPRIVILEGED_PORT = 1024
# systemd's specifier for the instance of a template unit: a worker's name in its unit.
INSTANCE = "%i"
# Where the instance goes while a setting is escaped: plain, so it forces no quoting, and no
# path of the answers holds an @.
_INSTANCE_MARK = "@INSTANCE@"

Entry = tuple[str, str]


@dataclass(frozen=True)
class Section:
    """One [Section] of a unit file: its settings in order, keys may repeat."""

    name: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class UnitFile:
    """A unit or drop-in: its path in the bundle, a one-line comment, and its sections."""

    path: str
    comment: str
    sections: tuple[Section, ...]

    def text(self) -> str:
        """Return the file as systemd reads it."""
        lines = [f"# {_one_line(self.comment)}"]
        for section in self.sections:
            lines += ["", f"[{section.name}]"]
            lines += [f"{key}={_one_line(value)}" for key, value in section.entries]
        return "\n".join(lines) + "\n"


def _one_line(value: str) -> str:
    if any(ord(character) < 32 for character in value):
        raise WizardError(
            f"refusing to write {value!r} into a systemd unit: it holds a line break or "
            "control character",
            "use plain paths and names in the answers and generate again",
        )
    return value


def setting(value: str) -> str:
    """Return a value for a unit setting, with systemd's % specifier character escaped."""
    return _one_line(value).replace("%", "%%")


def exec_argument(argument: str) -> str:
    """Return one argument of an Exec line: bare when plain, else double-quoted and escaped."""
    _one_line(argument)
    if _PLAIN_ARGUMENT.match(argument):
        return argument
    escaped = argument.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("%", "%%").replace("$", "$$") + '"'


def exec_line(argv: list[str]) -> str:
    """Return an ExecStart= value that runs exactly argv, no shell and no variables."""
    return " ".join(exec_argument(argument) for argument in argv)


def environment(name: str, value: str) -> str:
    """Return an Environment= value setting one variable, quoted when it holds a space."""
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
        raise WizardError(f"{name!r} is not an environment variable name", "this is a bug")
    assignment = setting(f"{name}={value}")
    if " " in assignment or '"' in assignment or "\\" in assignment:
        return '"' + assignment.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return assignment


def unit_dir(ctx: RenderContext) -> str:
    """Return the host folder apply.sh installs units and drop-ins into."""
    return ctx.host_path(SYSTEM_UNIT_DIR)


def unit_path(unit: str) -> str:
    """Return the bundle path of a full unit the bundle writes."""
    return f"{UNIT_FOLDER}/{unit}.service"


def drop_in_path(unit: str) -> str:
    """Return the bundle path of the drop-in that adjusts a packaged unit."""
    return f"{UNIT_FOLDER}/{unit}.service.d/{DROP_IN_NAME}"


def _install() -> Section:
    return Section("Install", (("WantedBy", "multi-user.target"),))


def _sandbox(capabilities: str = "", families: str = _ADDRESS_FAMILIES) -> list[Entry]:
    """Return the hardening settings with only the capabilities and socket families given."""
    return [
        *_HARDENING,
        ("CapabilityBoundingSet", capabilities),
        ("AmbientCapabilities", capabilities),
        ("RestrictAddressFamilies", families),
    ]


def _read_write_paths(paths: list[str]) -> Entry:
    return ("ReadWritePaths", " ".join(setting(path) for path in dict.fromkeys(paths)))


def homeserver_argv(ctx: RenderContext) -> list[str]:
    """Return the command the homeserver's unit runs."""
    hs = ctx.homeserver
    config = compose.homeserver_config_path(ctx)
    if hs is Homeserver.SYNAPSE:
        python = f"{native.synapse_venv(ctx)}/bin/python"
        return [python, "-m", "synapse.app.homeserver", f"--config-path={config}"]
    program = native.local_program(ctx, native.HOMESERVER_PROGRAMS[hs])
    if hs is Homeserver.DENDRITE:
        return [program, *compose.dendrite_command(ctx)]
    return [program]


def _release(ctx: RenderContext) -> str:
    """Return the homeserver and the release the bundle pins, as its unit's description says.

    The release is named so that a bundle pinning another one changes the unit file, and
    apply.sh then restarts the unit, which runs the release it has just installed.
    """
    hs = ctx.homeserver
    if hs is Homeserver.SYNAPSE:
        release = f"Synapse {versions.SYNAPSE_VERSION}"
        if media.synapse_s3_provider(ctx):
            release += f" with the S3 storage provider {versions.S3_STORAGE_PROVIDER_VERSION}"
        return release
    if hs is Homeserver.DENDRITE:
        return f"Dendrite {versions.DENDRITE_VERSION}"
    member = conduit.member(ctx)
    return f"{member.name} {member.release}"


def _homeserver_writes(ctx: RenderContext) -> list[str]:
    """Return the folders the homeserver (and each Synapse worker) writes: its state and media."""
    writable = [ctx.hs_data_dir]
    if media.keeps_local_media(ctx):
        writable.append(ctx.hs_media_dir)
    return writable


def redis_service() -> str:
    """Return the distribution's Redis unit, which Synapse's workers and main process use."""
    return f"{layout.systemd_unit(synapse_workers.REDIS_SERVICE)}.service"


def _homeserver_unit(ctx: RenderContext) -> UnitFile:
    hs = ctx.homeserver
    name = layout.systemd_unit(hs.value)
    user = layout.owner(ctx, hs.value)
    after = ["network-online.target"]
    wants = ["network-online.target"]
    if ctx.bundled_postgres:
        postgres = f"{layout.systemd_unit('postgres')}.service"
        after.append(postgres)
        wants.append(postgres)
    if synapse_workers.workers(ctx):
        # The main process talks to its workers over Redis too.
        after.append(redis_service())
        wants.append(redis_service())
    unit: list[Entry] = [
        (
            "Description",
            setting(f"{_release(ctx)} Matrix homeserver for {ctx.server_name}"),
        ),
        ("After", " ".join(after)),
        ("Wants", " ".join(wants)),
    ]
    service: list[Entry] = []
    if hs is Homeserver.SYNAPSE:
        # Synapse tells systemd when it is ready to serve (contrib/systemd/matrix-synapse.service).
        service += [("Type", "notify"), ("NotifyAccess", "main")]
    else:
        service.append(("Type", "simple"))
    service += [("User", user), ("Group", user)]
    if hs in conduit_family.MEMBERS:
        service += [("Environment", environment(k, v)) for k, v in conduit.environment(ctx).items()]
    service += [
        ("WorkingDirectory", setting(ctx.hs_data_dir)),
        ("ExecStart", exec_line(homeserver_argv(ctx))),
    ]
    if hs is Homeserver.SYNAPSE:
        service.append(("ExecReload", f"{KILL_PROGRAM} -HUP $MAINPID"))
    service += [("Restart", "on-failure"), ("RestartSec", "3"), ("SyslogIdentifier", name)]
    if hs is Homeserver.DENDRITE:
        service.append(("LimitNOFILE", str(DENDRITE_OPEN_FILES)))
    service += [*_sandbox(), _read_write_paths(_homeserver_writes(ctx))]
    return UnitFile(
        unit_path(name),
        f"{name}.service, written by matrix-wizard; apply.sh installs it in {unit_dir(ctx)}.",
        (Section("Unit", tuple(unit)), Section("Service", tuple(service)), _install()),
    )


def _mas_unit(ctx: RenderContext) -> UnitFile:
    """Return the unit running MAS from its release folder, after Synapse and PostgreSQL."""
    name = layout.systemd_unit(mas.SERVICE)
    user = mas.owner(ctx)
    after = [f"{layout.systemd_unit(ctx.homeserver.value)}.service"]
    if ctx.bundled_postgres:
        after.append(f"{layout.systemd_unit('postgres')}.service")
    service: list[Entry] = [
        ("Type", "simple"),
        ("User", user),
        ("Group", user),
        # MAS finds its assets, templates, translations and policy under ./share.
        ("WorkingDirectory", setting(mas.native_home(ctx))),
        ("ExecStart", exec_line(mas.native_argv(ctx))),
        ("Restart", "on-failure"),
        ("RestartSec", "3"),
        ("SyslogIdentifier", name),
        *_sandbox(),
    ]
    return UnitFile(
        unit_path(name),
        f"{name}.service, written by matrix-wizard; apply.sh installs it in {unit_dir(ctx)}.",
        (
            Section(
                "Unit",
                (
                    (
                        "Description",
                        setting(
                            f"Matrix Authentication Service {versions.MAS_VERSION} for "
                            f"{ctx.server_name}"
                        ),
                    ),
                    ("After", " ".join(["network-online.target", *after])),
                    ("Wants", " ".join(["network-online.target", *after])),
                ),
            ),
            Section("Service", tuple(service)),
            _install(),
        ),
    )


def worker_template() -> str:
    """Return the name of the template unit the Synapse workers run under, ending in @."""
    return f"{synapse_workers.WORKER_UNIT_TEMPLATE}@"


def worker_config_path(ctx: RenderContext, name: str) -> str:
    """Return where the worker of this name reads its own config on the host."""
    return f"{ctx.install_dir}/{synapse_workers.WORKERS_DIR}/{name}.yaml"


def worker_argv(ctx: RenderContext, name: str) -> list[str]:
    """Return the command that runs the Synapse worker of this name, after homeserver.yaml."""
    return [
        f"{native.synapse_venv(ctx)}/bin/python",
        *("-m", synapse_workers.WORKER_APP),
        f"--config-path={compose.homeserver_config_path(ctx)}",
        f"--config-path={worker_config_path(ctx, name)}",
    ]


def _with_instance(value: str) -> str:
    """Return an escaped setting made with the instance's mark in it, the mark turned into %i."""
    return value.replace(_INSTANCE_MARK, INSTANCE)


def _worker_template_unit(ctx: RenderContext) -> UnitFile:
    """Return the template unit of Synapse's workers, modelled on Synapse's own worker unit.

    Requires= on the main unit and Redis starts both first, and stops and restarts the workers
    when either is stopped or restarted; PartOf= the main unit says so outright for it, as
    Synapse's own worker unit does for its target. WantedBy= the main unit starts the enabled
    workers whenever the main process starts.
    """
    name = worker_template()
    hs = Homeserver.SYNAPSE.value
    main = layout.systemd_unit(hs)
    user = layout.owner(ctx, hs)
    needs = f"{main}.service {redis_service()}"
    unit: list[Entry] = [
        (
            "Description",
            setting(f"{_release(ctx)} worker of the Matrix homeserver {ctx.server_name}: ")
            + INSTANCE,
        ),
        ("AssertPathExists", _with_instance(setting(worker_config_path(ctx, _INSTANCE_MARK)))),
        ("After", needs),
        ("Requires", needs),
        ("PartOf", f"{main}.service"),
    ]
    service: list[Entry] = [
        # Workers tell systemd when they are ready, as the main process does.
        ("Type", "notify"),
        ("NotifyAccess", "main"),
        ("User", user),
        ("Group", user),
        ("WorkingDirectory", setting(ctx.hs_data_dir)),
        ("ExecStart", _with_instance(exec_line(worker_argv(ctx, _INSTANCE_MARK)))),
        ("ExecReload", f"{KILL_PROGRAM} -HUP $MAINPID"),
        ("Restart", "always"),
        ("RestartSec", "3"),
        ("SyslogIdentifier", f"{main}-{INSTANCE}"),
        *_sandbox(),
        _read_write_paths(_homeserver_writes(ctx)),
    ]
    return UnitFile(
        unit_path(name),
        f"{name}.service, written by matrix-wizard: runs the Synapse worker "
        f"{synapse_workers.WORKERS_DIR}/<name>.yaml as {name}<name>; apply.sh installs it "
        f"in {unit_dir(ctx)}.",
        (
            Section("Unit", tuple(unit)),
            Section("Service", tuple(service)),
            Section("Install", (("WantedBy", f"{main}.service"),)),
        ),
    )


def worker_units(ctx: RenderContext) -> list[str]:
    """Return the unit of each Synapse worker, which apply.sh starts after the main process."""
    return [synapse_workers.unit(worker) for worker in synapse_workers.workers(ctx)]


def wellknown_argv(ctx: RenderContext) -> list[str]:
    """Return the loopback static server of the well-known folder, which Traefik forwards to."""
    return [
        native.SYSTEM_PYTHON,
        *("-m", "http.server", "--bind", "127.0.0.1"),
        *("--directory", f"{ctx.install_dir}/well-known", str(ctx.ports.wellknown)),
    ]


def _wellknown_unit(ctx: RenderContext) -> UnitFile:
    name = layout.systemd_unit(WELLKNOWN_SERVICE)
    service: list[Entry] = [
        ("Type", "simple"),
        ("DynamicUser", "yes"),
        ("ExecStart", exec_line(wellknown_argv(ctx))),
        ("Restart", "on-failure"),
        *_sandbox(),
    ]
    return UnitFile(
        unit_path(name),
        f"{name}.service, written by matrix-wizard: serves /.well-known/matrix to Traefik "
        "on loopback (Content-Type and CORS come from Traefik).",
        (
            Section(
                "Unit",
                (
                    ("Description", "Static server of /.well-known/matrix for Traefik"),
                    ("After", "network.target"),
                ),
            ),
            Section("Service", tuple(service)),
            _install(),
        ),
    )


def traefik_argv(ctx: RenderContext) -> list[str]:
    """Return the command Traefik's unit runs."""
    return [native.traefik_binary(ctx), f"--configFile={ctx.install_dir}/traefik/traefik.yml"]


def _traefik_unit(ctx: RenderContext) -> UnitFile:
    traefik = ProxyKind.TRAEFIK.value
    name = layout.systemd_unit(traefik)
    user = layout.owner(ctx, traefik)
    wellknown = f"{layout.systemd_unit(WELLKNOWN_SERVICE)}.service"
    service: list[Entry] = [
        ("Type", "simple"),
        ("User", user),
        ("Group", user),
        ("ExecStart", exec_line(traefik_argv(ctx))),
        ("Restart", "on-failure"),
        ("LimitNOFILE", "1048576"),
        *_sandbox(BIND_LOW_PORTS),
        _read_write_paths([layout.service_dir(ctx, traefik)]),
    ]
    return UnitFile(
        unit_path(name),
        f"{name}.service, written by matrix-wizard; apply.sh installs it in {unit_dir(ctx)}.",
        (
            Section(
                "Unit",
                (
                    (
                        "Description",
                        f"Traefik {versions.TRAEFIK_VERSION} in front of the Matrix homeserver "
                        f"{ctx.server_name}",
                    ),
                    ("After", f"network-online.target {wellknown}"),
                    ("Wants", f"network-online.target {wellknown}"),
                ),
            ),
            Section("Service", tuple(service)),
            _install(),
        ),
    )


def _drop_in(ctx: RenderContext, service: str, entries: list[Entry]) -> UnitFile:
    name = layout.systemd_unit(service)
    return UnitFile(
        drop_in_path(name),
        f"Points the packaged {name}.service at the bundle in {ctx.install_dir}; "
        "written by matrix-wizard.",
        (Section("Service", tuple(entries)),),
    )


def caddy_argv(ctx: RenderContext, action: str) -> list[str]:
    """Return `caddy run` or `caddy reload` with the bundle's Caddyfile."""
    argv = [CADDY_PROGRAM, action]
    if action == "run":
        argv.append("--environ")
    argv += ["--config", f"{ctx.install_dir}/caddy/Caddyfile", "--adapter", "caddyfile"]
    if action == "reload":
        argv.append("--force")
    return argv


def caddy_environment(ctx: RenderContext) -> dict[str, str]:
    """Return where Caddy keeps its certificates and settings natively: under the data folder."""
    caddy_dir = layout.service_dir(ctx, ProxyKind.CADDY.value)
    return {"XDG_DATA_HOME": f"{caddy_dir}/data", "XDG_CONFIG_HOME": f"{caddy_dir}/config"}


def _caddy_drop_in(ctx: RenderContext) -> UnitFile:
    entries: list[Entry] = [
        ("Environment", environment(k, v)) for k, v in caddy_environment(ctx).items()
    ]
    entries += [
        ("ExecStart", ""),
        ("ExecStart", exec_line(caddy_argv(ctx, "run"))),
        ("ExecReload", ""),
        ("ExecReload", exec_line(caddy_argv(ctx, "reload"))),
    ]
    return _drop_in(ctx, ProxyKind.CADDY.value, entries)


def coturn_argv(ctx: RenderContext) -> list[str]:
    """Return coturn with the bundle's config, no pid file, and its user database in its folder."""
    return [
        TURNSERVER_PROGRAM,
        *("-c", f"{ctx.install_dir}/coturn/turnserver.conf"),
        "--pidfile=",
        f"--userdb={layout.service_dir(ctx, layout.COTURN_SERVICE)}/turndb",
    ]


def _coturn_drop_in(ctx: RenderContext) -> UnitFile:
    """Point coturn at the bundle and sandbox it; it may bind a low port only if one is chosen."""
    ports = [ctx.ports.turn, ctx.ports.turns] if calls.turn_tls(ctx) else [ctx.ports.turn]
    low = min(ports) < FIRST_UNPRIVILEGED_PORT
    entries: list[Entry] = [
        ("ExecStart", ""),
        ("ExecStart", exec_line(coturn_argv(ctx))),
        *_sandbox(BIND_LOW_PORTS if low else "", _COTURN_ADDRESS_FAMILIES),
        _read_write_paths([layout.service_dir(ctx, layout.COTURN_SERVICE)]),
    ]
    return _drop_in(ctx, layout.COTURN_SERVICE, entries)


def livekit_argv(ctx: RenderContext) -> list[str]:
    """Return LiveKit with the bundle's livekit.yaml; its keys come from livekit.env."""
    program = native.local_program(ctx, native.LIVEKIT_PROGRAM)
    return [program, "--config", f"{ctx.install_dir}/{matrix_rtc.LIVEKIT_CONFIG}"]


def _call_unit(ctx: RenderContext, service: str, argv: list[str], env_file: str) -> UnitFile:
    """Return a unit for LiveKit or lk-jwt-service: no state, so a throwaway user, sandboxed."""
    name = layout.systemd_unit(service)
    entries: list[Entry] = [
        ("Type", "simple"),
        ("DynamicUser", "yes"),
        # systemd reads the secret before it drops privileges; the program never sees the file.
        ("EnvironmentFile", setting(f"{ctx.install_dir}/{env_file}")),
        ("ExecStart", exec_line(argv)),
        ("Restart", "on-failure"),
        *_sandbox(),
    ]
    return UnitFile(
        unit_path(name),
        f"{name}.service, written by matrix-wizard: {service} for MatrixRTC calls.",
        (
            Section(
                "Unit",
                (
                    ("Description", f"{service} for MatrixRTC calls"),
                    ("After", "network-online.target"),
                    ("Wants", "network-online.target"),
                ),
            ),
            Section("Service", tuple(entries)),
            _install(),
        ),
    )


def _call_units(ctx: RenderContext) -> list[UnitFile]:
    """Return LiveKit's and lk-jwt-service's units when calls use MatrixRTC."""
    if not matrix_rtc.enabled(ctx):
        return []
    jwt = [native.local_program(ctx, native.LK_JWT_PROGRAM)]
    return [
        _call_unit(ctx, matrix_rtc.LIVEKIT_SERVICE, livekit_argv(ctx), matrix_rtc.LIVEKIT_ENV),
        _call_unit(ctx, matrix_rtc.LK_JWT_SERVICE, jwt, matrix_rtc.LK_JWT_ENV),
    ]


def prometheus_argv(ctx: RenderContext) -> list[str]:
    """Return Prometheus with the bundle's config, its data folder, and loopback only."""
    return [
        PROMETHEUS_PROGRAM,
        f"--config.file={ctx.install_dir}/{monitoring.PROMETHEUS_CONFIG}",
        f"--storage.tsdb.path={layout.service_dir(ctx, layout.PROMETHEUS_SERVICE)}",
        f"--storage.tsdb.retention.time={compose.PROMETHEUS_RETENTION}",
        f"--web.listen-address=127.0.0.1:{ctx.ports.prometheus}",
    ]


def grafana_environment(ctx: RenderContext) -> dict[str, str]:
    """Return Grafana's settings natively: the bundle's provisioning, loopback, its data folder."""
    return {
        "GF_PATHS_PROVISIONING": f"{ctx.install_dir}/grafana/provisioning",
        "GF_PATHS_DATA": layout.service_dir(ctx, layout.GRAFANA_SERVICE),
        "GF_SERVER_HTTP_ADDR": "127.0.0.1",
        "GF_SERVER_HTTP_PORT": str(ctx.ports.grafana),
        **compose.GRAFANA_SETTINGS,
    }


def _grafana_drop_in(ctx: RenderContext) -> UnitFile:
    entries: list[Entry] = [
        ("EnvironmentFile", setting(f"{ctx.install_dir}/{compose.GRAFANA_ENV}"))
    ]
    entries += [("Environment", environment(k, v)) for k, v in grafana_environment(ctx).items()]
    return _drop_in(ctx, layout.GRAFANA_SERVICE, entries)


def unit_files(ctx: RenderContext) -> list[UnitFile]:
    """Return every unit and drop-in of a deployment without containers."""
    files = [_homeserver_unit(ctx)]
    if mas.enabled(ctx):
        files.append(_mas_unit(ctx))
    if synapse_workers.workers(ctx):
        files.append(_worker_template_unit(ctx))
    proxy = ctx.answers.proxy.kind
    if proxy is ProxyKind.TRAEFIK:
        files += [_wellknown_unit(ctx), _traefik_unit(ctx)]
    elif proxy is ProxyKind.CADDY:
        files.append(_caddy_drop_in(ctx))
    if ctx.answers.calls.turn:
        files.append(_coturn_drop_in(ctx))
    files += _call_units(ctx)
    if ctx.answers.monitoring.prometheus:
        replace = [("ExecStart", ""), ("ExecStart", exec_line(prometheus_argv(ctx)))]
        files.append(_drop_in(ctx, layout.PROMETHEUS_SERVICE, replace))
    if ctx.answers.monitoring.grafana:
        files.append(_grafana_drop_in(ctx))
    return files


def start_order(ctx: RenderContext) -> list[str]:
    """Return the units apply.sh enables and starts once the database is ready, in order."""
    services = [ctx.homeserver.value]
    if mas.enabled(ctx):
        services.append(mas.SERVICE)
    if ctx.answers.proxy.kind is ProxyKind.TRAEFIK:
        services.append(WELLKNOWN_SERVICE)
    services.append(ctx.answers.proxy.kind.value)
    if ctx.answers.calls.turn:
        services.append(layout.COTURN_SERVICE)
    if matrix_rtc.enabled(ctx):
        services += [matrix_rtc.LK_JWT_SERVICE, matrix_rtc.LIVEKIT_SERVICE]
    if ctx.answers.monitoring.prometheus:
        services.append(layout.PROMETHEUS_SERVICE)
    if ctx.answers.monitoring.grafana:
        services.append(layout.GRAFANA_SERVICE)
    return [layout.systemd_unit(service) for service in services]


def _bundle_folders(ctx: RenderContext, unit: UnitFile) -> list[str]:
    """Return the bundle folders a unit names (the config its program reads), not its state."""
    install, state = f"{ctx.install_dir}/", f"{ctx.data_dir}/"
    named = re.findall(re.escape(install) + r'[^\s"]+', unit.text())
    found = [
        path.removeprefix(install).split("/")[0] for path in named if not path.startswith(state)
    ]
    return list(dict.fromkeys(found))


def service_files(ctx: RenderContext) -> dict[str, list[str]]:
    """Return the bundle paths each unit apply.sh starts reads: its unit or drop-in, and config.

    A worker reads what its template unit names; the main process's files are among them.
    """
    units = {unit.path: unit for unit in unit_files(ctx)}
    certificates_read = _certificates_read(ctx)
    found: dict[str, list[str]] = {}
    for name in start_order(ctx):
        paths = [_LINKED_CONFIG[name]] if name in _LINKED_CONFIG else []
        for path in (unit_path(name), drop_in_path(name)):
            if path in units:
                paths += [*_bundle_folders(ctx, units[path]), path]
        found[name] = paths + certificates_read.get(name, [])
    template = unit_path(worker_template())
    for name in worker_units(ctx):
        found[name] = [*_bundle_folders(ctx, units[template]), template]
    return found


def _certificates_read(ctx: RenderContext) -> dict[str, list[str]]:
    """Return the certificate files of the host that units read, as absolute paths, by unit.

    A certificate replaced by hand (TLS from files) then restarts the proxy at the next apply.
    """
    found: dict[str, list[str]] = {}
    files = certificates.host_certificate_files(ctx)
    if files is not None:
        found[ctx.answers.proxy.kind.value] = [files.chain, files.key]
    ca_path = ctx.answers.proxy.federation_ca_path
    if ca_path:
        found[layout.systemd_unit(ctx.homeserver.value)] = [ctx.host_path(ca_path)]
    if calls.turn_tls(ctx):
        # apply.sh's copies of the certificate; coturn keeps its own state beside them.
        folder = layout.turn_certificate_dir(ctx)
        found[layout.COTURN_SERVICE] = [
            f"{folder}/{calls.TURN_CHAIN}",
            f"{folder}/{calls.TURN_KEY}",
        ]
    return found


def render(ctx: RenderContext) -> Bundle:
    """Return the units and drop-ins, and Grafana's private settings, for a native deployment."""
    if ctx.compose:
        return {}
    files: Bundle = {unit.path: File(unit.text()) for unit in unit_files(ctx)}
    files.update(compose.grafana_env_file(ctx))
    return files
