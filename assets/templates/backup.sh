#!/bin/sh
# Back up the Matrix homeserver: its database, its media, and this bundle (config, keys, secrets).
# Written by matrix-wizard. Each run writes BACKUP_DIR/<UTC time>/ (mode 0700): the parts,
# restore.sh to put them back, and SHA256SUMS last, so a backup without it is incomplete.
# It deletes the backups older than KEEP_DAYS days. Usage: sudo ./backup.sh
set -eu

INSTALL_DIR=@@install_dir
HOMESERVER_DATA=@@homeserver_data
MEDIA_DIR=@@media_dir
# Why there is no media folder to archive, when MEDIA_DIR is empty.
MEDIA_ELSEWHERE=@@media_elsewhere
BACKUP_DIR=@@backup_dir
KEEP_DAYS=@@keep_days

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

@@prelude
@@database_step
@@state_step
backup_media() {
    if [ -z "$MEDIA_DIR" ]; then
        log "$MEDIA_ELSEWHERE"
    elif [ -d "$MEDIA_DIR" ]; then
        log "archiving media from $MEDIA_DIR"
        tar -C "$MEDIA_DIR" -cf "$target/media.tar" .
    else
        log "no media folder at $MEDIA_DIR yet: an empty media archive"
        tar -cf "$target/media.tar" -T /dev/null
    fi
}

backup_bundle() {
    log "archiving the bundle in $INSTALL_DIR (signing key and secrets included)"
    tar -C "$INSTALL_DIR" -cf "$target/bundle.tar" .
    # restore.sh beside the parts, so the folder alone is enough on a fresh machine.
    if [ -f "$INSTALL_DIR/restore.sh" ]; then
        cp "$INSTALL_DIR/restore.sh" "$target/restore.sh"
    fi
}

# seal: record each part's checksum, last: restore.sh refuses a backup without SHA256SUMS.
seal() {
    (cd "$target" && find . -maxdepth 1 -type f ! -name 'SHA256SUMS*' | sed 's|^\./||' | sort |
        xargs sha256sum >SHA256SUMS.partial && mv SHA256SUMS.partial SHA256SUMS)
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
backup_state
backup_media
backup_bundle
seal
log "done: $target ($(du -sh "$target" | cut -f1))"
delete_old_backups
