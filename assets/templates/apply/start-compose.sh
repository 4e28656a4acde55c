PREREQUISITES_HINT="Install Docker Engine with its compose plugin (https://docs.docker.com/engine/install/), and on Debian or Ubuntu: apt install curl certbot"

missing_programs() {
    if [ "$SKIP_START" = 0 ]; then
        command -v docker >/dev/null 2>&1 || printf ' docker'
        [ -n "$COMPOSE" ] || printf ' docker-compose-plugin'
        if [ "$READY_WITH_CURL" = 1 ]; then
            command -v curl >/dev/null 2>&1 || printf ' curl'
        fi
    fi
    if needs_certbot; then
        command -v certbot >/dev/null 2>&1 || printf ' certbot'
    fi
    return 0
}

# The containers bring their programs with them.
install_programs() {
    return 0
}

run_compose() {
    run ${COMPOSE:-docker compose} -f "$COMPOSE_FILE" "$@"
}

check_database() {
    [ "$CHECK_DATABASE" = 1 ] || return 0
    say "checking the database's encoding and collation before the homeserver starts"
    run_compose up -d postgres
    if [ "$DRY_RUN" = 1 ]; then
        echo "+ psql -c \"$DATABASE_QUERY\"   (expecting $DATABASE_EXPECTED)"
        return 0
    fi
    tries=0
    # Over TCP: the entrypoint's first-run server, which runs init.sql, listens on the socket only.
    until compose exec -T postgres pg_isready -q -h 127.0.0.1 -p "$DATABASE_PORT"; do
        tries=$((tries + 1))
        [ "$tries" -lt 60 ] || fail "PostgreSQL did not start in 2 minutes: see ${COMPOSE:-docker compose} logs postgres"
        sleep 2
    done
    result=$(compose exec -T postgres psql -U "$DATABASE_USER" -d "$DATABASE_NAME" -p "$DATABASE_PORT" -tA -c "$DATABASE_QUERY")
    verify_database "$result"
}

start_stack() {
    say "starting the stack"
    run_compose up -d --remove-orphans
}

restart_turn() {
    run_compose restart coturn
}

# reload_proxy: make nginx read a renewed certificate without dropping connections.
reload_proxy() {
    run_compose exec -T nginx nginx -s reload
}

homeserver_installed() {
    return 0
}

homeserver_ready() {
    @@ready
}
