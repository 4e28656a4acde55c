"""restore.sh: one folder of backup.sh's back in place, on this machine or a fresh one."""

from wizard.bundle import backup, layout, mas, postgres, shell
from wizard.bundle.backup import DatabaseBackup
from wizard.bundle.context import RenderContext
from wizard.bundle.model import EXECUTABLE, Bundle, File

RESTORE_SCRIPT = "restore.sh"
# The part of a backup that holds the database, for each way backup.sh copies it.
DATABASE_PARTS = {
    DatabaseBackup.SQLITE: "*.db",
    DatabaseBackup.POSTGRES_COMPOSE: "database.dump",
    DatabaseBackup.POSTGRES_LOCAL: "database.dump",
    DatabaseBackup.POSTGRES_REMOTE: "database.dump",
    DatabaseBackup.DATA_FOLDER: "homeserver-data.tar",
}


def _stop_homeserver(ctx: RenderContext) -> str:
    """Return the lines that stop the homeserver where it is installed, and say so elsewhere."""
    hs = ctx.homeserver.value
    if ctx.compose:
        # The whole stack: the proxy resolves the homeserver's address once, when it starts, and
        # a homeserver stopped and started again may come back at another one.
        return (
            'if [ -f "$COMPOSE_FILE" ]; then\n'
            '        note "the whole stack: the proxy finds $HOMESERVER again as it starts"\n'
            "        run compose stop\n"
            "    else\n"
            '        note "no stack in $INSTALL_DIR yet: nothing to stop"\n'
            "    fi"
        )
    unit = shell.word(layout.systemd_unit(hs))
    return (
        f'if [ -n "$PREFIX" ] || systemctl cat {unit} >/dev/null 2>&1; then\n'
        f"        host_run systemctl stop {unit}\n"
        "    else\n"
        f'        note "{unit} is not installed here yet: nothing to stop"\n'
        "    fi"
    )


def _database_step(ctx: RenderContext, method: DatabaseBackup) -> str:
    database = ctx.answers.database
    drop = f"DROP DATABASE IF EXISTS {postgres.sql_identifier(database.name)} WITH (FORCE)"
    values = {
        "database_name": shell.quote(database.name),
        "database_user": shell.quote(database.user),
        "database_port": shell.quote(ctx.database_port),
        "database_host": shell.quote(ctx.database_host),
        "drop_database": shell.quote(drop),
        "superuser": shell.quote(postgres.SUPERUSER),
        "mas_database": shell.quote(mas.DATABASE if mas.enabled(ctx) else ""),
        "mas_user": shell.quote(mas.ROLE),
        "drop_mas_database": shell.quote(
            f"DROP DATABASE IF EXISTS {postgres.sql_identifier(mas.DATABASE)} WITH (FORCE)"
        ),
    }
    return shell.fragment(f"restore/{method.value}.sh", values)


def restore_script(ctx: RenderContext) -> str:
    """Return restore.sh for this deployment's database, media and bundle."""
    method = backup.database_backup(ctx)
    owner = layout.owner(ctx, ctx.homeserver.value) or "-"
    values = {
        "install_dir": shell.quote(ctx.install_dir),
        "prefix": shell.quote(ctx.answers.deployment.prefix),
        "homeserver": shell.quote(ctx.homeserver.value),
        "homeserver_data": shell.quote(layout.service_dir(ctx, ctx.homeserver.value)),
        "homeserver_owner": shell.quote(shell.word(owner)),
        "media_dir": shell.quote(backup.media_dir(ctx)),
        "backup_dir": shell.quote(backup.backup_dir(ctx)),
        "database_part": shell.quote(DATABASE_PARTS[method]),
        "stop_homeserver": _stop_homeserver(ctx),
        "prelude": shell.fragment("compose-command.sh") if ctx.compose else "",
        "database_step": _database_step(ctx, method),
        "state_part": shell.quote(backup.STATE_PART if backup.state_dirs(ctx) else ""),
        "state_step": backup.state_step(ctx, "restore"),
    }
    return shell.fragment(RESTORE_SCRIPT, values)


def render(ctx: RenderContext) -> Bundle:
    """Return restore.sh when backups are wanted."""
    if not ctx.answers.backups.enabled:
        return {}
    return {RESTORE_SCRIPT: File(restore_script(ctx), EXECUTABLE)}
