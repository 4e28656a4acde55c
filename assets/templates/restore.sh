#!/bin/sh
# Restore the Matrix homeserver from one folder backup.sh wrote, on this machine or a fresh one.
# Written by matrix-wizard. It stops the homeserver, puts back this bundle (config, signing key,
# secrets), the database and the media, and starts the homeserver again with apply.sh.
# Safe to run again: each run replaces what the last one restored.
set -eu

INSTALL_DIR=@@install_dir
PREFIX=@@prefix
HOMESERVER=@@homeserver
HOMESERVER_DATA=@@homeserver_data
# Who owns the homeserver's files: a user name, uid:gid, or - for root.
HOMESERVER_OWNER=@@homeserver_owner
MEDIA_DIR=@@media_dir
BACKUP_DIR=@@backup_dir
# The part of a backup that holds the database.
DATABASE_PART=@@database_part
# The part holding the homeserver's own state beside its database, if it keeps any.
STATE_PART=@@state_part

usage() {
    cat <<EOF
usage: sudo $0 [--dry-run] [--yes] [BACKUP]
  BACKUP     a folder backup.sh wrote (default: the newest in $BACKUP_DIR)
  --dry-run  check the backup and print every step, taking none
  --yes      go on: the homeserver's database, media and bundle are replaced by the backup's
EOF
}

DRY_RUN=0
YES=0
BACKUP=
for arg in "$@"; do
    case "$arg" in
        --dry-run) DRY_RUN=1 ;;
        --yes) YES=1 ;;
        -h | --help)
            usage
            exit 0
            ;;
        -*)
            usage >&2
            echo "restore.sh: unknown option '$arg'" >&2
            exit 2
            ;;
        *)
            [ -z "$BACKUP" ] || {
                echo "restore.sh: give one backup folder, not '$BACKUP' and '$arg'" >&2
                exit 2
            }
            BACKUP=$arg
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
    printf 'restore.sh: %s\n' "$*" >&2
    exit 1
}

# Print an action, then do it unless this is a dry run.
run() {
    printf '+ %s\n' "$*"
    if [ "$DRY_RUN" = 0 ]; then
        "$@"
    fi
}

# Print an action on the host's services, then do it unless this is a dry run or a staging
# run under a prefix, where the services are not this script's to start or stop.
host_run() {
    if [ -n "$PREFIX" ]; then
        printf '+ %s   (staging: not done)\n' "$*"
        return 0
    fi
    run "$@"
}

# run_from FILE COMMAND...: print a command that reads FILE, then run it so, unless a dry run.
run_from() {
    file=$1
    shift
    printf '+ %s < %s\n' "$*" "$file"
    if [ "$DRY_RUN" = 0 ]; then
        "$@" <"$file"
    fi
}

# chown_as OWNER PATH...: OWNER is uid:gid, a user name, or - for root.
chown_as() {
    owner=$1
    shift
    case "$owner" in
        -) spec=0:0 ;;
        *:*) spec=$owner ;;
        *)
            if ! id -u "$owner" >/dev/null 2>&1; then
                note "the user $owner does not exist yet: $* stays root's until apply.sh creates it"
                return 0
            fi
            spec="$owner:"
            ;;
    esac
    run chown -R "$spec" "$@"
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

choose_backup() {
    if [ -z "$BACKUP" ]; then
        # shellcheck disable=SC2012
        BACKUP=$(ls -d "$BACKUP_DIR"/????????T??????Z 2>/dev/null | sort | tail -n 1)
        [ -n "$BACKUP" ] || fail "no backup in $BACKUP_DIR: copy one back from where you keep them and give its folder: sudo $0 FOLDER"
    fi
    [ -d "$BACKUP" ] || fail "no such backup folder: $BACKUP; give a folder backup.sh wrote, such as $BACKUP_DIR/<UTC time>"
    BACKUP=$(cd "$BACKUP" && pwd -P)
    say "restoring from $BACKUP"
}

# check_backup: every part is there and as backup.sh wrote it, before anything is changed.
check_backup() {
    [ -f "$BACKUP/SHA256SUMS" ] || fail "$BACKUP is incomplete: it has no SHA256SUMS, which backup.sh writes last (the backup stopped early, or was copied in part); restore another backup"
    parts="bundle.tar $DATABASE_PART $STATE_PART"
    [ -z "$MEDIA_DIR" ] || parts="$parts media.tar"
    for part in $parts; do
        # A part written as a pattern (the SQLite files) must match at least one file.
        # shellcheck disable=SC2086
        set -- "$BACKUP"/$part
        [ -f "$1" ] || fail "$BACKUP lacks $part, which a backup of this homeserver holds; restore another backup, or the one written by this bundle's backup.sh"
    done
    (cd "$BACKUP" && sha256sum -c --quiet SHA256SUMS) >&2 ||
        fail "a part of $BACKUP is not as backup.sh wrote it (see above): copy it again from where you keep backups"
    note "every part is there and matches SHA256SUMS"
}

confirm() {
    [ "$DRY_RUN" = 0 ] || return 0
    [ "$YES" = 1 ] || fail "this replaces the database, the media and the bundle in $INSTALL_DIR with those of $BACKUP; run it with --dry-run to see every step, then with --yes to restore"
}

stop_homeserver() {
    say "stopping $HOMESERVER"
    @@stop_homeserver
}

restore_bundle() {
    say "putting back the bundle in $INSTALL_DIR (config, signing key, secrets)"
    run mkdir -p "$INSTALL_DIR"
    run tar -C "$INSTALL_DIR" -xpf "$BACKUP/bundle.tar"
}

# apply_bundle ARGS...: run the restored bundle's apply.sh, which installs what the homeserver
# needs, sets owners and modes, and with no arguments starts the stack.
apply_bundle() {
    if [ "$DRY_RUN" = 1 ]; then
        printf '+ sh %s\n' "$INSTALL_DIR/apply.sh${*:+ $*}"
        return 0
    fi
    run sh "$INSTALL_DIR/apply.sh" "$@"
}

restore_media() {
    [ -n "$MEDIA_DIR" ] || return 0
    say "putting back the media in $MEDIA_DIR"
    run mkdir -p "$MEDIA_DIR"
    run find "$MEDIA_DIR" -mindepth 1 -delete
    run tar -C "$MEDIA_DIR" -xpf "$BACKUP/media.tar"
    chown_as "$HOMESERVER_OWNER" "$MEDIA_DIR"
}

@@prelude
@@database_step
@@state_step
main() {
    if [ "$DRY_RUN" = 1 ]; then
        echo "restore.sh: dry run: the actions below are printed, none is taken"
    fi
    check_root
    choose_backup
    check_backup
    confirm
    stop_homeserver
    restore_bundle
    say "installing what the homeserver needs, its folders, owners and modes (apply.sh --skip-start)"
    apply_bundle --skip-start
    restore_database
    restore_state
    restore_media
    say "starting the stack again (apply.sh)"
    apply_bundle
    say "restored from $BACKUP"
}

# Read to the end before it runs: the restored bundle replaces this very file.
main; exit
