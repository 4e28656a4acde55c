# The compose command: the docker compose plugin, else the older docker-compose program.
if docker compose version >/dev/null 2>&1; then
    COMPOSE="docker compose"
elif command -v docker-compose >/dev/null 2>&1; then
    COMPOSE="docker-compose"
else
    COMPOSE=""
fi
COMPOSE_FILE="$INSTALL_DIR/docker-compose.yml"

compose() {
    [ -n "$COMPOSE" ] || fail "docker compose is not installed: install Docker Engine with the compose plugin"
    $COMPOSE -f "$COMPOSE_FILE" "$@"
}
