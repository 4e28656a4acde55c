STATE_DIRS=@@state_dirs

# restore_state: the folders of the homeserver's own state beside its database (Dendrite's
# JetStream and search index), emptied and filled from the backup.
restore_state() {
    say "putting back $STATE_DIRS in $HOMESERVER_DATA"
    for folder in $STATE_DIRS; do
        run rm -rf "${HOMESERVER_DATA:?}/$folder"
    done
    run mkdir -p "$HOMESERVER_DATA"
    run tar -C "$HOMESERVER_DATA" -xpf "$BACKUP/homeserver-state.tar"
    for folder in $STATE_DIRS; do
        if [ "$DRY_RUN" = 1 ] || [ -d "$HOMESERVER_DATA/$folder" ]; then
            chown_as "$HOMESERVER_OWNER" "$HOMESERVER_DATA/$folder"
        fi
    done
}
