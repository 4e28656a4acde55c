# The move under compose: it runs once this bundle is in place and PostgreSQL answers, before
# the stack starts. The running Synapse container keeps the SQLite config it started with and
# serves from it while the snapshot is taken and ported; it could not start on SQLite again,
# because its config folder now holds this bundle's. Synapse's programs run in its container, or
# in one-off containers of its image, which see its data folder as HOMESERVER_DATA_IN_CONTAINER.
MOVE_WHEN=before-start
POSTGRES_DATA=@@postgres_data
HOMESERVER_DATA=@@homeserver_data
HOMESERVER_DATA_IN_CONTAINER=@@homeserver_data_in_container
SNAPSHOT_WHILE="while $HOMESERVER serves from it"
HOMESERVER_RUNS_WHERE="   (in a $HOMESERVER container)"
UPDATES_HINT="apply the earlier bundle (database.kind sqlite) again, wait until Synapse's background_updates table is empty, then run this apply.sh again"

# homeserver_path PATH: print PATH in Synapse's data folder as its containers see it.
homeserver_path() {
    echo "$HOMESERVER_DATA_IN_CONTAINER${1#"$HOMESERVER_DATA"}"
}

# homeserver_run PROGRAM ARGS...: run one of Synapse's programs in its running container, or in
# a one-off container of its image while it is stopped.
homeserver_run() {
    program=$1
    shift
    if homeserver_serving; then
        compose exec -T "$HOMESERVER" "$program" "$@"
    else
        compose run --rm --no-deps -T --entrypoint "$program" "$HOMESERVER" "$@"
    fi
}

# homeserver_serving: whether Synapse's container runs, and so runs its background updates.
homeserver_serving() {
    compose ps --services --filter status=running 2>/dev/null | grep -qx "$HOMESERVER"
}

stop_for_snapshot() {
    note "$HOMESERVER keeps serving meanwhile: SQLite's backup copies one consistent state"
}

start_after_snapshot() {
    return 0
}

stop_homeserver() {
    run_compose stop "$HOMESERVER"
}

# homeserver_database_psql ARGS...: psql as PostgreSQL's superuser in Synapse's database.
homeserver_database_psql() {
    container_psql postgres "$@"
}

# postgres_data_dir: print the folder of PostgreSQL's data, or its nearest parent.
postgres_data_dir() {
    nearest_folder "$POSTGRES_DATA"
}

move_database() {
    say "moving to PostgreSQL, 1 of 5: the database $DATABASE_NAME (C collation, owned by $DATABASE_USER)"
    note "made by postgres/init.sql with PostgreSQL's cluster, and checked above"
    record_move database
}
