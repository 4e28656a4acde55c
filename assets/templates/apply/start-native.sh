start_unit() {
    if systemctl cat "$1" >/dev/null 2>&1; then
        run systemctl enable "$1"
        run systemctl restart "$1"
    else
        note "$1 is not installed: install it and point it at its configuration in $INSTALL_DIR (see README.md)"
    fi
}

start_stack() {
    say "starting the services"
    for unit in $UNITS; do
        start_unit "$unit"
    done
}

restart_turn() {
    run systemctl restart coturn
}

homeserver_installed() {
    command -v systemctl >/dev/null 2>&1 && systemctl cat "$HOMESERVER_UNIT" >/dev/null 2>&1
}

homeserver_ready() {
    @@ready
}
