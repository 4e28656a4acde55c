backup_database() {
    command -v sqlite3 >/dev/null 2>&1 || fail "sqlite3 is not installed: apt install sqlite3"
    found=0
    for database in "$HOMESERVER_DATA"/*.db; do
        [ -f "$database" ] || continue
        found=1
        log "copying the SQLite database $database"
        sqlite3 "$database" ".backup '$target/$(basename "$database")'"
    done
    if [ "$found" = 0 ]; then
        log "no SQLite database in $HOMESERVER_DATA yet"
    fi
}
