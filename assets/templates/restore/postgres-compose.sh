DATABASE_NAME=@@database_name
DATABASE_USER=@@database_user
DATABASE_PORT=@@database_port
DROP_DATABASE=@@drop_database
SUPERUSER=@@superuser
MAS_DATABASE=@@mas_database
MAS_USER=@@mas_user
DROP_MAS_DATABASE=@@drop_mas_database

restore_database() {
    say "putting back the PostgreSQL database $DATABASE_NAME (dropped, created again as apply.sh creates it, then the dump)"
    run compose up -d postgres
    if [ "$DRY_RUN" = 0 ]; then
        tries=0
        until compose exec -T postgres pg_isready -q -h 127.0.0.1 -p "$DATABASE_PORT"; do
            tries=$((tries + 1))
            [ "$tries" -lt 60 ] || fail "PostgreSQL did not start in 2 minutes: see ${COMPOSE:-docker compose} logs postgres"
            sleep 2
        done
    fi
    run compose exec -T postgres psql -X -q -v ON_ERROR_STOP=1 -U "$SUPERUSER" \
        -p "$DATABASE_PORT" -d postgres -c "$DROP_DATABASE"
    if [ -n "$MAS_DATABASE" ] && [ -f "$BACKUP/mas-database.dump" ]; then
        run compose exec -T postgres psql -X -q -v ON_ERROR_STOP=1 -U "$SUPERUSER" \
            -p "$DATABASE_PORT" -d postgres -c "$DROP_MAS_DATABASE"
    fi
    run_from "$INSTALL_DIR/postgres/init.sql" compose exec -T postgres psql -X -q \
        -v ON_ERROR_STOP=1 -U "$SUPERUSER" -p "$DATABASE_PORT" -d postgres -f -
    run_from "$BACKUP/database.dump" compose exec -T postgres pg_restore -U "$SUPERUSER" \
        -p "$DATABASE_PORT" --exit-on-error --single-transaction --no-owner --no-acl \
        --role="$DATABASE_USER" -d "$DATABASE_NAME"
    restore_mas_database
}

restore_mas_database() {
    [ -n "$MAS_DATABASE" ] || return 0
    if [ ! -f "$BACKUP/mas-database.dump" ]; then
        note "this backup holds no database of the Matrix Authentication Service (made before MAS was chosen): its accounts start empty"
        return 0
    fi
    say "putting back the Matrix Authentication Service's database $MAS_DATABASE"
    run_from "$BACKUP/mas-database.dump" compose exec -T postgres pg_restore -U "$SUPERUSER" \
        -p "$DATABASE_PORT" --exit-on-error --single-transaction --no-owner --no-acl \
        --role="$MAS_USER" -d "$MAS_DATABASE"
}
