# The move without containers: Synapse runs as its systemd unit, its programs from its venv, and
# the move runs before this bundle's config is placed, so that Synapse can start on SQLite again.
MOVE_WHEN=before-install
POSTGRES_DATA=@@postgres_data
SNAPSHOT_WHILE="with $HOMESERVER stopped"
HOMESERVER_RUNS_WHERE=
UPDATES_HINT="start it on SQLite, wait until its background_updates table is empty, then run apply.sh again"

# homeserver_path PATH: print PATH as Synapse's programs see it.
homeserver_path() {
    echo "$1"
}

# homeserver_run PROGRAM ARGS...: run one of Synapse's programs from its venv.
homeserver_run() {
    program=$1
    shift
    "$SYNAPSE_VENV/bin/$program" "$@"
}

# homeserver_serving: whether Synapse can run its background updates meanwhile.
homeserver_serving() {
    acting
}

stop_for_snapshot() {
    stop_homeserver
}

start_after_snapshot() {
    host_run systemctl start "$HOMESERVER_UNIT"
}

stop_homeserver() {
    host_run systemctl stop "$HOMESERVER_UNIT"
}

# homeserver_database_psql ARGS...: psql as PostgreSQL's superuser in Synapse's database.
homeserver_database_psql() {
    as_postgres_psql -d "$DATABASE_NAME" "$@"
}

# postgres_data_dir: print PostgreSQL's data folder, as the server says, or where it will be.
postgres_data_dir() {
    dir=
    if [ "$DRY_RUN" = 0 ]; then
        dir=$(as_postgres_psql -d postgres -tA -c 'SHOW data_directory' 2>/dev/null || true)
    fi
    nearest_folder "${dir:-$POSTGRES_DATA}"
}

move_database() {
    say "moving to PostgreSQL, 1 of 5: the database $DATABASE_NAME (C collation, template0, owned by $DATABASE_USER)"
    if acting; then
        check_database
    else
        run_from "$SOURCE_DIR/postgres/init.sql" as_postgres_psql -q -v ON_ERROR_STOP=1 -d postgres -f -
    fi
    record_move database
}
