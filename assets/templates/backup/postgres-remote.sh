DATABASE_NAME=@@database_name
DATABASE_USER=@@database_user
DATABASE_HOST=@@database_host
DATABASE_PORT=@@database_port
MAS_DATABASE=@@mas_database
MAS_USER=@@mas_user

# Read one value from secrets.yaml, so no password is written into this script.
secret_value() {
    sed -n "s/^$1: *//p" "$INSTALL_DIR/secrets.yaml" | sed "s/^'\(.*\)'\$/\1/"
}

backup_database() {
    command -v pg_dump >/dev/null 2>&1 || fail "pg_dump is not installed: apt install postgresql-client"
    log "dumping the PostgreSQL database $DATABASE_NAME from $DATABASE_HOST"
    PGPASSWORD="$(secret_value database_password)" pg_dump -h "$DATABASE_HOST" \
        -p "$DATABASE_PORT" -U "$DATABASE_USER" -Fc "$DATABASE_NAME" >"$target/database.dump"
    [ -n "$MAS_DATABASE" ] || return 0
    log "dumping the Matrix Authentication Service's database $MAS_DATABASE from $DATABASE_HOST"
    PGPASSWORD="$(secret_value mas_database_password)" pg_dump -h "$DATABASE_HOST" \
        -p "$DATABASE_PORT" -U "$MAS_USER" -Fc "$MAS_DATABASE" >"$target/mas-database.dump"
}
