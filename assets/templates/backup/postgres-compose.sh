DATABASE_NAME=@@database_name
DATABASE_USER=@@database_user
DATABASE_PORT=@@database_port
MAS_DATABASE=@@mas_database
SUPERUSER=@@superuser

backup_database() {
    log "dumping the PostgreSQL database $DATABASE_NAME"
    compose exec -T postgres pg_dump -U "$DATABASE_USER" -p "$DATABASE_PORT" -Fc "$DATABASE_NAME" \
        >"$target/database.dump"
    [ -n "$MAS_DATABASE" ] || return 0
    log "dumping the Matrix Authentication Service's database $MAS_DATABASE"
    compose exec -T postgres pg_dump -U "$SUPERUSER" -p "$DATABASE_PORT" -Fc "$MAS_DATABASE" \
        >"$target/mas-database.dump"
}
