#!/bin/sh
# Apply this Matrix bundle to this host: folders, owners, modes, firewall, certificate, start.
# Written by matrix-wizard. Safe to run again: every step checks before it changes anything.
set -eu

INSTALL_DIR=@@install_dir
PREFIX=@@prefix
DEPLOYMENT=@@deployment
HOMESERVER=@@homeserver
USE_FIREWALL=@@use_firewall
USE_CERTBOT=@@use_certbot
USE_TURN_TLS=@@use_turn_tls
CHECK_DATABASE=@@check_database

# Folders to create, one a line: path, mode, owner ("-" for root).
FOLDERS=@@folders
# Bundle folders a non-root service reads, one a line: path in the bundle, owner.
OWNED=@@owned
# Files and folders of the bundle that hold secrets or keys (mode 0600).
PRIVATE=@@private
SCRIPTS=@@scripts
REQUIRED=@@required

usage() {
    cat <<'EOF'
usage: sudo ./apply.sh [--dry-run] [--skip-start] [--certificate-renewed]
                      [--element-web-tarball=FILE]
  --dry-run              print every action and change nothing
  --skip-start           prepare folders, owners, firewall and certificate, but start nothing
  --certificate-renewed  only make the proxy and TURN read the renewed certificate
                         (certbot runs this after each renewal)
  --element-web-tarball=FILE
                         without containers: install Element Web from this release tarball
                         (element-vVERSION.tar.gz) instead of downloading it
EOF
}

DRY_RUN=0
SKIP_START=0
CERTIFICATE_RENEWED=0
ELEMENT_WEB_TARBALL=
for arg in "$@"; do
    case "$arg" in
        --element-web-tarball=?*) ELEMENT_WEB_TARBALL=${arg#*=} ;;
        --dry-run) DRY_RUN=1 ;;
        --skip-start) SKIP_START=1 ;;
        # --turn-certificate is what certificates obtained by earlier bundles call.
        --certificate-renewed | --turn-certificate) CERTIFICATE_RENEWED=1 ;;
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
                note "the user $owner does not exist yet: $* stays root's until apply.sh runs again after its package or apply.sh creates it"
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

# addresses_of NAME: print the addresses NAME resolves to, one a line (nothing if none).
addresses_of() {
    getent ahosts "$1" 2>/dev/null | awk '{ print $1 }' | sort -u
}

# Set CERT_NAMES to the homeserver's name and each other name that resolves to one of its
# addresses, and CERT_SKIPPED to the others as name:why; it prints nothing, so any step may
# call it. A name hosted elsewhere would make the certificate authority refuse every name.
choose_certificate_names() {
    here=$(addresses_of "$CERT_NAME")
    CERT_NAMES=$CERT_NAME
    CERT_SKIPPED=
    while read -r name why; do
        [ -n "$name" ] || continue
        if [ -n "$here" ] && addresses_of "$name" | grep -qxF "$here"; then
            CERT_NAMES="$CERT_NAMES $name"
        else
            CERT_SKIPPED="$CERT_SKIPPED $name:$why"
        fi
    done <<EOF
$CERT_OTHER_NAMES
EOF
}

# explain_skipped_name NAME WHY: say why NAME is left out of the certificate and what to do.
explain_skipped_name() {
    case "$2" in
        wellknown) fix="serve the files of well-known/matrix/ at https://$1/.well-known/matrix/ where it points (README.md), or point it here" ;;
        federation) fix="other servers check the certificate for it (SRV delegation): point it here" ;;
        element) fix="browsers refuse Element Web there until it points here" ;;
        mas) fix="people cannot sign up or log in at https://$1/ (Matrix Authentication Service) until it points here" ;;
        *) fix="TURN over TLS fails certificate checks for it until it points here" ;;
    esac
    seen=$(addresses_of "$1" | tr '\n' ' ')
    note "$1 does not point here (it resolves to: ${seen:-nothing}): the certificate leaves it out; $fix, then run apply.sh again"
}

certificate_covers_names() {
    [ -f "$CERT_CHAIN" ] || return 1
    command -v openssl >/dev/null 2>&1 || return 0
    choose_certificate_names
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
    missing=$(missing_programs)
    if [ -z "$missing" ]; then
        note "all present"
    elif [ "$DRY_RUN" = 1 ]; then
        note "missing:$missing (the real run stops here until they are installed)"
    else
        fail "missing:$missing. $PREREQUISITES_HINT"
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

# challenges_served: whatever listens on the HTTP port serves the files of ACME_WEBROOT.
challenges_served() {
    probe="$ACME_WEBROOT/.well-known/acme-challenge/matrix-wizard-probe"
    token="probe-$$"
    printf '%s' "$token" >"$probe"
    served=0
    python3 -c 'import sys, urllib.request as u
request = u.Request(sys.argv[1], headers={"Host": sys.argv[2]})
sys.exit(u.urlopen(request, timeout=5).read().decode() != sys.argv[3])' \
        "http://127.0.0.1:$HTTP_PORT/.well-known/acme-challenge/matrix-wizard-probe" \
        "$CERT_NAME" "$token" 2>/dev/null || served=1
    rm -f "$probe"
    return "$served"
}

# serve_challenges: make the HTTP port serve ACME_WEBROOT for certbot --webroot. A running
# proxy does (so renewals need nothing more); before the first certificate the proxy cannot
# start, and a temporary server does it.
serve_challenges() {
    CHALLENGE_SERVER=
    run mkdir -p "$ACME_WEBROOT/.well-known/acme-challenge"
    [ "$DRY_RUN" = 0 ] || return 0
    if challenges_served; then
        note "port $HTTP_PORT already serves $ACME_WEBROOT"
        return 0
    fi
    if [ -n "$PROXY_STOP" ]; then
        # The package's nginx answers with its default site until the bundle's site is in place.
        # shellcheck disable=SC2086
        run $PROXY_STOP
    fi
    note "a temporary web server serves $ACME_WEBROOT on port $HTTP_PORT while certbot runs"
    python3 -m http.server --directory "$ACME_WEBROOT" "$HTTP_PORT" >/dev/null 2>&1 &
    CHALLENGE_SERVER=$!
    trap stop_challenge_server EXIT
    tries=0
    until challenges_served; do
        tries=$((tries + 1))
        kill -0 "$CHALLENGE_SERVER" 2>/dev/null || fail "port $HTTP_PORT is held by a program that does not serve $ACME_WEBROOT: stop it and run apply.sh again"
        [ "$tries" -lt 50 ] || fail "the temporary web server did not answer on port $HTTP_PORT"
        sleep 0.2
    done
}

stop_challenge_server() {
    [ -n "${CHALLENGE_SERVER:-}" ] || return 0
    kill "$CHALLENGE_SERVER" 2>/dev/null || true
    wait "$CHALLENGE_SERVER" 2>/dev/null || true
    CHALLENGE_SERVER=
}

# request_certificate ACTION: ACTION is run, or print_only to print the command.
request_certificate() {
    action=$1
    set --
    for name in $CERT_NAMES; do
        set -- "$@" -d "$name"
    done
    # certbot keeps the webroot and the deploy hook for its renewals, which then need neither
    # a stopped proxy nor more than a reload.
    "$action" certbot certonly --webroot --webroot-path "$ACME_WEBROOT" --non-interactive \
        --agree-tos --email "$ACME_EMAIL" --cert-name "$CERT_NAME" --expand \
        --deploy-hook "$INSTALL_DIR/apply.sh --certificate-renewed" "$@"
}

print_only() {
    printf '+ %s   (staging: not done)\n' "$*"
}

obtain_certificate() {
    [ "$USE_CERTBOT" = 1 ] || return 0
    choose_certificate_names
    say "certificate for $CERT_NAMES"
    for skipped in $CERT_SKIPPED; do
        explain_skipped_name "${skipped%%:*}" "${skipped#*:}"
    done
    if [ -z "$(addresses_of "$CERT_NAME")" ]; then
        message="$CERT_NAME does not resolve: create the DNS records of dns-records.txt, wait until they answer, and run apply.sh again"
        [ "$DRY_RUN" = 1 ] || [ -n "$PREFIX" ] || fail "$message"
        note "$message"
    fi
    if certificate_covers_names; then
        note "$CERT_CHAIN exists and covers every name: kept"
    elif [ -n "$PREFIX" ]; then
        note "a staging run under $PREFIX asks no certificate authority"
        request_certificate print_only
    else
        serve_challenges
        request_certificate run
        stop_challenge_server
    fi
}

# copy_certificate FOLDER OWNER: copy the certificate files into FOLDER, the key readable only
# by OWNER (a service that runs as its own user and may not read root's files).
copy_certificate() {
    run mkdir -p "$1"
    run cp "$CERT_CHAIN" "$1/fullchain.pem"
    run cp "$CERT_KEY" "$1/privkey.pem"
    run chmod 0644 "$1/fullchain.pem"
    run chmod 0600 "$1/privkey.pem"
    chown_as 0 "$2" "$1/fullchain.pem" "$1/privkey.pem"
}

have_certificate() {
    [ -f "$CERT_CHAIN" ] && [ -f "$CERT_KEY" ]
}

install_turn_certificate() {
    [ "$USE_TURN_TLS" = 1 ] || return 0
    say "certificate for TURN over TLS"
    if ! have_certificate; then
        note "no certificate at $CERT_CHAIN yet: TURN runs without TLS until apply.sh runs again"
        return 0
    fi
    copy_certificate "$TURN_CERT_DIR" "$TURN_OWNER"
}

install_proxy_certificate() {
    [ -n "$PROXY_CERT_DIR" ] || return 0
    say "certificate for $PROXY_NAME, which runs as its own user"
    if ! have_certificate; then
        note "no certificate at $CERT_CHAIN and $CERT_KEY yet: $PROXY_NAME cannot start until they are there and apply.sh runs again"
        return 0
    fi
    copy_certificate "$PROXY_CERT_DIR" "$PROXY_OWNER"
}

# verify_database RESULT: RESULT is encoding|collation|ctype as the database reports them.
verify_database() {
    # DATABASE_EXPECTED is a case pattern: encoding|collation|ctype, * for any.
    # shellcheck disable=SC2254
    case "$1" in
        $DATABASE_EXPECTED) note "encoding|collation|ctype is $1: good" ;;
        *) fail "the database has encoding|collation|ctype $1, but $HOMESERVER needs $DATABASE_EXPECTED; $DATABASE_FIX" ;;
    esac
}

# The command that shows the homeserver's log, with the compose program this host has.
log_command() {
    case "$LOG_COMMAND" in
        "docker compose "*) echo "${COMPOSE:-docker compose} ${LOG_COMMAND#docker compose }" ;;
        *) echo "$LOG_COMMAND" ;;
    esac
}

@@start_step
@@move_step
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
        [ "$tries" -lt 90 ] || fail "$HOMESERVER did not answer in 3 minutes; read its log: $(log_command)"
        sleep 2
    done
    note "$HOMESERVER answers"
}

next_steps() {
    say "next steps"
    cat <<'NEXT_STEPS'
@@next_steps
NEXT_STEPS
}

@@settings
if [ "$CERTIFICATE_RENEWED" = 1 ]; then
    check_root
    if ! reload_proxy; then
        note "the proxy is not running: it reads the new certificate when it starts"
    fi
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
install_programs
move_to_postgresql before-install
copy_bundle
make_folders
set_modes_and_owners
open_firewall
obtain_certificate
install_proxy_certificate
install_turn_certificate
if [ "$SKIP_START" = 1 ]; then
    say "not starting anything (--skip-start); run apply.sh without it to start"
    exit 0
fi
check_database
move_to_postgresql before-start
start_stack
wait_for_homeserver
wait_for_workers
refresh_proxy
schedule_backups
next_steps
