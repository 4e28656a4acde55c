restore_database() {
    say "putting back the SQLite database in $HOMESERVER_DATA"
    run mkdir -p "$HOMESERVER_DATA"
    for database in "$BACKUP"/*.db; do
        name=$(basename "$database")
        # A journal left beside the old file would be replayed into the restored one.
        run rm -f "$HOMESERVER_DATA/$name" "$HOMESERVER_DATA/$name-wal" \
            "$HOMESERVER_DATA/$name-shm" "$HOMESERVER_DATA/$name-journal"
        run cp "$database" "$HOMESERVER_DATA/$name"
        run chmod 0600 "$HOMESERVER_DATA/$name"
        chown_as "$HOMESERVER_OWNER" "$HOMESERVER_DATA/$name"
    done
}
