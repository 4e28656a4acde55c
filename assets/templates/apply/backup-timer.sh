# backup_systemctl ARGS...: systemctl on the host for the backup's timer; printed, not run,
# under a staging prefix, and said how to do by hand where there is no systemd.
backup_systemctl() {
    if [ -n "$PREFIX" ]; then
        printf '+ systemctl %s   (staging: not done)\n' "$*"
    elif command -v systemctl >/dev/null 2>&1; then
        run systemctl "$@"
    else
        note "no systemctl here: run $INSTALL_DIR/backup.sh daily some other way (systemctl $* was not run)"
    fi
}

# timer_enabled: whether the timer runs and starts at boot; a staging run under a prefix counts
# an installed timer as enabled, since the run that installed it printed its enable.
timer_enabled() {
    if [ -n "$PREFIX" ]; then
        return 0
    fi
    command -v systemctl >/dev/null 2>&1 &&
        systemctl is-enabled --quiet "$BACKUP_TIMER" 2>/dev/null &&
        systemctl is-active --quiet "$BACKUP_TIMER" 2>/dev/null
}

# schedule_backups: install backup.sh's systemd service and timer and enable the timer, in
# place of the cron.d file earlier bundles asked for; with backups off, stop a timer left on.
schedule_backups() {
    say "scheduling the backups"
    if [ -f "$BACKUP_CRON_FILE" ]; then
        note "$BACKUP_CRON_FILE gives way to the systemd timer"
        run rm -f "$BACKUP_CRON_FILE"
    fi
    if [ ! -f "$SOURCE_DIR/$UNIT_FOLDER/$BACKUP_TIMER" ]; then
        if [ -f "$BACKUP_UNIT_DIR/$BACKUP_TIMER" ]; then
            backup_systemctl disable --now "$BACKUP_TIMER"
            run rm -f "$BACKUP_UNIT_DIR/$BACKUP_TIMER" "$BACKUP_UNIT_DIR/$BACKUP_SERVICE"
            backup_systemctl daemon-reload
        fi
        note "backups are off"
        return 0
    fi
    changed=0
    for unit in "$BACKUP_SERVICE" "$BACKUP_TIMER"; do
        if ! cmp -s "$SOURCE_DIR/$UNIT_FOLDER/$unit" "$BACKUP_UNIT_DIR/$unit"; then
            [ -d "$BACKUP_UNIT_DIR" ] || run mkdir -p "$BACKUP_UNIT_DIR"
            run install -m 0644 "$SOURCE_DIR/$UNIT_FOLDER/$unit" "$BACKUP_UNIT_DIR/$unit"
            changed=1
        fi
    done
    if [ "$changed" = 1 ]; then
        backup_systemctl daemon-reload
        backup_systemctl enable --now "$BACKUP_TIMER"
    elif timer_enabled; then
        note "$BACKUP_TIMER is enabled and unchanged"
    else
        backup_systemctl enable --now "$BACKUP_TIMER"
    fi
    note "$INSTALL_DIR/backup.sh runs daily ($BACKUP_SCHEDULE); see the next run with: systemctl list-timers $BACKUP_TIMER"
}
