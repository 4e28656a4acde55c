#!/bin/sh
# Apply this Matrix bundle to this host: folders, owners, modes, firewall, certificate, start.
# Written by matrix-wizard. Safe to run again: every step checks before it changes anything.
set -eu

INSTALL_DIR=/opt/matrix-wizard
PREFIX=''
DEPLOYMENT=compose
HOMESERVER=synapse
USE_FIREWALL=1
USE_CERTBOT=1
USE_TURN_TLS=0
CHECK_DATABASE=1

# Folders to create, one a line: path, mode, owner ("-" for root).
FOLDERS='/opt/matrix-wizard 755 -
/var/lib/matrix-wizard 755 -
/var/lib/matrix-wizard/synapse 750 991:991
/var/lib/matrix-wizard/media 750 991:991
/var/lib/matrix-wizard/postgres 700 -'
# Bundle folders a non-root service reads, one a line: path in the bundle, owner.
OWNED='synapse 991:991
postgres 999:999'
# Files and folders of the bundle that hold secrets or keys (mode 0600).
PRIVATE='secrets.yaml synapse postgres/postgres.env'
SCRIPTS='apply.sh backup.sh firewall.sh'
REQUIRED='secrets.yaml synapse/homeserver.yaml docker-compose.yml firewall.sh'

usage() {
    cat <<'EOF'
usage: sudo ./apply.sh [--dry-run] [--skip-start] [--turn-certificate]
  --dry-run           print every action and change nothing
  --skip-start        prepare folders, owners, firewall and certificate, but start nothing
  --turn-certificate  only copy the renewed certificate for TURN and restart it
                      (certbot runs this after each renewal)
EOF
}

DRY_RUN=0
SKIP_START=0
TURN_CERTIFICATE_ONLY=0
for arg in "$@"; do
    case "$arg" in
        --dry-run) DRY_RUN=1 ;;
        --skip-start) SKIP_START=1 ;;
        --turn-certificate) TURN_CERTIFICATE_ONLY=1 ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            usage >&2
            echo "apply.sh: unknown option '$arg'" >&2
            exit 2
            ;;
    esac
done

say() {
    printf '\n==> %s\n' "$*"
}

note() {
    printf '    %s\n' "$*"
}

fail() {
    printf 'apply.sh: %s\n' "$*" >&2
    exit 1
}

# Print an action, then do it unless this is a dry run.
run() {
    printf '+ %s\n' "$*"
    if [ "$DRY_RUN" = 0 ]; then
        "$@"
    fi
}

SOURCE_DIR=$(cd "$(dirname "$0")" && pwd -P)

# chown_as RECURSIVE OWNER PATH...: OWNER is uid:gid, a user name, or - for root.
chown_as() {
    recursive=$1
    owner=$2
    shift 2
    case "$owner" in
        -) return 0 ;;
        *:*) spec=$owner ;;
        *)
            if ! id -u "$owner" >/dev/null 2>&1; then
                note "the user $owner does not exist yet: install its package, then run apply.sh again"
                return 0
            fi
            spec="$owner:"
            ;;
    esac
    if [ "$recursive" = 1 ]; then
        run chown -R "$spec" "$@"
    else
        run chown "$spec" "$@"
    fi
}

check_root() {
    if [ "$(id -u)" -eq 0 ]; then
        return 0
    fi
    if [ "$DRY_RUN" = 1 ]; then
        note "not running as root: the real run needs sudo"
    else
        fail "run it as root: sudo $0"
    fi
}

certificate_covers_names() {
    [ -f "$CERT_CHAIN" ] || return 1
    command -v openssl >/dev/null 2>&1 || return 0
    text=$(openssl x509 -in "$CERT_CHAIN" -noout -text)
    for name in $CERT_NAMES; do
        case "$text" in
            *"DNS:$name"*) ;;
            *) return 1 ;;
        esac
    done
}

needs_certbot() {
    [ "$USE_CERTBOT" = 1 ] && [ -z "$PREFIX" ] && ! certificate_covers_names
}

check_prerequisites() {
    say "checking the programs this needs"
    missing=""
    if [ "$DEPLOYMENT" = compose ] && [ "$SKIP_START" = 0 ]; then
        command -v docker >/dev/null 2>&1 || missing="$missing docker"
        [ -n "$COMPOSE" ] || missing="$missing docker-compose-plugin"
    fi
    if [ "$SKIP_START" = 0 ] && [ "$READY_WITH_CURL" = 1 ]; then
        command -v curl >/dev/null 2>&1 || missing="$missing curl"
    fi
    if needs_certbot; then
        command -v certbot >/dev/null 2>&1 || missing="$missing certbot"
    fi
    if [ -z "$missing" ]; then
        note "all present"
    elif [ "$DRY_RUN" = 1 ]; then
        note "missing:$missing (the real run stops here until they are installed)"
    else
        fail "missing:$missing. Install Docker Engine with its compose plugin (https://docs.docker.com/engine/install/), and on Debian or Ubuntu: apt install curl certbot"
    fi
}

copy_bundle() {
    say "placing the bundle in $INSTALL_DIR"
    for file in $REQUIRED; do
        [ -f "$SOURCE_DIR/$file" ] || fail "the bundle is incomplete: $file is missing; write the bundle again"
    done
    target=$(cd "$INSTALL_DIR" 2>/dev/null && pwd -P || echo "$INSTALL_DIR")
    if [ "$SOURCE_DIR" = "$target" ]; then
        note "the bundle is already there"
    else
        run mkdir -p "$INSTALL_DIR"
        run cp -Rp "$SOURCE_DIR/." "$INSTALL_DIR/"
        if [ "$DRY_RUN" = 0 ]; then
            (cd "$SOURCE_DIR" && find . -type f) | while read -r file; do
                cmp -s "$SOURCE_DIR/$file" "$INSTALL_DIR/$file" || fail "copying $file to $INSTALL_DIR failed"
            done
            note "every file verified"
        fi
    fi
    run chown -R 0:0 "$INSTALL_DIR"
}

make_folders() {
    say "creating folders"
    while read -r path mode owner; do
        run mkdir -p "$path"
        run chmod "$mode" "$path"
        chown_as 0 "$owner" "$path"
    done <<EOF
$FOLDERS
EOF
}

set_modes_and_owners() {
    say "setting modes and owners"
    # The bundle as delivered tells files from folders, also before a dry run copies anything.
    for path in $PRIVATE; do
        if [ -d "$SOURCE_DIR/$path" ]; then
            run find "$INSTALL_DIR/$path" -type f -exec chmod 0600 {} +
        elif [ -e "$SOURCE_DIR/$path" ]; then
            run chmod 0600 "$INSTALL_DIR/$path"
        fi
    done
    for script in $SCRIPTS; do
        if [ -e "$SOURCE_DIR/$script" ]; then
            run chmod 0755 "$INSTALL_DIR/$script"
        fi
    done
    [ -n "$OWNED" ] || return 0
    while read -r path owner; do
        chown_as 1 "$owner" "$INSTALL_DIR/$path"
    done <<EOF
$OWNED
EOF
}

open_firewall() {
    say "opening the firewall for exactly the ports in use"
    if [ "$USE_FIREWALL" = 0 ]; then
        note "no firewall was chosen: skipped"
    elif [ -n "$PREFIX" ]; then
        note "skipped: a staging run under $PREFIX leaves this host's firewall alone"
        sh "$SOURCE_DIR/firewall.sh" --dry-run
    elif [ "$DRY_RUN" = 1 ]; then
        sh "$SOURCE_DIR/firewall.sh" --dry-run
    else
        run sh "$INSTALL_DIR/firewall.sh"
    fi
}

obtain_certificate() {
    [ "$USE_CERTBOT" = 1 ] || return 0
    say "certificate for $CERT_NAMES"
    if certificate_covers_names; then
        note "$CERT_CHAIN exists and covers every name: kept"
    elif [ -n "$PREFIX" ]; then
        note "skipped: a staging run under $PREFIX asks no certificate authority"
    else
        # certbot keeps the hooks for its renewals: they free the HTTP port and restart TURN.
        # shellcheck disable=SC2086
        run certbot certonly --standalone --non-interactive --agree-tos --email "$ACME_EMAIL" \
            --cert-name "$CERT_NAME" --expand --http-01-port "$HTTP_PORT" \
            --pre-hook "$PROXY_STOP" --post-hook "$PROXY_START" \
            --deploy-hook "$INSTALL_DIR/apply.sh --turn-certificate" $CERT_DOMAINS
    fi
}

install_turn_certificate() {
    [ "$USE_TURN_TLS" = 1 ] || return 0
    say "certificate for TURN over TLS"
    if [ ! -f "$TURN_CHAIN_SOURCE" ] || [ ! -f "$TURN_KEY_SOURCE" ]; then
        note "no certificate at $TURN_CHAIN_SOURCE yet: TURN runs without TLS until apply.sh runs again"
        return 0
    fi
    run mkdir -p "$TURN_CERT_DIR"
    run cp "$TURN_CHAIN_SOURCE" "$TURN_CERT_DIR/fullchain.pem"
    run cp "$TURN_KEY_SOURCE" "$TURN_CERT_DIR/privkey.pem"
    run chmod 0644 "$TURN_CERT_DIR/fullchain.pem"
    run chmod 0600 "$TURN_CERT_DIR/privkey.pem"
    chown_as 0 "$TURN_OWNER" "$TURN_CERT_DIR/fullchain.pem" "$TURN_CERT_DIR/privkey.pem"
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
    until compose exec -T postgres pg_isready -q -U "$DATABASE_USER" -d "$DATABASE_NAME" -p "$DATABASE_PORT"; do
        tries=$((tries + 1))
        [ "$tries" -lt 60 ] || fail "PostgreSQL did not start in 2 minutes: see ${COMPOSE:-docker compose} logs postgres"
        sleep 2
    done
    result=$(compose exec -T postgres psql -U "$DATABASE_USER" -d "$DATABASE_NAME" -p "$DATABASE_PORT" -tA -c "$DATABASE_QUERY")
    # DATABASE_EXPECTED is a case pattern: encoding|collation|ctype, * for any.
    # shellcheck disable=SC2254
    case "$result" in
        $DATABASE_EXPECTED) note "encoding|collation|ctype is $result: good" ;;
        *) fail "the database has encoding|collation|ctype $result, but $HOMESERVER needs $DATABASE_EXPECTED; $DATABASE_FIX" ;;
    esac
}

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
    container=$(compose ps -q synapse)
    [ -n "$container" ] && [ "$(docker inspect --format '{{.State.Health.Status}}' "$container")" = healthy ]
}

wait_for_homeserver() {
    say "waiting for $HOMESERVER to answer"
    if ! homeserver_installed; then
        note "skipped: $HOMESERVER is not installed as a service yet"
        return 0
    fi
    if [ "$DRY_RUN" = 1 ]; then
        echo "+ poll until $READY_DESCRIPTION"
        return 0
    fi
    tries=0
    until homeserver_ready; do
        tries=$((tries + 1))
        [ "$tries" -lt 90 ] || fail "$HOMESERVER did not answer in 3 minutes; read its log: $LOG_COMMAND"
        sleep 2
    done
    note "$HOMESERVER answers"
}

next_steps() {
    say "next steps"
    cat <<'NEXT_STEPS'
Create the first admin account (it asks for a name and a password):
docker compose exec synapse register_new_matrix_user -c /config/homeserver.yaml --admin http://localhost:8008
Check federation: https://federationtester.matrix.org/#example.com
README.md in /opt/matrix-wizard lists the DNS records, backups and monitoring.
NEXT_STEPS
}

ACME_EMAIL=admin@example.com
CERT_NAME=matrix.example.com
CERT_NAMES='matrix.example.com example.com'
CERT_DOMAINS='-d matrix.example.com -d example.com'
CERT_CHAIN=/etc/letsencrypt/live/matrix.example.com/fullchain.pem
HTTP_PORT=80
PROXY_STOP="${COMPOSE:-docker compose} -f $COMPOSE_FILE stop nginx"
PROXY_START="${COMPOSE:-docker compose} -f $COMPOSE_FILE start nginx"
TURN_CHAIN_SOURCE=/etc/letsencrypt/live/matrix.example.com/fullchain.pem
TURN_KEY_SOURCE=/etc/letsencrypt/live/matrix.example.com/privkey.pem
TURN_CERT_DIR=/var/lib/matrix-wizard/coturn
TURN_OWNER=65534:65534
DATABASE_NAME=synapse
DATABASE_USER=synapse
DATABASE_PORT=5432
DATABASE_QUERY='SELECT pg_encoding_to_char(encoding) || '"'"'|'"'"' || datcollate || '"'"'|'"'"' || datctype FROM pg_database WHERE datname = current_database()'
DATABASE_EXPECTED='UTF8|C|C'
DATABASE_FIX='when it holds no data yet, stop the stack (docker compose down), move /var/lib/matrix-wizard/postgres away and run apply.sh again, which creates it with the right settings; otherwise dump it, create the database again with ENCODING '"'"'UTF8'"'"' LC_COLLATE '"'"'C'"'"' LC_CTYPE '"'"'C'"'"' TEMPLATE template0, and restore the dump into it.'
READY_WITH_CURL=0
READY_DESCRIPTION='docker reports the synapse container healthy'
LOG_COMMAND='docker compose -f /opt/matrix-wizard/docker-compose.yml logs synapse'
HOMESERVER_UNIT=matrix-synapse
UNITS='matrix-synapse nginx'

if [ "$TURN_CERTIFICATE_ONLY" = 1 ]; then
    check_root
    if [ "$USE_TURN_TLS" = 1 ]; then
        install_turn_certificate
        restart_turn
    fi
    exit 0
fi

if [ "$DRY_RUN" = 1 ]; then
    echo "apply.sh: dry run: the actions below are printed, none is taken"
fi
check_root
check_prerequisites
copy_bundle
make_folders
set_modes_and_owners
open_firewall
obtain_certificate
install_turn_certificate
if [ "$SKIP_START" = 1 ]; then
    say "not starting anything (--skip-start); run apply.sh without it to start"
    exit 0
fi
check_database
start_stack
wait_for_homeserver
next_steps
