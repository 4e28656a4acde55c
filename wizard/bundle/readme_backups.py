"""The README's Backups section: what is kept, when, how to copy it away, and how to restore."""

from wizard.answers.model import MEDIA_IN_DATA_FOLDER
from wizard.bundle import backup, backup_timer, layout, restore, synapse_workers
from wizard.bundle.backup import DatabaseBackup
from wizard.bundle.context import RenderContext
from wizard.units import counted

# Where the commands below keep the copies on the other machine.
OFFSITE_DIR = "matrix-backups"
# How backup.sh names each backup's folder: its UTC time.
STAMP = "YYYYMMDDTHHMMSSZ"


def _code(*lines: str) -> list[str]:
    return ["```sh", *lines, "```", ""]


def _what(ctx: RenderContext) -> str:
    """Return what backup.sh copies of the database and media, in words."""
    method = backup.database_backup(ctx)
    how = {
        DatabaseBackup.SQLITE: "a consistent copy of the SQLite database",
        DatabaseBackup.POSTGRES_COMPOSE: "a PostgreSQL dump (pg_dump -Fc)",
        DatabaseBackup.POSTGRES_LOCAL: "a PostgreSQL dump (pg_dump -Fc)",
        DatabaseBackup.POSTGRES_REMOTE: "a PostgreSQL dump (pg_dump -Fc)",
        DatabaseBackup.DATA_FOLDER: "a copy of the data folder, taken with "
        f"{ctx.homeserver.value} stopped for a moment",
    }[method]
    folders = backup.state_dirs(ctx)
    if folders:
        how += (
            f", its {' and '.join(folders)} folders (copied with {ctx.homeserver.value} "
            "stopped for a moment)"
        )
    # continuwuity and tuwunel keep media inside the data folder, which holds it in the copy.
    if ctx.homeserver in MEDIA_IN_DATA_FOLDER:
        return f"{how} (its media inside)"
    return f"{how}, the media"


def _workers_stop_with_synapse(ctx: RenderContext) -> list[str]:
    """Return how Synapse's workers follow its unit, natively, for a restore."""
    if ctx.compose or not synapse_workers.workers(ctx):
        return []
    main = layout.systemd_unit(ctx.homeserver.value)
    return [
        f"`systemctl stop {main}` stops the Synapse workers too, and `systemctl start {main}` "
        "starts them again: restore.sh stops the one, apply.sh starts the other.",
        "",
    ]


def _copy_off(ctx: RenderContext) -> list[str]:
    """Return how to keep each backup on another machine too."""
    here = ctx.homeserver_host
    folder = backup.backup_dir(ctx)
    return [
        "### Copy the backups off this machine",
        "",
        "A backup on the same disk as the homeserver does not survive losing that disk. "
        "Pull them daily from another machine, after the backup has run, so this server "
        "holds no login to the copies (no `--delete`: a copy outlives its deletion here):",
        "",
        *_code(
            f"mkdir -p {OFFSITE_DIR}/{here}",
            f"rsync -a root@{here}:{folder}/ {OFFSITE_DIR}/{here}/",
        ),
        "Or push them from this machine to an account on the other one, or copy one backup "
        "with scp:",
        "",
        *_code(
            f"sudo rsync -a {folder}/ backup@OTHER-HOST:matrix-backups/{here}/",
            f"sudo scp -rp {folder}/{STAMP} backup@OTHER-HOST:matrix-backups/{here}/",
        ),
        "Each backup holds the secrets and the signing key: keep the copies where only you "
        "can read them.",
        "",
    ]


def _restore(ctx: RenderContext) -> list[str]:
    """Return how to put a backup back, here or on a fresh machine."""
    folder = backup.backup_dir(ctx)
    script = f"{ctx.install_dir}/{restore.RESTORE_SCRIPT}"
    return [
        "### Restore",
        "",
        "restore.sh checks the backup against its SHA256SUMS, stops the homeserver, puts back "
        "this bundle (config, signing key, secrets), the database and the media, and starts "
        "the stack with apply.sh. It replaces what is there now, so it asks for `--yes`; "
        "`--dry-run` prints every step first. Without a folder it takes the newest backup:",
        "",
        *_code(
            f"sudo {script} --dry-run",
            f"sudo {script} --yes {folder}/{STAMP}",
        ),
        "On a fresh machine (the DNS records pointed at it, for its certificate), copy a "
        "backup back and run the restore.sh it holds, which also installs what the "
        "homeserver needs:",
        "",
        *_code(
            "# on the machine that keeps the copies:",
            f"rsync -a {OFFSITE_DIR}/{ctx.homeserver_host}/{STAMP} root@NEW-HOST:{folder}/",
            "# on NEW-HOST:",
            f"sudo sh {folder}/{STAMP}/{restore.RESTORE_SCRIPT} --yes {folder}/{STAMP}",
        ),
        *_workers_stop_with_synapse(ctx),
    ]


def readme_section(ctx: RenderContext) -> list[str]:
    """Return the Backups section, or nothing when backups are off."""
    settings = ctx.answers.backups
    if not settings.enabled:
        return []
    timer = backup_timer.TIMER_FILE
    return [
        "## Backups",
        "",
        f"`backup.sh` writes {_what(ctx)} and this bundle (signing key and secrets included) "
        f"to `{backup.backup_dir(ctx)}/{STAMP}/`, with restore.sh and SHA256SUMS, and deletes "
        f"backups older than {counted(settings.keep_days, 'day')}. apply.sh installs and enables "
        f"the systemd timer `{timer}`, which runs it daily at "
        f"{backup.BACKUP_HOUR:02d}:15 (a run missed while the machine was off runs when it "
        "starts again). See the next run, run one now, and read its log:",
        "",
        *_code(
            f"systemctl list-timers {timer}",
            f"sudo systemctl start {backup_timer.SERVICE_FILE}",
            f"journalctl -u {backup_timer.SERVICE_FILE}",
        ),
        *_copy_off(ctx),
        *_restore(ctx),
    ]
