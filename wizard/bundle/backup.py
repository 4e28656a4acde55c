"""backup.sh: the database, the media and the bundle into a dated folder, with retention."""

from enum import StrEnum

from wizard.answers.model import DatabaseKind, Homeserver
from wizard.bundle import layout, mas, media, postgres, shell
from wizard.bundle.context import RenderContext
from wizard.bundle.model import EXECUTABLE, Bundle, File

BACKUP_SCRIPT = "backup.sh"
BACKUP_HOUR = 3
CRON_FILE = "/etc/cron.d/matrix-wizard-backup"


class DatabaseBackup(StrEnum):
    """How backup.sh copies the homeserver's database consistently."""

    SQLITE = "sqlite"
    POSTGRES_COMPOSE = "postgres-compose"
    POSTGRES_LOCAL = "postgres-local"
    POSTGRES_REMOTE = "postgres-remote"
    DATA_FOLDER = "data-folder"


def database_backup(ctx: RenderContext) -> DatabaseBackup:
    """Return how the database is copied: a dump, SQLite's online backup, or a stopped copy."""
    kind = ctx.answers.database.kind
    if kind is DatabaseKind.SQLITE:
        return DatabaseBackup.SQLITE
    if kind is DatabaseKind.ROCKSDB:
        return DatabaseBackup.DATA_FOLDER
    if not ctx.bundled_postgres:
        return DatabaseBackup.POSTGRES_REMOTE
    return DatabaseBackup.POSTGRES_COMPOSE if ctx.compose else DatabaseBackup.POSTGRES_LOCAL


# The Debian package of the program each way of copying runs on the host, where it needs one.
HOST_PACKAGES = {
    DatabaseBackup.SQLITE: "sqlite3",
    DatabaseBackup.POSTGRES_REMOTE: "postgresql-client",
}


def host_packages(ctx: RenderContext) -> list[str]:
    """Return the packages backup.sh needs on the host: sqlite3, or pg_dump for a remote server."""
    if not ctx.answers.backups.enabled:
        return []
    package = HOST_PACKAGES.get(database_backup(ctx))
    return [package] if package else []


# Folders of a homeserver's own state beside its database, in its data folder.
STATE_DIRS = {Homeserver.DENDRITE: ("jetstream", "searchindex")}
STATE_PART = "homeserver-state.tar"


def state_dirs(ctx: RenderContext) -> tuple[str, ...]:
    """Return the state folders backup.sh copies with the homeserver stopped, beside its data."""
    if database_backup(ctx) is DatabaseBackup.DATA_FOLDER:
        return ()  # the whole data folder is copied
    return STATE_DIRS.get(ctx.homeserver, ())


def state_step(ctx: RenderContext, side: str) -> str:
    """Return the backup or restore step of the state folders, or one that does nothing."""
    folders = state_dirs(ctx)
    if not folders:
        return f"{side}_state() {{\n    :\n}}\n"
    values = {
        "state_dirs": shell.quote(" ".join(folders)),
        "homeserver": ctx.homeserver.value,
        "stop_homeserver": service_action(ctx, "stop", ctx.homeserver.value),
        "start_homeserver": service_action(ctx, "start", ctx.homeserver.value),
    }
    return shell.fragment(f"{side}/state.sh", values)


def backup_dir(ctx: RenderContext) -> str:
    """Return the host folder that holds the dated backups."""
    return ctx.host_path(ctx.answers.backups.path)


def service_action(ctx: RenderContext, action: str, service: str) -> str:
    """Return the shell command that starts, stops or restarts one service of the stack."""
    if ctx.compose:
        return f"compose {shell.word(action)} {shell.word(service)}"
    return f"systemctl {shell.word(action)} {shell.word(layout.systemd_unit(service))}"


def cron_file(ctx: RenderContext) -> str:
    """Return the cron.d file earlier bundles asked for, which the systemd timer replaces."""
    return ctx.host_path(CRON_FILE)


def media_dir(ctx: RenderContext) -> str:
    """Return the host folder of local media backup.sh archives, or "" when there is none."""
    # Media the homeserver keeps in its data folder is copied with the data folder.
    local = ctx.answers.media.backend == "local" and media.keeps_local_media(ctx)
    return ctx.media_host_dir if local else ""


def _database_step(ctx: RenderContext, method: DatabaseBackup) -> str:
    database = ctx.answers.database
    values = {
        "database_name": shell.quote(database.name),
        "database_user": shell.quote(database.user),
        "database_port": shell.quote(ctx.database_port),
        "database_host": shell.quote(ctx.database_host),
        "homeserver": shell.quote(ctx.homeserver.value),
        "stop_homeserver": service_action(ctx, "stop", ctx.homeserver.value),
        "start_homeserver": service_action(ctx, "start", ctx.homeserver.value),
        "mas_database": shell.quote(mas.DATABASE if mas.enabled(ctx) else ""),
        "mas_user": shell.quote(mas.ROLE),
        "superuser": shell.quote(postgres.SUPERUSER),
    }
    return shell.fragment(f"backup/{method.value}.sh", values)


def backup_script(ctx: RenderContext) -> str:
    """Return backup.sh for this deployment's database, media and bundle."""
    method = database_backup(ctx)
    uses_compose = method is DatabaseBackup.POSTGRES_COMPOSE or (
        ctx.compose and (method is DatabaseBackup.DATA_FOLDER or bool(state_dirs(ctx)))
    )
    elsewhere = (
        "media is kept in S3: back the bucket up with the provider's tools"
        if media.uses_s3(ctx)
        else "media is kept in the homeserver's data folder, copied with it"
    )
    values = {
        "install_dir": shell.quote(ctx.install_dir),
        "homeserver_data": shell.quote(layout.service_dir(ctx, ctx.homeserver.value)),
        "media_dir": shell.quote(media_dir(ctx)),
        "media_elsewhere": shell.quote(elsewhere),
        "backup_dir": shell.quote(backup_dir(ctx)),
        "keep_days": shell.quote(ctx.answers.backups.keep_days),
        "prelude": shell.fragment("compose-command.sh") if uses_compose else "",
        "database_step": _database_step(ctx, method),
        "state_step": state_step(ctx, "backup"),
    }
    return shell.fragment("backup.sh", values)


def render(ctx: RenderContext) -> Bundle:
    """Return backup.sh when backups are wanted."""
    if not ctx.answers.backups.enabled:
        return {}
    return {BACKUP_SCRIPT: File(backup_script(ctx), EXECUTABLE)}
