run_compose() {
    run ${COMPOSE:-docker compose} -f "$COMPOSE_FILE" "$@"
}

start_stack() {
    say "starting the stack"
    run_compose up -d --remove-orphans
}

restart_turn() {
    run_compose restart coturn
}

homeserver_installed() {
    return 0
}

homeserver_ready() {
    @@ready
}
