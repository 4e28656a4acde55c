DATABASE_NAME=@@database_name
DATABASE_USER=@@database_user
DATABASE_PORT=@@database_port

backup_database() {
    log "dumping the PostgreSQL database $DATABASE_NAME"
    compose exec -T postgres pg_dump -U "$DATABASE_USER" -p "$DATABASE_PORT" -Fc "$DATABASE_NAME" \
        >"$target/database.dump"
}
