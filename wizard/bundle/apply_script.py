"""apply.sh: put the bundle in place on the host and start it, printing every action."""

from wizard.answers.model import CONDUIT_FAMILY, Homeserver, ProxyKind
from wizard.answers.secret_store import SECRETS_FILE
from wizard.bundle import (
    backup,
    backup_timer,
    calls,
    certificates,
    compose,
    conduit,
    dendrite_build,
    element_web,
    firewall,
    layout,
    mas,
    media,
    migrate,
    monitoring,
    native,
    nginx,
    postgres,
    restore,
    shell,
    synapse_workers,
    systemd,
    versions,
)
from wizard.bundle.context import RenderContext
from wizard.bundle.model import EXECUTABLE, Bundle, File

APPLY_SCRIPT = "apply.sh"
POSTGRES_CONF_NAME = "matrix-wizard.conf"
NGINX_SITE = "/etc/nginx/conf.d/matrix-wizard.conf"
POSTGRES_ETC = "/etc/postgresql"
DATABASE_QUERY = (
    "SELECT pg_encoding_to_char(encoding) || '|' || datcollate || '|' || datctype "
    "FROM pg_database WHERE datname = current_database()"
)


def expected_database_locale(ctx: RenderContext) -> str:
    """Return encoding|collation|ctype the homeserver needs, as a shell pattern."""
    return "UTF8|C|C" if ctx.homeserver is Homeserver.SYNAPSE else "UTF8|*"


def database_fix(ctx: RenderContext) -> str:
    """Return what to do when the database was created with the wrong encoding or locale."""
    recreate = (
        "create the database again with ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' "
        "TEMPLATE template0"
    )
    if not ctx.compose:
        name = ctx.answers.database.name
        return (
            f"when it holds no data yet, drop it (sudo -u postgres dropdb {name}) and run "
            f"apply.sh again, which creates it with the right settings; otherwise dump it, "
            f"{recreate}, and restore the dump into it."
        )
    folder = layout.service_dir(ctx, "postgres")
    return (
        f"when it holds no data yet, stop the stack (docker compose down), move {folder} "
        "away and run apply.sh again, which creates it with the right settings; otherwise "
        f"dump it, {recreate}, and restore the dump into it."
    )


def required_files(ctx: RenderContext) -> list[str]:
    """Return the bundle files apply.sh refuses to go on without."""
    files = [SECRETS_FILE, f"{ctx.homeserver.value}/{compose.CONFIG_FILES[ctx.homeserver]}"]
    if ctx.compose:
        files.append(compose.COMPOSE_FILE)
    else:
        files.append(systemd.unit_path(layout.systemd_unit(ctx.homeserver.value)))
    if ctx.answers.firewall.enabled:
        files.append(firewall.FIREWALL_SCRIPT)
    return files


def private_paths(ctx: RenderContext) -> list[str]:
    """Return the bundle files and folders holding secrets or keys, which apply.sh keeps 0600."""
    paths = [SECRETS_FILE, ctx.homeserver.value]
    if ctx.answers.calls.turn:
        paths.append(calls.TURN_CONFIG)
    if mas.enabled(ctx):
        paths.append(mas.SERVICE)
    if ctx.compose and ctx.bundled_postgres:
        paths.append(compose.POSTGRES_ENV)
    if ctx.answers.monitoring.grafana:
        paths.append(compose.GRAFANA_ENV)
    if ctx.answers.monitoring.prometheus and ctx.homeserver is Homeserver.DENDRITE:
        paths.append(monitoring.PROMETHEUS_CONFIG)
    return paths


def script_paths(ctx: RenderContext) -> list[str]:
    """Return the bundle's scripts, which apply.sh makes executable."""
    scripts = [APPLY_SCRIPT]
    if ctx.answers.backups.enabled:
        scripts += [backup.BACKUP_SCRIPT, restore.RESTORE_SCRIPT]
    if ctx.answers.firewall.enabled:
        scripts.append(firewall.FIREWALL_SCRIPT)
    if dendrite_build.builds_dendrite(ctx):
        scripts.append(dendrite_build.BUILD_SCRIPT)
    return scripts


def admin_command(ctx: RenderContext) -> str | None:
    """Return the command that makes the first admin account, or None when a client does it."""
    port = ctx.ports.homeserver
    config = compose.homeserver_config_path(ctx)
    if mas.enabled(ctx):
        return mas.admin_command(ctx)
    if ctx.homeserver is Homeserver.SYNAPSE:
        program = "register_new_matrix_user"
        if not ctx.compose:
            program = f"{native.synapse_venv(ctx)}/bin/{program}"
        command = f"{program} -c {config} --admin http://localhost:{port}"
        return f"docker compose exec synapse {command}" if ctx.compose else command
    if ctx.homeserver is Homeserver.DENDRITE:
        binary = (
            "/usr/bin/create-account"
            if ctx.compose
            else native.local_program(ctx, "create-account")
        )
        command = (
            f"{binary} -config {config} -username YOURNAME -admin -url http://localhost:{port}"
        )
        return f"docker compose exec dendrite {command}" if ctx.compose else command
    return None


def homeserver_log_command(ctx: RenderContext) -> str:
    """Return the command that shows the homeserver's log."""
    hs = ctx.homeserver.value
    if ctx.compose:
        return f"docker compose -f {layout.compose_file(ctx)} logs {hs}"
    return f"journalctl -u {layout.systemd_unit(hs)}"


def _ready_logs(ctx: RenderContext) -> str:
    """Return the logs to read when the homeserver does not answer, the proxy's if it asks."""
    command = homeserver_log_command(ctx)
    if ctx.compose and ctx.homeserver in CONDUIT_FAMILY:
        return f"{command} {ctx.answers.proxy.kind.value}"
    return command


def _ready_check(ctx: RenderContext) -> tuple[str, str, bool]:
    """Return the shell test that the homeserver answers, its description, and if it needs curl."""
    hs = ctx.homeserver
    if ctx.compose and hs not in CONDUIT_FAMILY:
        test = (
            f"container=$(compose ps -q {hs.value})\n"
            '    [ -n "$container" ] && '
            '[ "$(docker inspect --format \'{{.State.Health.Status}}\' "$container")" = healthy ]'
        )
        return test, f"docker reports the {hs.value} container healthy", False
    if ctx.compose:
        host, port = ctx.homeserver_host, ctx.ports.https
        url = f"https://{host}:{port}/_matrix/client/versions"
        test = (
            f"curl -fsk --max-time 5 --resolve {shell.quote(f'{host}:{port}:127.0.0.1')} "
            f"{shell.quote(url)} >/dev/null"
        )
        return test, f"{url} answers through the proxy", True
    url = f"http://127.0.0.1:{ctx.ports.homeserver}/_matrix/client/versions"
    return f"curl -fs --max-time 5 {shell.quote(url)} >/dev/null", f"{url} answers", True


def _start_step(ctx: RenderContext) -> str:
    ready, _, _ = _ready_check(ctx)
    checksums = shell.fragment("apply/checksums.sh")
    timer = shell.fragment("apply/backup-timer.sh")
    if ctx.compose:
        start = shell.fragment("apply/start-compose.sh", {"ready": ready})
        return "\n".join((shell.fragment("compose-command.sh"), checksums, start, timer))
    start = shell.fragment("apply/start-native.sh", {"ready": ready})
    return "\n".join((checksums, start, timer))


def _proxy_stop(ctx: RenderContext) -> str:
    """Return what frees the HTTP port from the packaged nginx before the first certificate."""
    if ctx.compose:
        return ""
    return f"systemctl stop {layout.systemd_unit(ctx.answers.proxy.kind.value)}"


def _settings(ctx: RenderContext) -> str:
    """Return the assignments the steps read, every value quoted."""
    database = ctx.answers.database
    cert = certificates.host_certificate_files(ctx)
    _, ready_description, ready_with_curl = _ready_check(ctx)
    values: dict[str, str] = {
        "ACME_EMAIL": shell.quote(ctx.answers.proxy.acme_email or ""),
        "CERT_NAME": shell.quote(shell.word(ctx.homeserver_host)),
        "CERT_OTHER_NAMES": shell.table(nginx.certificate_names(ctx)),
        "CERT_CHAIN": shell.quote(cert.chain if cert else ""),
        "CERT_KEY": shell.quote(cert.key if cert else ""),
        "ACME_WEBROOT": shell.quote(layout.acme_webroot_dir(ctx)),
        "HTTP_PORT": shell.quote(ctx.ports.http),
        "PROXY_STOP": shell.quote(_proxy_stop(ctx)),
        "PROXY_NAME": shell.quote(ctx.answers.proxy.kind.value),
        "PROXY_CERT_DIR": shell.quote(certificates.proxy_copy_dir(ctx) or ""),
        "PROXY_OWNER": shell.quote(layout.owner(ctx, ctx.answers.proxy.kind.value) or "-"),
        "TURN_CERT_DIR": shell.quote(layout.turn_certificate_dir(ctx)),
        "TURN_OWNER": shell.quote(layout.owner(ctx, layout.COTURN_SERVICE) or "-"),
        "DATABASE_NAME": shell.quote(database.name),
        "DATABASE_USER": shell.quote(database.user),
        "DATABASE_PORT": shell.quote(ctx.database_port),
        "DATABASE_QUERY": shell.quote(DATABASE_QUERY),
        "DATABASE_EXPECTED": shell.quote(expected_database_locale(ctx)),
        "DATABASE_FIX": shell.quote(database_fix(ctx)),
        "READY_WITH_CURL": "1" if ready_with_curl else "0",
        "READY_DESCRIPTION": shell.quote(ready_description),
        "LOG_COMMAND": shell.quote(_ready_logs(ctx)),
        "CHECKSUM_RECORD": shell.quote(layout.checksum_record(ctx)),
        "UNIT_FOLDER": shell.quote(systemd.UNIT_FOLDER),
        "BACKUP_UNIT_DIR": shell.quote(systemd.unit_dir(ctx)),
        "BACKUP_SERVICE": shell.quote(backup_timer.SERVICE_FILE),
        "BACKUP_TIMER": shell.quote(backup_timer.TIMER_FILE),
        "BACKUP_SCHEDULE": shell.quote(f"OnCalendar={backup_timer.ON_CALENDAR}"),
        "BACKUP_CRON_FILE": shell.quote(backup.cron_file(ctx)),
    }
    values |= _compose_settings(ctx) if ctx.compose else _native_settings(ctx)
    return "".join(f"{name}={value}\n" for name, value in values.items())


def _compose_settings(ctx: RenderContext) -> dict[str, str]:
    """Return the assignments only a deployment with containers reads, every value quoted."""
    files = [(service, *paths) for service, paths in compose.service_files(ctx).items()]
    clients = " ".join(shell.word(service) for service in compose.database_clients(ctx))
    return {
        "SERVICE_FILES": shell.table(files),
        "ROLES_QUERY": shell.quote(postgres.roles_query(ctx)),
        "DATABASE_CLIENTS": shell.quote(clients),
        "MAS_DATABASE": "1" if mas.enabled(ctx) and ctx.bundled_postgres else "0",
        "BACKUP_PACKAGES": shell.quote(" ".join(backup.host_packages(ctx))),
        # nginx looks the services' names up when it starts or reloads, not on each request.
        "NGINX_SERVICE": "nginx" if ctx.answers.proxy.kind is ProxyKind.NGINX else "",
    }


def _native_settings(ctx: RenderContext) -> dict[str, str]:
    """Return the assignments only a deployment without containers reads, every value quoted."""
    synapse = ctx.homeserver is Homeserver.SYNAPSE
    workers = synapse_workers.workers(ctx)
    s3_provider = media.synapse_s3_provider(ctx)
    traefik = native.uses_traefik(ctx)
    with_mas = mas.enabled(ctx)
    dendrite = dendrite_build.builds_dendrite(ctx)
    element = element_web.enabled(ctx)
    binary = native.homeserver_binary(ctx)
    nginx = ctx.answers.proxy.kind is ProxyKind.NGINX
    users = [(user.name, user.home) for user in native.system_users(ctx)]
    words = {
        name: " ".join(shell.word(word) for word in value)
        for name, value in (
            ("PACKAGES", native.apt_packages(ctx)),
            ("UNITS", systemd.start_order(ctx)),
        )
    }
    values = {
        **words,
        "REDIS_UNIT": layout.systemd_unit(synapse_workers.REDIS_SERVICE) if workers else "",
        # Set for Synapse with or without workers, so apply.sh stops those a bundle drops.
        "WORKER_TEMPLATE": synapse_workers.WORKER_UNIT_TEMPLATE if synapse else "",
        "SYNAPSE_VENV": native.synapse_venv(ctx) if synapse else "",
        "SYNAPSE_VERSION": versions.SYNAPSE_VERSION if synapse else "",
        "SYNAPSE_REQUIREMENT": native.synapse_requirement(ctx) if synapse else "",
        "SYNAPSE_EXTRA_MODULES": " ".join(native.synapse_extra_modules(ctx)) if synapse else "",
        "S3_PROVIDER_PACKAGE": media.S3_PROVIDER_PACKAGE if s3_provider else "",
        "S3_PROVIDER_VERSION": versions.S3_STORAGE_PROVIDER_VERSION if s3_provider else "",
        "S3_PROVIDER_REQUIREMENT": media.s3_provider_requirement() if s3_provider else "",
        "TRAEFIK_BINARY": native.traefik_binary(ctx) if traefik else "",
        "TRAEFIK_VERSION": versions.TRAEFIK_VERSION if traefik else "",
        "TRAEFIK_RELEASES": native.TRAEFIK_RELEASES if traefik else "",
        "ELEMENT_WEB_ROOT": element_web.web_root(ctx) if element else "",
        "ELEMENT_WEB_VERSION": versions.ELEMENT_WEB_VERSION if element else "",
        "ELEMENT_WEB_URL": element_web.tarball_url() if element else "",
        "MAS_HOME": mas.native_home(ctx) if with_mas else "",
        "MAS_VERSION": versions.MAS_VERSION if with_mas else "",
        "MAS_RELEASES": mas.RELEASES if with_mas else "",
        "DENDRITE_BUILD": dendrite_build.BUILD_SCRIPT if dendrite else "",
        "DENDRITE_MODULE": versions.DENDRITE_MODULE if dendrite else "",
        "DENDRITE_VERSION": dendrite_build.module_version() if dendrite else "",
        "HOMESERVER_BINARY": binary.path if binary else "",
        "HOMESERVER_BINARY_HELP": binary.how_to_get if binary else "",
        "CALL_PROGRAMS": "\n".join(shell.word(path) for path in native.call_programs(ctx)),
        "CALL_PROGRAMS_HELP": native.call_programs_help(ctx),
        "GRAFANA_NOTE": native.grafana_note(ctx) or "",
        "UNIT_DIR": systemd.unit_dir(ctx),
        "NGINX_SITE": ctx.host_path(NGINX_SITE) if nginx else "",
        "POSTGRES_ETC": ctx.host_path(POSTGRES_ETC),
        "POSTGRES_CONF_NAME": POSTGRES_CONF_NAME,
        "HOMESERVER_UNIT": layout.systemd_unit(ctx.homeserver.value),
    }
    quoted = {name: shell.quote(value) for name, value in values.items()}
    files = [(unit, *paths) for unit, paths in systemd.service_files(ctx).items()]
    quoted["SYSTEM_USERS"] = shell.table(users)
    quoted["SERVICE_FILES"] = shell.table(files)
    quoted["WORKERS"] = shell.table(
        (synapse_workers.unit(worker), synapse_workers.port(ctx, worker)) for worker in workers
    )
    return quoted


def next_steps(ctx: RenderContext) -> list[str]:
    """Return what the person does once the stack runs."""
    steps = []
    command = admin_command(ctx)
    if command:
        steps += ["Create the first admin account (it asks for a name and a password):", command]
    else:
        name = conduit.member(ctx).name
        steps += [
            f"Register the first account in a Matrix client: on {name} the first account",
            "becomes the admin (README.md says how, with a registration token).",
        ]
    steps += [
        f"Check federation: https://federationtester.matrix.org/#{ctx.server_name}",
        f"README.md in {ctx.install_dir} lists the DNS records, backups and monitoring.",
    ]
    return steps


def apply_script(ctx: RenderContext) -> str:
    """Return apply.sh for this deployment."""
    turn_tls = calls.turn_tls(ctx)
    folders = [
        (folder.path, f"{folder.mode:o}", folder.owner or "-")
        for folder in layout.folders(ctx, turn_tls=turn_tls)
    ]
    owned = [(path.path, path.owner) for path in layout.owned_paths(ctx)]
    values = {
        "install_dir": shell.quote(ctx.install_dir),
        "prefix": shell.quote(ctx.answers.deployment.prefix),
        "deployment": shell.quote(ctx.answers.deployment.kind.value),
        "homeserver": shell.quote(ctx.homeserver.value),
        "use_firewall": "1" if ctx.answers.firewall.enabled else "0",
        "use_certbot": "1" if certificates.uses_certbot(ctx) else "0",
        "use_turn_tls": "1" if turn_tls else "0",
        "check_database": "1" if ctx.bundled_postgres else "0",
        "folders": shell.table(folders),
        "owned": shell.table(owned),
        "private": shell.quote(" ".join(shell.word(path) for path in private_paths(ctx))),
        "scripts": shell.quote(" ".join(script_paths(ctx))),
        "required": shell.quote(" ".join(required_files(ctx))),
        "start_step": _start_step(ctx),
        "move_step": migrate.move_step(ctx),
        "next_steps": "\n".join(next_steps(ctx)),
        "settings": _settings(ctx),
    }
    return shell.fragment("apply.sh", values)


def render(ctx: RenderContext) -> Bundle:
    """Return apply.sh, which every bundle has."""
    return {APPLY_SCRIPT: File(apply_script(ctx), EXECUTABLE)}
