"""The backups' systemd timer: daily, catching up, running the installed backup.sh."""

from typing import Any

import pytest

from tests.bundle_support import answers_for, context_for
from wizard.bundle import apply_script, backup_timer, native


def units_for(**sets: Any) -> dict[str, str]:
    files = backup_timer.render(context_for(answers_for(**sets)))
    return {path: file.text for path, file in files.items()}


@pytest.mark.parametrize("kind", ["native", "compose"])
def test_both_deployments_get_the_same_host_timer(kind: str) -> None:
    units = units_for(deployment__kind=kind)
    assert sorted(units) == sorted(backup_timer.unit_files())
    timer = units["systemd/matrix-wizard-backup.timer"]
    assert "OnCalendar=*-*-* 03:15:00\n" in timer
    assert "Persistent=true\n" in timer
    assert "WantedBy=timers.target\n" in timer
    service = units["systemd/matrix-wizard-backup.service"]
    assert "Type=oneshot\n" in service
    assert "ExecStart=/opt/matrix-wizard/backup.sh\n" in service
    after = "docker.service" if kind == "compose" else "postgresql.service"
    assert (
        f"After={after}\n"
        in units_for(deployment__kind=kind, database="postgresql")[
            "systemd/matrix-wizard-backup.service"
        ]
    )


def test_no_timer_when_backups_are_off() -> None:
    assert units_for(backups__enabled=False) == {}


def test_apply_sh_enables_the_timer_and_removes_the_cron_file() -> None:
    text = apply_script.apply_script(context_for(answers_for()))
    assert "BACKUP_TIMER=matrix-wizard-backup.timer\n" in text
    assert "BACKUP_CRON_FILE=/etc/cron.d/matrix-wizard-backup\n" in text
    assert 'backup_systemctl enable --now "$BACKUP_TIMER"' in text
    assert "\nschedule_backups\n" in text


@pytest.mark.parametrize(
    ("sets", "package"),
    [
        ({"database": "sqlite"}, "sqlite3"),
        ({"database": "postgresql", "database__host": "db.example.org"}, "postgresql-client"),
    ],
)
def test_what_backup_sh_runs_on_the_host_is_installed(sets: dict[str, Any], package: str) -> None:
    native_ctx = context_for(answers_for(deployment__kind="native", **sets))
    assert package in native.apt_packages(native_ctx)
    compose = apply_script.apply_script(
        context_for(answers_for(deployment__kind="compose", **sets))
    )
    assert f"BACKUP_PACKAGES={package}\n" in compose
    off = context_for(answers_for(deployment__kind="native", backups__enabled=False, **sets))
    assert package not in native.apt_packages(off)
