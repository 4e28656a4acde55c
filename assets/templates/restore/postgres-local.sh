DATABASE_NAME=@@database_name
DATABASE_USER=@@database_user
DATABASE_PORT=@@database_port
DROP_DATABASE=@@drop_database
MAS_DATABASE=@@mas_database
MAS_USER=@@mas_user
DROP_MAS_DATABASE=@@drop_mas_database

# as_postgres COMMAND...: run a PostgreSQL program as the postgres superuser over the local
# socket, from / (the postgres user may not enter the folder restore.sh runs in).
as_postgres() {
    (cd / && runuser -u postgres -- "$@")
}

restore_database() {
    say "putting back the PostgreSQL database $DATABASE_NAME (dropped, created again as apply.sh creates it, then the dump)"
    command -v pg_restore >/dev/null 2>&1 || [ "$DRY_RUN" = 1 ] ||
        fail "pg_restore is not installed: apt install postgresql-client, then run restore.sh again"
    host_run systemctl enable --now postgresql
    if [ "$DRY_RUN" = 0 ]; then
        tries=0
        until as_postgres pg_isready -q -p "$DATABASE_PORT"; do
            tries=$((tries + 1))
            [ "$tries" -lt 60 ] || fail "PostgreSQL does not answer on port $DATABASE_PORT: read journalctl -u postgresql@*"
            sleep 2
        done
    fi
    run as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$DATABASE_PORT" -d postgres -c "$DROP_DATABASE"
    if [ -n "$MAS_DATABASE" ] && [ -f "$BACKUP/mas-database.dump" ]; then
        run as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$DATABASE_PORT" -d postgres -c "$DROP_MAS_DATABASE"
    fi
    run_from "$INSTALL_DIR/postgres/init.sql" \
        as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$DATABASE_PORT" -d postgres -f -
    run_from "$BACKUP/database.dump" as_postgres pg_restore -p "$DATABASE_PORT" \
        --exit-on-error --single-transaction --no-owner --no-acl --role="$DATABASE_USER" \
        -d "$DATABASE_NAME"
    restore_mas_database
}

restore_mas_database() {
    [ -n "$MAS_DATABASE" ] || return 0
    if [ ! -f "$BACKUP/mas-database.dump" ]; then
        note "this backup holds no database of the Matrix Authentication Service (made before MAS was chosen): its accounts start empty"
        return 0
    fi
    say "putting back the Matrix Authentication Service's database $MAS_DATABASE"
    run_from "$BACKUP/mas-database.dump" as_postgres pg_restore -p "$DATABASE_PORT" \
        --exit-on-error --single-transaction --no-owner --no-acl --role="$MAS_USER" \
        -d "$MAS_DATABASE"
}
