DATABASE_NAME=@@database_name
DATABASE_PORT=@@database_port
MAS_DATABASE=@@mas_database

backup_database() {
    command -v pg_dump >/dev/null 2>&1 || fail "pg_dump is not installed: apt install postgresql-client"
    log "dumping the PostgreSQL database $DATABASE_NAME"
    runuser -u postgres -- pg_dump -p "$DATABASE_PORT" -Fc "$DATABASE_NAME" >"$target/database.dump"
    [ -n "$MAS_DATABASE" ] || return 0
    log "dumping the Matrix Authentication Service's database $MAS_DATABASE"
    runuser -u postgres -- pg_dump -p "$DATABASE_PORT" -Fc "$MAS_DATABASE" >"$target/mas-database.dump"
}
