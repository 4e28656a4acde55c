#!/bin/sh
# Back up the Matrix homeserver: its database, its media, and this bundle (config, keys, secrets).
# Written by matrix-wizard. Each run writes BACKUP_DIR/<UTC time>/ (mode 0700) and deletes
# the backups older than KEEP_DAYS days. Usage: sudo ./backup.sh
set -eu

INSTALL_DIR=/opt/matrix-wizard
HOMESERVER_DATA=/var/lib/matrix-wizard/synapse
MEDIA_DIR=/var/lib/matrix-wizard/media
BACKUP_DIR=/var/backups/matrix-wizard
KEEP_DAYS=14

log() {
    printf 'backup: %s\n' "$*"
}

fail() {
    printf 'backup.sh: %s\n' "$*" >&2
    exit 1
}

case "${1:-}" in
    "") ;;
    -h | --help)
        echo "usage: $0   (backs up to $BACKUP_DIR, keeps $KEEP_DAYS days)"
        exit 0
        ;;
    *) fail "unknown option '$1'; run it without options, or with --help" ;;
esac

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

DATABASE_NAME=synapse
DATABASE_USER=synapse
DATABASE_PORT=5432

backup_database() {
    log "dumping the PostgreSQL database $DATABASE_NAME"
    compose exec -T postgres pg_dump -U "$DATABASE_USER" -p "$DATABASE_PORT" -Fc "$DATABASE_NAME" \
        >"$target/database.dump"
}

backup_media() {
    if [ -z "$MEDIA_DIR" ]; then
        log "media is kept in S3: back the bucket up with the provider's tools"
    elif [ -d "$MEDIA_DIR" ]; then
        log "archiving media from $MEDIA_DIR"
        tar -C "$MEDIA_DIR" -cf "$target/media.tar" .
    else
        log "no media folder at $MEDIA_DIR yet"
    fi
}

backup_bundle() {
    log "archiving the bundle in $INSTALL_DIR (signing key and secrets included)"
    tar -C "$INSTALL_DIR" -cf "$target/bundle.tar" .
}

delete_old_backups() {
    find "$BACKUP_DIR" -mindepth 1 -maxdepth 1 -type d -name '????????T??????Z' \
        -mtime +"$((KEEP_DAYS - 1))" | while read -r old; do
        log "deleting $old (older than $KEEP_DAYS days)"
        rm -rf "$old"
    done
}

umask 077
mkdir -p "$BACKUP_DIR"
target="$BACKUP_DIR/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir "$target" || fail "$target already exists: wait a second and run again"
log "writing $target"
backup_database
backup_media
backup_bundle
delete_old_backups
log "done: $target"
