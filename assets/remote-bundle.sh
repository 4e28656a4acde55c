#!/bin/sh
# The server-side steps of uploading a bundle over SSH; each step is one exec channel.
# POSIX sh (dash, bash, busybox ash) plus id, df, tail, mktemp, mkdir, chmod, mv, rm, sha256sum,
# and flock, cat and date for the lock (without flock, the lock step says so and holds nothing).
#
#   remote-bundle.sh survey TARGET PREFIX            where the bundle would go; changes nothing
#   remote-bundle.sh prepare TARGET PREFIX           the same, then an empty staging folder
#   remote-bundle.sh verify STAGING KMODE PATH...    set modes (K: d or f), sha256 of each f
#   remote-bundle.sh swap STAGING TARGET MODE PREFIX the staging folder in, TARGET.previous kept
#   remote-bundle.sh cleanup STAGING TARGET          delete the staging folder, say the room left
#   remote-bundle.sh lock TARGET WHO                 hold TARGET's lock until standard input ends
#
# PREFIX is the name staging folders start with beside TARGET (.NAME.tmp-): the same names
# as a local write, so an interrupted upload is found and deleted by the next one.
# Output: one "key<TAB>value" line per fact; a failure prints "error<TAB>STEP<TAB>REASON" and
# exits 1, after undoing what the step did.
set -u

fail() {
    printf 'error\t%s\t%s\n' "$1" "${2##*: }"
    exit 1
}

# place TARGET: set target (absolute), parent and previous.
place() {
    case $1 in
    "~/"*) target=${HOME:-}/${1#"~/"} ;;
    /*) target=$1 ;;
    *) target=$(pwd -P)/$1 ;;
    esac
    while :; do
        case $target in
        */) target=${target%/} ;;
        *) break ;;
        esac
    done
    parent=${target%/*}
    [ -n "$parent" ] || parent=/
    previous=$target.previous
}

# room FOLDER: the free space (and inodes) of the disk holding FOLDER or its nearest parent.
room() {
    nearest=$1
    while [ ! -d "$nearest" ]; do
        nearest=${nearest%/*}
        [ -n "$nearest" ] || nearest=/
    done
    printf 'df\t%s\n' "$(df -Pk "$nearest" 2>/dev/null | tail -n 1)"
    printf 'inodes\t%s\n' "$(df -Pi "$nearest" 2>/dev/null | tail -n 1)"
}

survey() {
    place "$1"
    printf 'target\t%s\n' "$target"
    euid=$(id -u)
    printf 'euid\t%s\n' "$euid"
    if [ "$euid" != 0 ] && PATH="$PATH:/usr/sbin:/sbin" command -v sudo >/dev/null 2>&1; then
        PATH="$PATH:/usr/sbin:/sbin" sudo -n true </dev/null >/dev/null 2>&1
        printf 'sudo\t%s\n' "$?"
    fi
    if [ -e "$target" ] && [ ! -d "$target" ]; then
        fail target "$target is not a folder"
    fi
    [ ! -d "$target" ] || printf 'exists\t1\n'
    [ ! -d "$previous" ] || printf 'previous\t1\n'
    for stale in "$parent/$2"*; do
        [ ! -d "$stale" ] || printf 'stale\t%s\n' "$stale"
    done
    room "$parent"
}

prepare() {
    survey "$1" "$2"
    why=$(mkdir -p -- "$parent" 2>&1) || fail mkdir "$why"
    for stale in "$parent/$2"*; do
        [ -d "$stale" ] || continue
        if why=$(rm -rf -- "$stale" 2>&1); then
            printf 'cleaned\t%s\n' "$stale"
        else
            printf 'uncleaned\t%s\t%s\n' "$stale" "${why##*: }"
        fi
    done
    staging=$(mktemp -d "$parent/$2XXXXXX" 2>&1) || fail staging "$staging"
    printf 'staging\t%s\n' "$staging"
}

verify() {
    why=$(cd -- "$1" 2>&1) || fail verify "$why"
    cd -- "$1" || exit 1
    shift
    count=$(($# / 2))
    while [ "$count" -gt 0 ]; do
        kind=${1%"${1#?}"}
        why=$(chmod "${1#?}" "./$2" 2>&1) || fail chmod "$why"
        [ "$kind" != f ] || set -- "$@" "./$2"
        shift 2
        count=$((count - 1))
    done
    [ $# -eq 0 ] || sha256sum -- "$@" || fail sha256sum "sha256sum failed"
}

swap() {
    staging=$1
    place "$2"
    why=$(chmod "$3" "$staging" 2>&1) || fail chmod "$why"
    sync
    if [ ! -e "$target" ]; then
        why=$(mv -- "$staging" "$target" 2>&1) || fail rename "$why"
        printf 'swapped\t%s\n' "$target"
        return 0
    fi
    parked=
    if [ -e "$previous" ] || [ -L "$previous" ]; then
        parked=$(mktemp -d "$parent/$4XXXXXX" 2>&1) || fail park "$parked"
        why=$(mv -- "$previous" "$parked/" 2>&1) || {
            rmdir -- "$parked"
            fail park "$why"
        }
    fi
    if ! why=$(mv -- "$target" "$previous" 2>&1); then
        [ -z "$parked" ] || mv -- "$parked/${previous##*/}" "$previous"
        [ -z "$parked" ] || rmdir -- "$parked"
        fail rename "$why"
    fi
    if ! why=$(mv -- "$staging" "$target" 2>&1); then
        mv -- "$previous" "$target"
        [ -z "$parked" ] || mv -- "$parked/${previous##*/}" "$previous"
        [ -z "$parked" ] || rmdir -- "$parked"
        fail rename "$why"
    fi
    [ -z "$parked" ] || rm -rf -- "$parked"
    printf 'previous\t%s\n' "$previous"
    printf 'swapped\t%s\n' "$target"
}

cleanup() {
    rm -rf -- "$1"
    place "$2"
    room "$parent"
}

# lock TARGET WHO: flock .NAME.lock beside TARGET (the file a local write locks too), write the
# holder's pid, WHO and the time into it, say "locked", then hold it until standard input ends:
# when the wizard lets go, or its SSH session ends in any way. The file is deleted before the
# lock goes, so a step that then locks a deleted file opens the new one and tries again. A lock
# held by another prints its holder's lines and "busy", and exits 1.
lock() {
    place "$1"
    printf 'target\t%s\n' "$target"
    why=$(mkdir -p -- "$parent" 2>&1) || fail mkdir "$why"
    if ! command -v flock >/dev/null 2>&1; then
        printf 'unlocked\tno flock\n'
        return 0
    fi
    lockfile=$parent/.${target##*/}.lock
    while :; do
        why=$(: 2>&1 <>"$lockfile") || fail lock "$why"
        exec 9<>"$lockfile"
        if ! flock -n 9; then
            while IFS= read -r line; do
                printf 'holder\t%s\n' "$line"
            done <&9
            printf 'busy\t%s\n' "$lockfile"
            exit 1
        fi
        [ "$lockfile" -ef /dev/fd/9 ] && break
        exec 9<&-
    done
    printf 'pid %s\ncommand %s\nsince %s\n' "$$" "$2" "$(date '+%Y-%m-%d %H:%M:%S %z')" \
        >"$lockfile" 2>/dev/null
    printf 'locked\t%s\n' "$lockfile"
    cat >/dev/null 9<&-
    rm -f -- "$lockfile"
}

step=${1:-}
[ $# -gt 0 ] && shift
case $step in
survey) survey "$1" "$2" ;;
prepare) prepare "$1" "$2" ;;
verify) verify "$@" ;;
swap) swap "$1" "$2" "$3" "$4" ;;
cleanup) cleanup "$1" "$2" ;;
lock) lock "$1" "$2" ;;
*)
    echo "usage: remote-bundle.sh survey|prepare|verify|swap|cleanup|lock ..." >&2
    exit 2
    ;;
esac
