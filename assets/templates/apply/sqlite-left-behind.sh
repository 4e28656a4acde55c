# Synapse's SQLite database from an earlier bundle stays where this bundle, on PostgreSQL, would
# start Synapse on an empty database: stop, rather than leave its users and rooms behind.
MOVE_SQLITE=@@sqlite
WHY_NO_MOVE=@@why_no_move

# move_to_postgresql WHEN: refuse before anything is installed.
move_to_postgresql() {
    [ "$1" = before-install ] && [ -f "$MOVE_SQLITE" ] || return 0
    fail "$MOVE_SQLITE holds Synapse's SQLite database; this bundle ($WHY_NO_MOVE) does not move it to PostgreSQL: port it with synapse_port_db as Synapse's docs/postgres.md says and move the file away, or keep database.kind sqlite; then run apply.sh again"
}
