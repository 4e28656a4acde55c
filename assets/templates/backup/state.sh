STATE_DIRS=@@state_dirs

stop_for_state() {
    @@stop_homeserver
}

start_after_state() {
    @@start_homeserver
}

# backup_state: the folders of the homeserver's own state beside its database (Dendrite's
# JetStream and search index), copied with it stopped for a moment so they are consistent.
backup_state() {
    log "stopping @@homeserver for a consistent copy of $STATE_DIRS"
    stop_for_state
    trap start_after_state EXIT
    found=""
    for folder in $STATE_DIRS; do
        [ ! -d "$HOMESERVER_DATA/$folder" ] || found="$found $folder"
    done
    # shellcheck disable=SC2086
    tar -C "$HOMESERVER_DATA" -cf "$target/homeserver-state.tar" $found
    trap - EXIT
    log "starting @@homeserver again"
    start_after_state
}
