"""The systemd timer and service that run backup.sh daily on the host, native or compose."""

from wizard.bundle import backup
from wizard.bundle.context import RenderContext
from wizard.bundle.model import Bundle, File
from wizard.bundle.systemd import UNIT_FOLDER, Section, UnitFile, exec_line

BACKUP_UNIT = "matrix-wizard-backup"
SERVICE_FILE = f"{BACKUP_UNIT}.service"
TIMER_FILE = f"{BACKUP_UNIT}.timer"
# Daily at 03:15 local time; a run missed while the machine was off happens at the next boot.
ON_CALENDAR = f"*-*-* {backup.BACKUP_HOUR:02d}:15:00"


def unit_files() -> list[str]:
    """Return the bundle paths of the backup's service and timer."""
    return [f"{UNIT_FOLDER}/{SERVICE_FILE}", f"{UNIT_FOLDER}/{TIMER_FILE}"]


def _after(ctx: RenderContext) -> str:
    """Return what must run before a backup: the database server or the container engine."""
    if ctx.compose:
        return "docker.service"
    if ctx.bundled_postgres:
        return "postgresql.service"
    return "network-online.target"


def _service(ctx: RenderContext) -> UnitFile:
    """Return the oneshot service that runs backup.sh as root, gently on CPU and disk."""
    return UnitFile(
        f"{UNIT_FOLDER}/{SERVICE_FILE}",
        f"{SERVICE_FILE}, written by matrix-wizard: runs backup.sh once; {TIMER_FILE} starts it.",
        (
            Section(
                "Unit",
                (
                    ("Description", f"Back up the Matrix homeserver {ctx.server_name}"),
                    ("After", _after(ctx)),
                    ("Wants", _after(ctx)),
                ),
            ),
            Section(
                "Service",
                (
                    ("Type", "oneshot"),
                    ("ExecStart", exec_line([f"{ctx.install_dir}/{backup.BACKUP_SCRIPT}"])),
                    ("Nice", "10"),
                    ("IOSchedulingClass", "idle"),
                    ("PrivateTmp", "yes"),
                    ("NoNewPrivileges", "yes"),
                    ("ProtectSystem", "full"),
                ),
            ),
        ),
    )


def _timer(ctx: RenderContext) -> UnitFile:
    """Return the timer that starts the backup daily, catching up a run missed while off."""
    return UnitFile(
        f"{UNIT_FOLDER}/{TIMER_FILE}",
        f"{TIMER_FILE}, written by matrix-wizard: backs up daily; apply.sh enables it.",
        (
            Section("Unit", (("Description", f"Daily backup of {ctx.server_name}"),)),
            Section("Timer", (("OnCalendar", ON_CALENDAR), ("Persistent", "true"))),
            Section("Install", (("WantedBy", "timers.target"),)),
        ),
    )


def render(ctx: RenderContext) -> Bundle:
    """Return the backup's service and timer when backups are wanted."""
    if not ctx.answers.backups.enabled:
        return {}
    return {unit.path: File(unit.text()) for unit in (_service(ctx), _timer(ctx))}
