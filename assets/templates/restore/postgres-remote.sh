DATABASE_NAME=@@database_name
DATABASE_USER=@@database_user
DATABASE_HOST=@@database_host
DATABASE_PORT=@@database_port
MAS_DATABASE=@@mas_database
MAS_USER=@@mas_user

# Read one value from secrets.yaml, so no password is written into this script or printed.
secret_value() {
    sed -n "s/^$1: *//p" "$INSTALL_DIR/secrets.yaml" | sed "s/^'\(.*\)'\$/\1/"
}

restore_database() {
    say "putting back the PostgreSQL database $DATABASE_NAME on $DATABASE_HOST: its tables are replaced by the dump's (the database must exist, UTF8 with C collation, owned by $DATABASE_USER)"
    command -v pg_restore >/dev/null 2>&1 || [ "$DRY_RUN" = 1 ] ||
        fail "pg_restore is not installed: apt install postgresql-client, then run restore.sh again"
    if [ "$DRY_RUN" = 0 ]; then
        PGPASSWORD=$(secret_value database_password)
        export PGPASSWORD
    fi
    run_from "$BACKUP/database.dump" pg_restore -h "$DATABASE_HOST" -p "$DATABASE_PORT" \
        -U "$DATABASE_USER" --clean --if-exists --exit-on-error --single-transaction \
        --no-owner --no-acl -d "$DATABASE_NAME"
    [ -n "$MAS_DATABASE" ] || return 0
    if [ ! -f "$BACKUP/mas-database.dump" ]; then
        note "this backup holds no database of the Matrix Authentication Service (made before MAS was chosen): its accounts start empty"
        return 0
    fi
    say "putting back the Matrix Authentication Service's database $MAS_DATABASE on $DATABASE_HOST"
    if [ "$DRY_RUN" = 0 ]; then
        PGPASSWORD=$(secret_value mas_database_password)
        export PGPASSWORD
    fi
    run_from "$BACKUP/mas-database.dump" pg_restore -h "$DATABASE_HOST" -p "$DATABASE_PORT" \
        -U "$MAS_USER" --clean --if-exists --exit-on-error --single-transaction \
        --no-owner --no-acl -d "$MAS_DATABASE"
}
