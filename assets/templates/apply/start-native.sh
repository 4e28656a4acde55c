PREREQUISITES_HINT="a deployment without containers needs Debian or Ubuntu with systemd (apt-get, dpkg-query, systemctl); elsewhere choose deployment kind compose"

missing_programs() {
    [ -z "$PREFIX" ] || return 0
    command -v apt-get >/dev/null 2>&1 || printf ' apt-get'
    command -v dpkg-query >/dev/null 2>&1 || printf ' dpkg-query'
    if [ "$SKIP_START" = 0 ]; then
        command -v systemctl >/dev/null 2>&1 || printf ' systemctl'
    fi
    return 0
}

# Print an action on the host itself (packages, users, programs, services), then do it unless
# this is a dry run; a staging run under a prefix only prints it.
host_run() {
    if [ -n "$PREFIX" ]; then
        printf '+ %s   (staging: not done)\n' "$*"
        return 0
    fi
    run "$@"
}

# show TEXT: print an action written as one line of shell (with a redirect), as host_run does.
show() {
    if [ -n "$PREFIX" ]; then
        printf '+ %s   (staging: not done)\n' "$1"
    else
        printf '+ %s\n' "$1"
    fi
}

# Whether actions really happen: not in a dry run, not in a staging run under a prefix.
acting() {
    [ "$DRY_RUN" = 0 ] && [ -z "$PREFIX" ]
}

# install_file SOURCE TARGET MODE: copy when the target differs, and note that in CHANGED.
install_file() {
    if [ -f "$2" ] && cmp -s "$1" "$2"; then
        return 0
    fi
    [ -d "$(dirname "$2")" ] || run mkdir -p "$(dirname "$2")"
    run install -m "$3" "$1" "$2"
    CHANGED=1
}

install_packages() {
    missing=""
    for package in $PACKAGES; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
            missing="$missing $package"
        fi
    done
    if [ -z "$missing" ]; then
        note "installed already: $PACKAGES"
        return 0
    fi
    host_run apt-get update -q
    # A configuration file already there (the admin's own) is kept, and dpkg asks nothing: with
    # no one to answer, its question would stop the install.
    # shellcheck disable=SC2086
    host_run env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold $missing
}

create_users() {
    [ -n "$SYSTEM_USERS" ] || return 0
    while read -r name home; do
        if id -u "$name" >/dev/null 2>&1; then
            note "the user $name exists"
        else
            host_run useradd --system --user-group --home-dir "$home" --no-create-home \
                --shell /usr/sbin/nologin "$name"
        fi
    done <<USERS
$SYSTEM_USERS
USERS
}

install_synapse() {
    [ -n "$SYNAPSE_VENV" ] || return 0
    installed=""
    if [ -x "$SYNAPSE_VENV/bin/python" ]; then
        # The release, once the modules of every extra the bundle needs import too.
        # shellcheck disable=SC2086
        installed=$("$SYNAPSE_VENV/bin/python" -c 'import importlib, sys
for module in sys.argv[1:]:
    importlib.import_module(module)
import synapse
print(synapse.__version__)' $SYNAPSE_EXTRA_MODULES 2>/dev/null || true)
    fi
    if [ "$installed" = "$SYNAPSE_VERSION" ]; then
        note "Synapse $SYNAPSE_VERSION is installed in $SYNAPSE_VENV (with $SYNAPSE_EXTRA_MODULES)"
    else
        [ -x "$SYNAPSE_VENV/bin/python" ] || host_run python3 -m venv "$SYNAPSE_VENV"
        host_run "$SYNAPSE_VENV/bin/pip" install --quiet --upgrade pip
        host_run "$SYNAPSE_VENV/bin/pip" install --quiet "$SYNAPSE_REQUIREMENT"
    fi
    install_s3_provider
}

# The S3 storage provider Synapse loads for S3 media, pinned, in Synapse's virtualenv.
install_s3_provider() {
    [ -n "$S3_PROVIDER_REQUIREMENT" ] || return 0
    installed=""
    if [ -x "$SYNAPSE_VENV/bin/python" ]; then
        installed=$("$SYNAPSE_VENV/bin/python" -c 'import importlib.metadata, sys; print(importlib.metadata.version(sys.argv[1]))' "$S3_PROVIDER_PACKAGE" 2>/dev/null || true)
    fi
    if [ "$installed" = "$S3_PROVIDER_VERSION" ]; then
        note "$S3_PROVIDER_PACKAGE $S3_PROVIDER_VERSION is installed in $SYNAPSE_VENV"
        return 0
    fi
    host_run "$SYNAPSE_VENV/bin/pip" install --quiet "$S3_PROVIDER_REQUIREMENT"
}

traefik_architecture() {
    case "$(dpkg --print-architecture 2>/dev/null || uname -m)" in
        amd64 | x86_64) echo amd64 ;;
        arm64 | aarch64) echo arm64 ;;
        armhf | armv7l) echo armv7 ;;
        *) fail "Traefik publishes no binary for this machine's architecture" ;;
    esac
}

# verify_checksum FOLDER FILE: FILE must match its line in FOLDER/checksums.txt.
verify_checksum() {
    (cd "$1" && grep " $2\$" checksums.txt | sha256sum -c --status -) ||
        fail "$2 does not match the checksum Traefik published for it: not installed"
}

install_traefik() {
    [ -n "$TRAEFIK_BINARY" ] || return 0
    if [ -x "$TRAEFIK_BINARY" ] && "$TRAEFIK_BINARY" version 2>/dev/null | grep -q "Version: *$TRAEFIK_VERSION\$"; then
        note "Traefik $TRAEFIK_VERSION is installed at $TRAEFIK_BINARY"
        return 0
    fi
    arch=$(traefik_architecture)
    archive="traefik_v${TRAEFIK_VERSION}_linux_${arch}.tar.gz"
    release="$TRAEFIK_RELEASES/v$TRAEFIK_VERSION"
    if acting; then
        work=$(mktemp -d)
    else
        work='$DOWNLOAD_FOLDER'
    fi
    host_run curl -fsSL -o "$work/$archive" "$release/$archive"
    host_run curl -fsSL -o "$work/checksums.txt" "$release/traefik_v${TRAEFIK_VERSION}_checksums.txt"
    host_run verify_checksum "$work" "$archive"
    host_run tar -xzf "$work/$archive" -C "$work" traefik
    host_run install -D -m 0755 "$work/traefik" "$TRAEFIK_BINARY"
    host_run rm -rf "$work"
}

# install_element_web: unpack the pinned Element Web release into its web root, from the
# tarball given with --element-web-tarball, else from its GitHub release over HTTPS (no
# checksum is pinned: README.md says what is trusted and how to check the signature).
install_element_web() {
    [ -n "$ELEMENT_WEB_ROOT" ] || return 0
    if [ -f "$ELEMENT_WEB_ROOT/index.html" ]; then
        note "Element Web $ELEMENT_WEB_VERSION is in $ELEMENT_WEB_ROOT"
        return 0
    fi
    work=
    if [ -n "$ELEMENT_WEB_TARBALL" ]; then
        [ -f "$ELEMENT_WEB_TARBALL" ] || fail "--element-web-tarball: no file at $ELEMENT_WEB_TARBALL"
        tarball=$ELEMENT_WEB_TARBALL
    else
        if acting; then
            work=$(mktemp -d)
        else
            work='$DOWNLOAD_FOLDER'
        fi
        tarball="$work/element-v$ELEMENT_WEB_VERSION.tar.gz"
        host_run curl -fsSL -o "$tarball" "$ELEMENT_WEB_URL"
    fi
    if [ "$DRY_RUN" = 1 ] || [ ! -f "$tarball" ]; then
        show "tar -xzf $tarball --strip-components=1 -C $ELEMENT_WEB_ROOT"
        return 0
    fi
    note "sha256 of $tarball: $(sha256sum "$tarball" | cut -d ' ' -f 1)"
    unpacked="$ELEMENT_WEB_ROOT.unpacking"
    run rm -rf "$unpacked"
    run mkdir -p "$unpacked"
    run tar -xzf "$tarball" --strip-components=1 --no-same-owner -C "$unpacked"
    run chmod -R a+rX,go-w "$unpacked" # the proxy's own user reads every file
    if [ ! -f "$unpacked/index.html" ] || ! grep -qF "$ELEMENT_WEB_VERSION" "$unpacked/version" 2>/dev/null; then
        run rm -rf "$unpacked"
        fail "$tarball is not Element Web $ELEMENT_WEB_VERSION (index.html, and a version file naming it): not installed"
    fi
    run mv "$unpacked" "$ELEMENT_WEB_ROOT"
    [ -z "$work" ] || run rm -rf "$work"
}


mas_architecture() {
    case "$(dpkg --print-architecture 2>/dev/null || uname -m)" in
        amd64 | x86_64) echo x86_64 ;;
        arm64 | aarch64) echo aarch64 ;;
        *) fail "Matrix Authentication Service publishes no binary for this machine's architecture" ;;
    esac
}

# install_mas: unpack MAS's pinned release archive (mas-cli beside its share/ folder) into
# MAS_HOME, unless that release is there already.
install_mas() {
    [ -n "$MAS_HOME" ] || return 0
    if [ -x "$MAS_HOME/mas-cli" ] && "$MAS_HOME/mas-cli" --version 2>/dev/null | grep -q " $MAS_VERSION\$"; then
        note "Matrix Authentication Service $MAS_VERSION is installed in $MAS_HOME"
        return 0
    fi
    archive="mas-cli-$(mas_architecture)-linux.tar.gz"
    if acting; then
        work=$(mktemp -d)
    else
        work='$DOWNLOAD_FOLDER'
    fi
    host_run curl -fsSL -o "$work/$archive" "$MAS_RELEASES/v$MAS_VERSION/$archive"
    host_run mkdir -p "$MAS_HOME"
    host_run tar -xzf "$work/$archive" -C "$MAS_HOME"
    host_run rm -rf "$work"
}

# build_dendrite: build Dendrite's pinned release with the bundle's build-dendrite.sh, which
# skips the build when the release's folder holds its programs; elsewhere print its steps.
build_dendrite() {
    [ -n "$DENDRITE_BUILD" ] || return 0
    if acting; then
        run sh "$SOURCE_DIR/$DENDRITE_BUILD" "$DENDRITE_MODULE" "$DENDRITE_VERSION"
    else
        show "sh $SOURCE_DIR/$DENDRITE_BUILD $DENDRITE_MODULE $DENDRITE_VERSION"
        sh "$SOURCE_DIR/$DENDRITE_BUILD" --dry-run "$DENDRITE_MODULE" "$DENDRITE_VERSION" ||
            note "the real run stops there, with the reason above"
    fi
}

note_homeserver_binary() {
    [ -n "$HOMESERVER_BINARY" ] || return 0
    if [ -x "$HOMESERVER_BINARY" ]; then
        note "$HOMESERVER is at $HOMESERVER_BINARY"
    else
        note "$HOMESERVER is not at $HOMESERVER_BINARY yet: $HOMESERVER_BINARY_HELP; nothing starts until it is there"
    fi
}

# missing_call_programs: print each program for MatrixRTC calls that is not in place yet.
missing_call_programs() {
    printf '%s\n' "$CALL_PROGRAMS" | while read -r program; do
        [ -z "$program" ] || [ -x "$program" ] || printf '%s\n' "$program"
    done
}

note_call_programs() {
    [ -n "$CALL_PROGRAMS" ] || return 0
    missing=$(missing_call_programs)
    if [ -z "$missing" ]; then
        note "LiveKit and lk-jwt-service are in place for calls"
    else
        note "not in place yet: $(echo $missing); $CALL_PROGRAMS_HELP; nothing starts until they are"
    fi
}

install_programs() {
    say "installing the programs: packages, system users, and what no package provides"
    install_packages
    create_users
    install_synapse
    install_traefik
    install_element_web
    install_mas
    build_dendrite
    note_homeserver_binary
    note_call_programs
    [ -z "$GRAFANA_NOTE" ] || note "$GRAFANA_NOTE"
}

postgres_conf_dir() {
    # shellcheck disable=SC2012
    ls -d "$POSTGRES_ETC"/*/main/conf.d 2>/dev/null | sort -V | tail -n 1
}

# as_postgres_psql ARGS...: psql as the postgres superuser over the local socket, from /
# (the postgres user may not enter the folder apply.sh runs in).
as_postgres_psql() {
    (cd / && runuser -u postgres -- psql -X -p "$DATABASE_PORT" "$@")
}

check_database() {
    [ "$CHECK_DATABASE" = 1 ] || return 0
    say "PostgreSQL: its settings, the $HOMESERVER role and database, and their check"
    conf_dir=$(postgres_conf_dir)
    if [ -n "$conf_dir" ]; then
        CHANGED=0
        install_file "$SOURCE_DIR/postgres/postgresql.conf" "$conf_dir/$POSTGRES_CONF_NAME" 0644
        host_run systemctl enable --now postgresql
        [ "$CHANGED" = 0 ] || host_run systemctl restart postgresql
    elif acting; then
        fail "no PostgreSQL cluster in $POSTGRES_ETC: is the postgresql package installed?"
    else
        note "its settings go to $POSTGRES_ETC/<version>/main/conf.d/$POSTGRES_CONF_NAME once postgresql is installed"
    fi
    init="runuser -u postgres -- psql -X -p $DATABASE_PORT -q -v ON_ERROR_STOP=1 -d postgres -f - < $SOURCE_DIR/postgres/init.sql"
    check="runuser -u postgres -- psql -X -p $DATABASE_PORT -d $DATABASE_NAME -tA -c \"$DATABASE_QUERY\""
    if ! acting; then
        show "$init"
        show "$check   (expecting $DATABASE_EXPECTED)"
        return 0
    fi
    tries=0
    until pg_isready -q -h 127.0.0.1 -p "$DATABASE_PORT"; do
        tries=$((tries + 1))
        [ "$tries" -lt 60 ] || fail "PostgreSQL does not answer on port $DATABASE_PORT: read journalctl -u postgresql@*"
        sleep 2
    done
    show "$init"
    as_postgres_psql -q -v ON_ERROR_STOP=1 -d postgres -f - <"$SOURCE_DIR/postgres/init.sql"
    show "$check"
    result=$(as_postgres_psql -d "$DATABASE_NAME" -tA -c "$DATABASE_QUERY")
    verify_database "$result"
}

link_nginx_site() {
    [ -n "$NGINX_SITE" ] || return 0
    target="$INSTALL_DIR/nginx/matrix.conf"
    if [ "$(readlink "$NGINX_SITE" 2>/dev/null || true)" != "$target" ]; then
        [ -d "$(dirname "$NGINX_SITE")" ] || run mkdir -p "$(dirname "$NGINX_SITE")"
        run ln -sfn "$target" "$NGINX_SITE"
    fi
    host_run nginx -t -q
}

install_units() {
    say "installing the systemd units in $UNIT_DIR"
    CHANGED=0
    for unit_file in $(cd "$SOURCE_DIR/$UNIT_FOLDER" && find . -type f | sort); do
        unit_file=${unit_file#./}
        case "$unit_file" in
            "$BACKUP_SERVICE" | "$BACKUP_TIMER") continue ;; # schedule_backups installs these
        esac
        install_file "$SOURCE_DIR/$UNIT_FOLDER/$unit_file" "$UNIT_DIR/$unit_file" 0644
    done
    if [ "$CHANGED" = 1 ]; then
        host_run systemctl daemon-reload
    else
        note "unchanged"
    fi
}

# unit_running UNIT: whether UNIT runs now. A staging run under a prefix runs no services: there
# a unit counts as running once an earlier staging run started it, as its record shows.
unit_running() {
    if [ -n "$PREFIX" ]; then
        [ -r "$CHECKSUM_RECORD" ] && awk -v unit="$1" '$1 == unit { found = 1 } END { exit !found }' "$CHECKSUM_RECORD"
    else
        systemctl is-active --quiet "$1" 2>/dev/null
    fi
}

# say_what_changes: say what a unit's restart depends on when no record tells it.
say_what_changes() {
    case "$CHANGES" in
        "none recorded") note "no checksums recorded yet: a unit that already runs restarts once, to read the files as they are now" ;;
        unknown) note "only root may read $CHECKSUM_RECORD: run it with sudo to see which units it restarts" ;;
    esac
}

# restart_if_changed UNIT: restart a running UNIT when a file it reads changed, saying which.
restart_if_changed() {
    case "$CHANGES" in
        unknown)
            note "$1: runs; whether its files changed is unknown"
            return 0
            ;;
        "none recorded") note "$1: ran before checksums were recorded" ;;
        *)
            reasons=$(printf '%s\n' "$CHANGED_FILES" | awk -v unit="$1" '$1 == unit')
            if [ -z "$reasons" ]; then
                note "$1: no file changed, left running"
                return 0
            fi
            printf '%s\n' "$reasons" | while read -r unit file how; do
                note "$unit: $file $how"
            done
            ;;
    esac
    if is_worker "$1" && restarted "$HOMESERVER_UNIT"; then
        note "$1: restarted along with $HOMESERVER_UNIT, which it requires"
        return 0
    fi
    # shellcheck disable=SC2086
    host_run systemctl ${2:-} restart "$1"
    RESTARTED="$RESTARTED $1"
}

# restarted UNIT: whether this run restarted UNIT.
restarted() {
    case " $RESTARTED " in
        *" $1 "*) return 0 ;;
        *) return 1 ;;
    esac
}

# start_unit UNIT [--no-block]: enable and start UNIT, or restart it when a file it reads
# changed; with --no-block systemctl only queues the job, and apply.sh waits for UNIT later.
start_unit() {
    if acting && ! systemctl cat "$1" >/dev/null 2>&1; then
        note "$1 is not installed: install it, then run apply.sh again (see README.md)"
    elif unit_running "$1"; then
        if [ -z "$PREFIX" ] && ! systemctl is-enabled --quiet "$1" 2>/dev/null; then
            run systemctl enable --quiet "$1"
        fi
        restart_if_changed "$1" "${2:-}"
    else
        # shellcheck disable=SC2086
        host_run systemctl ${2:-} enable --now "$1"
    fi
}

# worker_units: print the unit of each of the bundle's Synapse workers.
worker_units() {
    printf '%s\n' "$WORKERS" | awk '{ print $1 }'
}

# is_worker UNIT: whether UNIT runs one of the bundle's Synapse workers.
is_worker() {
    worker_units | grep -qxF "$1"
}

# started_workers: print the unit of each Synapse worker an earlier apply started: those
# systemd knows (running, failed or enabled) and those the checksum record names.
started_workers() {
    [ -n "$WORKER_TEMPLATE" ] || return 0
    {
        if [ -z "$PREFIX" ] && command -v systemctl >/dev/null 2>&1; then
            systemctl list-units --all --plain --no-legend --type=service "$WORKER_TEMPLATE@*" 2>/dev/null |
                awk '{ for (i = 1; i <= NF; i++) if (index($i, "@")) { sub(/\.service$/, "", $i); print $i; next } }'
        fi
        if [ -r "$CHECKSUM_RECORD" ]; then
            awk -v template="$WORKER_TEMPLATE@" 'index($1, template) == 1 { print $1 }' "$CHECKSUM_RECORD"
        fi
    } | LC_ALL=C sort -u
}

# stop_stale_workers: stop and disable each Synapse worker an earlier apply started that this
# bundle no longer has, before the main process restarts without it.
stop_stale_workers() {
    for worker in $(started_workers); do
        if is_worker "$worker" || stopped_and_disabled "$worker"; then
            continue
        fi
        note "$worker: this bundle has no such worker any more"
        host_run systemctl disable --now "$worker"
    done
}

# stopped_and_disabled UNIT: whether systemd neither runs UNIT nor starts it at boot; it may
# still list it for a while after an earlier apply stopped it.
stopped_and_disabled() {
    [ -z "$PREFIX" ] || return 1
    case "$(systemctl is-active "$1" 2>/dev/null)" in
        inactive | failed) ! systemctl is-enabled --quiet "$1" 2>/dev/null ;;
        *) return 1 ;;
    esac
}

# start_workers: start the Synapse workers side by side once the main process is ready (its
# start waits for that); apply.sh waits for each to answer at the end.
start_workers() {
    for worker in $(worker_units); do
        start_unit "$worker" --no-block
    done
}

start_redis() {
    [ -n "$REDIS_UNIT" ] || return 0
    host_run systemctl enable --now "$REDIS_UNIT"
}

start_stack() {
    install_units
    link_nginx_site
    if [ -n "$HOMESERVER_BINARY" ] && [ ! -x "$HOMESERVER_BINARY" ] && acting; then
        fail "$HOMESERVER is not at $HOMESERVER_BINARY: $HOMESERVER_BINARY_HELP; then run apply.sh again"
    fi
    if [ -n "$CALL_PROGRAMS" ] && [ -n "$(missing_call_programs)" ] && acting; then
        fail "not in place: $(echo $(missing_call_programs)); $CALL_PROGRAMS_HELP; then run apply.sh again"
    fi
    say "starting the services, restarting those running whose files changed since the last start"
    now=$(service_file_checksums)
    find_changes "$now"
    say_what_changes
    RESTARTED=
    stop_stale_workers
    start_redis
    for unit in $UNITS; do
        start_unit "$unit"
        [ "$unit" != "$HOMESERVER_UNIT" ] || start_workers
    done
    record_checksums "$now"
}

restart_turn() {
    host_run systemctl restart coturn
}

# refresh_proxy: nothing to do natively, where the proxy reaches each service at a fixed port.
refresh_proxy() {
    return 0
}

# reload_proxy: make nginx read a renewed certificate without dropping connections.
reload_proxy() {
    host_run systemctl reload nginx
}

homeserver_installed() {
    [ -z "$PREFIX" ] && command -v systemctl >/dev/null 2>&1 && systemctl cat "$HOMESERVER_UNIT" >/dev/null 2>&1
}

homeserver_ready() {
    @@ready
}

# wait_for_workers: wait until the health check of each Synapse worker answers, as apply.sh
# waits for the homeserver; a worker that does not is named, with where its log is.
wait_for_workers() {
    [ -n "$WORKERS" ] || return 0
    say "waiting for the Synapse workers to answer"
    while read -r unit port; do
        url="http://127.0.0.1:$port/health"
        if ! acting || ! homeserver_installed; then
            show "poll until $url answers ($unit)"
            continue
        fi
        tries=0
        until curl -fs --max-time 5 "$url" >/dev/null; do
            tries=$((tries + 1))
            [ "$tries" -lt 90 ] || fail "the Synapse worker $unit did not answer on $url in 3 minutes; read its log: journalctl -u $unit"
            sleep 2
        done
        note "$unit answers"
    done <<EOF
$WORKERS
EOF
}
