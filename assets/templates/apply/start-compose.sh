PREREQUISITES_HINT="Install Docker Engine with its compose plugin (https://docs.docker.com/engine/install/), and on Debian or Ubuntu: apt install curl certbot nftables"

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
    # A staging run under a prefix leaves the host's firewall alone.
    if [ "$USE_FIREWALL" = 1 ] && [ -z "$PREFIX" ] && ! command -v ufw >/dev/null 2>&1; then
        command -v nft >/dev/null 2>&1 || printf ' nftables'
    fi
    return 0
}

# The containers bring their programs with them; backup.sh runs on the host, and may need one.
install_programs() {
    [ -n "$BACKUP_PACKAGES" ] || return 0
    say "installing what backup.sh runs on this host: $BACKUP_PACKAGES"
    missing=""
    for package in $BACKUP_PACKAGES; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
            missing="$missing $package"
        fi
    done
    if [ -z "$missing" ]; then
        note "installed already"
    elif [ -n "$PREFIX" ]; then
        printf '+ apt-get install -y%s   (staging: not done)\n' "$missing"
    elif command -v apt-get >/dev/null 2>&1; then
        # shellcheck disable=SC2086
        run env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
    else
        note "install$missing with this system's package manager: backup.sh needs it"
    fi
}

run_compose() {
    run ${COMPOSE:-docker compose} -f "$COMPOSE_FILE" "$@"
}

# container_psql ROLE ARGS...: psql in the postgres container as ROLE, over its socket.
container_psql() {
    role=$1
    shift
    compose exec -T postgres psql -X -U "$role" -d "$DATABASE_NAME" -p "$DATABASE_PORT" "$@"
}

check_database() {
    [ "$CHECK_DATABASE" = 1 ] || return 0
    say "checking the database's encoding and collation before the homeserver starts"
    remember_running_services
    run_compose up -d postgres
    if [ "$DRY_RUN" = 1 ]; then
        echo "+ psql -c \"$DATABASE_QUERY\"   (expecting $DATABASE_EXPECTED)"
        upgrade_roles
        mas_database
        return 0
    fi
    tries=0
    # Over TCP: the entrypoint's first-run server, which runs init.sql, listens on the socket only.
    until compose exec -T postgres pg_isready -q -h 127.0.0.1 -p "$DATABASE_PORT" -U "$DATABASE_USER"; do
        tries=$((tries + 1))
        [ "$tries" -lt 60 ] || fail "PostgreSQL did not start in 2 minutes: see ${COMPOSE:-docker compose} logs postgres"
        sleep 2
    done
    record_started postgres
    result=$(container_psql "$DATABASE_USER" -tA -c "$DATABASE_QUERY")
    verify_database "$result"
    upgrade_roles
    mas_database
}

# mas_database: run init.sql again as the superuser, which makes the role and database of the
# Matrix Authentication Service on a cluster made before MAS was chosen; the rest it leaves.
mas_database() {
    [ "$MAS_DATABASE" = 1 ] || return 0
    say "the Matrix Authentication Service's role and database (postgres/init.sql, run again)"
    echo "+ ${COMPOSE:-docker compose} -f $COMPOSE_FILE exec -T postgres psql -X -U postgres -d $DATABASE_NAME -p $DATABASE_PORT -q -f - < $INSTALL_DIR/postgres/init.sql"
    [ "$DRY_RUN" = 0 ] || return 0
    container_psql postgres -q -f - <"$INSTALL_DIR/postgres/init.sql" || fail "the Matrix Authentication Service's database could not be made: see psql's message above"
}

# upgrade_roles: give a cluster an older bundle made the roles a fresh one has. Older bundles
# made the homeserver's role the first superuser, and the image runs init.sql only on an empty
# cluster; postgres/upgrade-roles.sql hands that superuser over, in one transaction.
upgrade_roles() {
    say "checking the database's roles: postgres the superuser, $DATABASE_USER a plain role"
    script="$INSTALL_DIR/postgres/upgrade-roles.sql"
    if [ "$DRY_RUN" = 1 ]; then
        note "if an older bundle made the cluster, $DATABASE_USER is its first superuser, which PostgreSQL keeps a superuser;"
        note "then apply.sh stops $DATABASE_CLIENTS, renames that superuser postgres (password of postgres/postgres.env),"
        note "and makes $DATABASE_USER anew as a plain role with its password, owner of database $DATABASE_NAME and of all in it:"
        first_superuser=$DATABASE_USER
        hand_over=t
    else
        found=$(container_psql "$DATABASE_USER" -tA -F ' ' -c "$ROLES_QUERY")
        if [ -z "$found" ]; then
            note "they are as on a fresh cluster: nothing to change"
            return 0
        fi
        first_superuser=${found% *}
        hand_over=${found#* }
    fi
    if [ "$hand_over" = t ]; then
        note "$first_superuser, the first superuser, becomes postgres: $DATABASE_CLIENTS stops meanwhile and starts with the stack below"
        # shellcheck disable=SC2086
        run_compose stop $DATABASE_CLIENTS
    fi
    echo "+ ${COMPOSE:-docker compose} -f $COMPOSE_FILE exec -T postgres psql -X -U $first_superuser -d $DATABASE_NAME -p $DATABASE_PORT -q -f - < $script"
    [ "$DRY_RUN" = 0 ] || return 0
    container_psql "$first_superuser" -q -f - <"$script" || fail "the roles are unchanged (the change is one transaction): see psql's message above"
}

# remember_running_services: keep in RUNNING_BEFORE the services that ran before this run
# started any, on one line, and their containers in CONTAINERS_BEFORE; the first call counts.
remember_running_services() {
    [ -z "${RUNNING_BEFORE+set}" ] || return 0
    RUNNING_BEFORE=
    CONTAINERS_BEFORE=
    [ -n "$COMPOSE" ] || return 0
    RUNNING_BEFORE=$(compose ps --services --filter status=running 2>/dev/null | tr '\n' ' ') || true
    CONTAINERS_BEFORE=$(container_ids)
}

start_stack() {
    say "starting the stack"
    remember_running_services
    run_compose up -d --remove-orphans
    CONTAINERS_AFTER=$(container_ids)
    restart_changed_services
}

# record_started SERVICE: once this run started SERVICE anew, record the checksums of its files
# at once, so that a later run that finds it running does not restart it for them.
record_started() {
    CONTAINERS_AFTER=$(container_ids)
    started_by_this_run "$1" || return 0
    record_service_checksums "$1" "$(service_file_checksums)"
}

# record_service_checksums SERVICE CHECKSUMS: keep SERVICE's lines of CHECKSUMS in the record in
# place of those it holds, and the other services' lines as they are.
record_service_checksums() {
    kept=
    if [ -r "$CHECKSUM_RECORD" ]; then
        kept=$(awk -v service="$1" '$1 != service' "$CHECKSUM_RECORD")
    fi
    mine=$(printf '%s\n' "$2" | awk -v service="$1" '$1 == service')
    record_checksums "$(printf '%s\n%s\n' "$kept" "$mine" | sed '/^$/d')"
}

# container_ids: print "service container" for each container of the stack (none in a dry run).
container_ids() {
    [ "$DRY_RUN" = 0 ] || return 0
    ids=$(compose ps -q 2>/dev/null) || return 0
    [ -n "$ids" ] || return 0
    # shellcheck disable=SC2086
    docker inspect --format '{{index .Config.Labels "com.docker.compose.service"}} {{.Id}}' $ids 2>/dev/null || true
}

# started_by_this_run SERVICE: whether SERVICE did not run before this run, or up recreated its
# container; either way it started with the files as they are now.
started_by_this_run() {
    case " $RUNNING_BEFORE " in
        *" $1 "*) ;;
        *) return 0 ;;
    esac
    id_before=$(printf '%s\n' "$CONTAINERS_BEFORE" | awk -v service="$1" '$1 == service { print $2 }')
    id_after=$(printf '%s\n' "$CONTAINERS_AFTER" | awk -v service="$1" '$1 == service { print $2 }')
    [ "$id_before" != "$id_after" ]
}

# refresh_proxy: once the homeserver answers, make nginx look the services' names up again.
# nginx looks them up when it starts or reloads, and a service this run restarted or recreated
# may have come back at another address (podman gives one on every start). A reload keeps the
# connections; where it cannot load, nginx restarts, and its restart policy brings it back.
refresh_proxy() {
    [ -n "$NGINX_SERVICE" ] || return 0
    if [ "$DRY_RUN" = 0 ] && ! compose ps --services --filter status=running 2>/dev/null | grep -qx "$NGINX_SERVICE"; then
        return 0
    fi
    say "reloading nginx, which looks up the services' addresses again"
    if ! run_compose exec -T "$NGINX_SERVICE" nginx -s reload; then
        note "nginx could not reload (see above): restarting it"
        run_compose restart "$NGINX_SERVICE"
    fi
}

# Compose recreates a container when its definition changes, not when a file it mounts does:
# restart each service that ran before this run, kept its container, and whose files differ
# from those recorded when the stack last started.
restart_changed_services() {
    now=$(service_file_checksums)
    say "restarting the services whose files changed since the last start"
    find_changes "$now"
    case "$CHANGES" in
        unknown)
            note "only root may read $CHECKSUM_RECORD: run it with sudo to see which services it restarts"
            return 0
            ;;
        "none recorded")
            if [ -n "${RUNNING_BEFORE% }" ]; then
                # A stack started before checksums were kept may run with older files.
                note "no checksums recorded, and these already ran: ${RUNNING_BEFORE% }; restarted once so they read the files as they are now"
                restart_for "$(for service in $RUNNING_BEFORE; do echo "$service files unrecorded"; done)"
            else
                note "none recorded yet: this is the first start"
            fi
            ;;
        *) restart_for "$CHANGED_FILES" ;;
    esac
    record_checksums "$now"
}

# restart_for CHANGED: say why each service of CHANGED ("service file how" lines) restarts,
# then restart together those this run did not start anew.
restart_for() {
    services=""
    started=""
    while read -r service file how; do
        [ -n "$service" ] || continue
        if started_by_this_run "$service"; then
            case " $started " in
                *" $service "*) ;;
                *) started="$started $service" ;;
            esac
            continue
        fi
        note "$service: $file $how"
        case " $services " in
            *" $service "*) ;;
            *) services="$services $service" ;;
        esac
    done <<EOF
$1
EOF
    [ -z "$started" ] || note "started above, so reading their files as they are:$started"
    if [ -z "$services" ]; then
        note "nothing to restart"
    else
        # shellcheck disable=SC2086
        run_compose restart $services
    fi
}

restart_turn() {
    run_compose restart coturn
}

# reload_proxy: make nginx read a renewed certificate without dropping connections.
reload_proxy() {
    run_compose exec -T nginx nginx -s reload
}

# Compose starts each Synapse worker once Synapse is healthy, and reports the worker's health.
wait_for_workers() {
    return 0
}

homeserver_installed() {
    return 0
}

homeserver_ready() {
    @@ready
}
