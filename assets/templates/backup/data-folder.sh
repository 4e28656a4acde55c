HOMESERVER=@@homeserver

stop_homeserver() {
    @@stop_homeserver
}

start_homeserver() {
    @@start_homeserver
}

backup_database() {
    log "stopping $HOMESERVER for a consistent copy of its database"
    stop_homeserver
    trap start_homeserver EXIT
    tar -C "$HOMESERVER_DATA" -cf "$target/homeserver-data.tar" .
    trap - EXIT
    log "starting $HOMESERVER again"
    start_homeserver
}
