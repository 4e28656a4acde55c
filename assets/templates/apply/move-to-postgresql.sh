# Moving Synapse from SQLite to PostgreSQL, once: when the data folder still holds the SQLite
# database an earlier bundle used, its content is ported into PostgreSQL before Synapse starts on
# this bundle's config (which names PostgreSQL). Each finished step is written to MOVE_STATE, so
# a run stopped at any step goes on from there when apply.sh runs again. How Synapse stops and
# where its programs run belong to the deployment (the functions after this part).
MOVE_SQLITE=@@sqlite
MOVE_DIR=@@move_dir
MOVE_STATE="$MOVE_DIR/state"
MOVE_SNAPSHOT="$MOVE_DIR/snapshot.db"
MOVE_KEPT="$MOVE_DIR/homeserver.db"
MOVE_LOG="$MOVE_DIR/port.log"
# The copy of the bundle's config the port reads, PostgreSQL's password in it.
MOVE_PORT_CONFIG="$MOVE_DIR/homeserver-postgres.yaml"
MOVE_STEPS="database snapshot first-port final-port kept"
# Who owns the move's folder: the user the port runs as (- for root).
MOVE_OWNER=@@move_owner
PORT_PROGRAM=@@port_program
PORT_CONFIG=@@port_config
# The pause between PostgreSQL's background updates while the port prepares it (Synapse's own
# default is a second, for a server that serves users meanwhile).
PORT_SLEEP_MS=@@port_sleep_ms
# PostgreSQL takes up to twice the SQLite file and files of its own besides; the snapshot takes
# once more.
POSTGRES_FACTOR=@@postgres_factor
POSTGRES_ALLOWANCE_KB=@@postgres_allowance_kb
SNAPSHOT_FACTOR=@@snapshot_factor
SYNAPSE_TABLES_QUERY=@@synapse_tables_query

# move_state: print the last finished step of the move, or none.
move_state() {
    if [ -s "$MOVE_STATE" ]; then
        cat "$MOVE_STATE"
    else
        echo none
    fi
}

# step_number STEP: print the place of STEP in MOVE_STEPS, 0 for none.
step_number() {
    number=0
    for step in $MOVE_STEPS; do
        number=$((number + 1))
        if [ "$step" = "$1" ]; then
            echo "$number"
            return 0
        fi
    done
    echo 0
}

# move_passed STEP: whether an earlier run finished STEP.
move_passed() {
    [ "$(step_number "$(move_state)")" -ge "$(step_number "$1")" ]
}

# record_move STEP: note that STEP is finished (not in a dry run).
record_move() {
    [ "$DRY_RUN" = 0 ] || return 0
    printf '%s\n' "$1" >"$MOVE_STATE"
}

move_wanted() {
    case "$(move_state)" in
        kept) return 1 ;;
        none) [ -f "$MOVE_SQLITE" ] ;;
        *) return 0 ;;
    esac
}

# megabytes KILOBYTES: print KILOBYTES in MB, rounded up.
megabytes() {
    echo $((($1 + 1023) / 1024))
}

# free_kilobytes FOLDER: print the free space of FOLDER's file system, in KB.
free_kilobytes() {
    df -Pk "$1" | awk 'NR == 2 { print $4 }'
}

# mount_of FOLDER: print where FOLDER's file system is mounted.
mount_of() {
    df -Pk "$1" | awk 'NR == 2 { print $6 }'
}

# nearest_folder PATH: print PATH, or its nearest parent that exists.
nearest_folder() {
    folder=$1
    while [ ! -d "$folder" ]; do
        folder=$(dirname "$folder")
    done
    echo "$folder"
}

# refuse_small_disk SQLITE_KB NEEDED_KB FREE_KB MOUNT WHAT: stop, saying why, when FREE_KB of
# MOUNT cannot hold NEEDED_KB (WHAT says what it holds).
refuse_small_disk() {
    [ "$3" -lt "$2" ] || return 0
    why="moving the SQLite database to PostgreSQL needs $(megabytes "$2") MB free on $4 ($5; the SQLite database is $(megabytes "$1") MB), but only $(megabytes "$3") MB are free: free some space or grow the disk, then run apply.sh again"
    if [ "$DRY_RUN" = 1 ]; then
        note "the real run stops here: $why"
    else
        fail "$why"
    fi
}

# check_move_disk SQLITE_KB DATA_FOLDER POSTGRES_FOLDER: stop unless the disks hold the copy.
check_move_disk() {
    postgres_kb=$(($1 * POSTGRES_FACTOR + POSTGRES_ALLOWANCE_KB))
    snapshot_kb=$(($1 * SNAPSHOT_FACTOR))
    data_mount=$(mount_of "$2")
    postgres_mount=$(mount_of "$3")
    if [ "$data_mount" = "$postgres_mount" ]; then
        refuse_small_disk "$1" $((postgres_kb + snapshot_kb)) "$(free_kilobytes "$2")" "$data_mount" \
            "x$POSTGRES_FACTOR and $(megabytes "$POSTGRES_ALLOWANCE_KB") MB for PostgreSQL's copy, x$SNAPSHOT_FACTOR for a snapshot"
    else
        refuse_small_disk "$1" "$snapshot_kb" "$(free_kilobytes "$2")" "$data_mount" \
            "x$SNAPSHOT_FACTOR for a snapshot"
        refuse_small_disk "$1" "$postgres_kb" "$(free_kilobytes "$3")" "$postgres_mount" \
            "x$POSTGRES_FACTOR and $(megabytes "$POSTGRES_ALLOWANCE_KB") MB for PostgreSQL's copy"
    fi
    note "the SQLite database is $(megabytes "$1") MB; the disks hold PostgreSQL's copy (up to x$POSTGRES_FACTOR) and a snapshot (x$SNAPSHOT_FACTOR)"
}

# refuse_two_databases: stop when PostgreSQL already holds Synapse's tables though no move began.
refuse_two_databases() {
    if [ "$DRY_RUN" = 1 ]; then
        printf '+ check that the database %s holds no Synapse tables yet\n' "$DATABASE_NAME"
        return 0
    fi
    tables=$(homeserver_database_psql -tA -c "$SYNAPSE_TABLES_QUERY" 2>/dev/null || echo 0)
    [ "$tables" = 0 ] ||
        fail "$MOVE_SQLITE is Synapse's SQLite database, but the PostgreSQL database $DATABASE_NAME already holds Synapse's tables, and no move was begun here: keep the one to go on with (move $MOVE_SQLITE away to keep PostgreSQL's, or drop $DATABASE_NAME to move SQLite's into it), then run apply.sh again"
}

# run_from FILE COMMAND...: print a command that reads FILE, then run it so, unless a dry run.
run_from() {
    file=$1
    shift
    printf '+ %s < %s\n' "$*" "$file"
    if [ "$DRY_RUN" = 0 ]; then
        "$@" <"$file"
    fi
}

# write_port_config: copy the bundle's config, which names PostgreSQL, for the port to read.
write_port_config() {
    printf '+ cp %s %s, adding background_updates: sleep_duration_ms: %s\n' \
        "$SOURCE_DIR/$PORT_CONFIG" "$MOVE_PORT_CONFIG" "$PORT_SLEEP_MS"
    [ "$DRY_RUN" = 0 ] || return 0
    (
        umask 077
        {
            cat "$SOURCE_DIR/$PORT_CONFIG"
            printf 'background_updates:\n  sleep_duration_ms: %s\n' "$PORT_SLEEP_MS"
        } >"$MOVE_PORT_CONFIG"
    )
    chown_as 0 "$MOVE_OWNER" "$MOVE_PORT_CONFIG"
}

# port SQLITE_FILE: copy what SQLITE_FILE holds and PostgreSQL does not yet into PostgreSQL.
port() {
    sqlite=$(homeserver_path "$1")
    config=$(homeserver_path "$MOVE_PORT_CONFIG")
    printf '+ %s --sqlite-database %s --postgres-config %s >>%s%s\n' \
        "$PORT_PROGRAM" "$sqlite" "$config" "$MOVE_LOG" "$HOMESERVER_RUNS_WHERE"
    [ "$DRY_RUN" = 0 ] || return 0
    began=$(date +%s)
    if ! homeserver_run "$PORT_PROGRAM" --sqlite-database "$sqlite" --postgres-config "$config" \
        >>"$MOVE_LOG" 2>&1; then
        tail -n 20 "$MOVE_LOG" >&2
        fail "porting $1 into PostgreSQL stopped (its log: $MOVE_LOG, the end above); run apply.sh again once its cause is fixed: it goes on from there. If it says background updates are pending, let Synapse run on SQLite until they are done first"
    fi
    note "ported in $(($(date +%s) - began)) s"
}

# pending_updates: print how many background updates Synapse has still to run in SQLite.
pending_updates() {
    homeserver_run python -c 'import sqlite3, sys
database = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(database.execute("SELECT count(*) FROM background_updates").fetchone()[0])' \
        "$(homeserver_path "$MOVE_SQLITE")"
}

# wait_for_background_updates: synapse_port_db refuses a database with background updates
# pending, which Synapse runs a while after it starts or is upgraded: wait while it runs them.
wait_for_background_updates() {
    if [ "$DRY_RUN" = 1 ]; then
        echo "+ wait until $HOMESERVER has run its background updates in SQLite"
        return 0
    fi
    tries=0
    while left=$(pending_updates) && [ "$left" != 0 ]; do
        homeserver_serving || fail "$HOMESERVER has $left background updates to run in SQLite first: $UPDATES_HINT"
        tries=$((tries + 1))
        [ "$tries" -lt 720 ] || fail "$HOMESERVER still has $left background updates to run in SQLite after an hour: read its log ($(log_command)), then run apply.sh again"
        [ $((tries % 6)) != 1 ] || note "waiting for $HOMESERVER to run its $left background updates in SQLite"
        sleep 5
    done
    [ -n "$left" ] || fail "cannot read the background updates of $MOVE_SQLITE (see above)"
}

# sqlite_copy DATABASE COPY: copy an SQLite database consistently, with SQLite's backup.
sqlite_copy() {
    rm -f "$2"
    homeserver_run python -c 'import sqlite3, sys
source = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
copy = sqlite3.connect(sys.argv[2])
source.backup(copy)
copy.close()' "$(homeserver_path "$1")" "$(homeserver_path "$2")"
}

move_snapshot() {
    say "moving to PostgreSQL, 2 of 5: a snapshot of the SQLite database, $SNAPSHOT_WHILE"
    wait_for_background_updates
    stop_for_snapshot
    # SQLite's own backup copies what its write-ahead log holds too, which a copy of the file
    # alone would lose, and copies one consistent state while Synapse writes.
    run sqlite_copy "$MOVE_SQLITE" "$MOVE_SNAPSHOT.part"
    run mv "$MOVE_SNAPSHOT.part" "$MOVE_SNAPSHOT"
    record_move snapshot
}

move_first_port() {
    say "moving to PostgreSQL, 3 of 5: porting the snapshot while $HOMESERVER serves from SQLite"
    start_after_snapshot
    port "$MOVE_SNAPSHOT"
    record_move first-port
}

move_final_port() {
    say "moving to PostgreSQL, 4 of 5: $HOMESERVER stopped, porting what changed since the snapshot"
    wait_for_background_updates
    stop_homeserver
    port "$MOVE_SQLITE"
    record_move final-port
}

move_keep_sqlite() {
    say "moving to PostgreSQL, 5 of 5: keeping the SQLite database in $MOVE_KEPT"
    # A file moved by a run stopped right after it is not there any more.
    [ ! -f "$MOVE_SQLITE" ] || run mv "$MOVE_SQLITE" "$MOVE_KEPT"
    for journal in -wal -shm -journal; do
        [ ! -f "$MOVE_SQLITE$journal" ] || run mv "$MOVE_SQLITE$journal" "$MOVE_KEPT$journal"
    done
    run rm -f "$MOVE_SNAPSHOT" "$MOVE_PORT_CONFIG"
    record_move kept
    note "$HOMESERVER starts on PostgreSQL below; once it runs well, delete $MOVE_KEPT to free its space"
}

# move_stopped: on the way out of a move that failed, say where it stopped and how to go on.
move_stopped() {
    status=$?
    [ "$status" = 0 ] ||
        printf 'apply.sh: the move to PostgreSQL stopped (done so far: %s); once the cause above is fixed, run apply.sh again: it goes on from there\n' "$(move_state)" >&2
}

# move_to_postgresql WHEN: port the SQLite database into PostgreSQL, going on where a run
# stopped, when apply.sh reaches MOVE_WHEN (before-install or before-start).
move_to_postgresql() {
    [ "$1" = "$MOVE_WHEN" ] || return 0
    move_wanted || return 0
    say "moving $HOMESERVER's SQLite database $MOVE_SQLITE to PostgreSQL (done so far: $(move_state))"
    run mkdir -p "$MOVE_DIR"
    run chmod 0700 "$MOVE_DIR"
    chown_as 0 "$MOVE_OWNER" "$MOVE_DIR"
    if ! move_passed snapshot; then
        [ -f "$MOVE_SQLITE" ] || fail "$MOVE_SQLITE is gone before its snapshot was taken; put it back, then run apply.sh again"
        check_move_disk "$(du -k "$MOVE_SQLITE" | cut -f 1)" "$(nearest_folder "$MOVE_DIR")" "$(postgres_data_dir)"
    fi
    trap move_stopped EXIT
    move_passed database || {
        refuse_two_databases
        move_database
    }
    move_passed snapshot || move_snapshot
    move_passed final-port || write_port_config
    move_passed first-port || move_first_port
    move_passed final-port || move_final_port
    move_passed kept || move_keep_sqlite
    trap - EXIT
}
