#!/bin/sh
# Tell matrix-wizard what this machine offers a homeserver: the files and command answers its
# probe reads, in one pass. POSIX sh (dash, bash, busybox ash) plus cat, ls, tr, df, uname, id
# and tail.
#
# Usage: probe.sh MARK DATA_PATH           print one stream of records on standard output
#        probe.sh --folder OUT DATA_PATH   record a snapshot folder (tests/fixtures/hosts)
#
# The stream is made of records, each starting with a line of tab-separated fields, the first
# being MARK (a word the reader chose, which no file here can know):
#   MARK V 1                     the stream's format
#   MARK W REQUESTED EXISTING FOUND   the data path asked for, its nearest existing folder
#                                with links resolved, and 1 if the path itself exists (else 0)
#   MARK X REASON                the data path cannot be used (the stream stops there)
#   MARK F PATH                  a file's bytes follow, then a newline and "MARK END"
#   MARK E PATH REASON           the path exists but could not be read
#   MARK L PATH TARGET           a symlink
#   MARK D PATH ENTRY            one entry of a listed folder
#   MARK P PATH                  something exists at the path
#   MARK C COMMAND OUTPUT        the one-line output of a command
# A folder holds the same in the layout wizard/probe/snapshot.py loads.
set -u

usage() {
    echo "usage: probe.sh MARK DATA_PATH | probe.sh --folder OUT_DIR DATA_PATH" >&2
    exit 2
}

folder=
mark=
if [ "${1:-}" = --folder ]; then
    [ $# -eq 3 ] || usage
    folder=$2
    data=$3
else
    [ $# -eq 2 ] || usage
    mark=$1
    data=$2
fi
exec 3>&1

# note KIND FIELD...: one record: a stream line, or a line of the folder's table for KIND.
note() {
    kind=$1
    shift
    saved_ifs=$IFS
    IFS='	'
    fields="$*"
    IFS=$saved_ifs
    if [ -z "$folder" ]; then
        printf '%s\t%s\t%s\n' "$mark" "$kind" "$fields"
        return 0
    fi
    case $kind in
    L) table=links.tsv ;;
    D) table=dirs.tsv ;;
    P) table=present.txt ;;
    C) table=commands.tsv ;;
    E) table=errors.tsv ;;
    esac
    printf '%s\n' "$fields" >>"$folder/$table"
}

# refuse REASON: the data path cannot be used.
refuse() {
    if [ -n "$folder" ]; then
        echo "probe.sh: data path $data $1" >&2
    else
        note X "$1"
    fi
    exit 2
}

# grab PATH [FILTER]: a file's text (through FILTER, a function, if given), or why it is
# unreadable.
grab() {
    [ -e "$1" ] || return 0
    if [ -n "$folder" ]; then
        mkdir -p "$folder/root${1%/*}"
        if ! why=$(${2:-cat} 2>&1 <"$1" >"$folder/root$1"); then
            rm -f "$folder/root$1"
            note E "$1" "${why##*: }"
        fi
        return 0
    fi
    note F "$1"
    why=$(${2:-cat} 2>&1 <"$1" >&3)
    failed=$?
    printf '\n%s\tEND\n' "$mark"
    [ "$failed" -eq 0 ] || note E "$1" "${why##*: }"
    return 0
}

# line PATH: a file of one line, read by the shell itself (no process started for it).
line() {
    [ -e "$1" ] || return 0
    text=
    if [ -z "$folder" ] && [ -r "$1" ] && { IFS= read -r text <"$1" || [ -n "$text" ]; } 2>/dev/null; then
        printf '%s\tF\t%s\n%s\n\n%s\tEND\n' "$mark" "$1" "$text" "$mark"
    else
        grab "$1"
    fi
}

# listening: keep the header and the LISTEN (0A) lines of a /proc/net/tcp table.
listening() {
    while IFS= read -r line; do
        set -- $line
        case ${4:-} in
        st | 0A) printf '%s\n' "$line" ;;
        esac
    done
}

# container_entry: keep only the container= entry of /proc/1/environ, which can hold secrets.
container_entry() {
    tr '\0' '\n' | while IFS= read -r entry; do
        case $entry in
        container=*) printf '%s\0' "$entry" ;;
        esac
    done
}

# links FOLDER: the target of each symlink in a folder, from one ls.
links() {
    [ -d "$1" ] || return 0
    ls -l "$1" 2>/dev/null | while IFS= read -r line; do
        case $line in
        *" -> "*)
            left=${line% -> *}
            note L "$1/${left##* }" "${line#* -> }"
            ;;
        esac
    done
}

# listing PATH: the names in a folder (an empty folder is recorded as present).
listing() {
    [ -d "$1" ] || return 0
    note P "$1"
    for entry in "$1"/* "$1"/.[!.]*; do
        [ -e "$entry" ] || [ -L "$entry" ] || continue
        note D "$1" "${entry##*/}"
    done
}

# present PATH: something exists there.
present() {
    if [ -e "$1" ] || [ -L "$1" ]; then note P "$1"; fi
}

# answer COMMAND OUTPUT: a command's one-line output, if it printed anything.
answer() {
    [ -z "$2" ] || note C "$1" "$2"
}

# The data path: relative to the home folder, judged by its nearest existing folder.
case $data in
"~") requested=${HOME:-/} ;;
"~/"*) requested=${HOME:-}/${data#"~/"} ;;
/*) requested=$data ;;
*) requested=$(pwd -P)/$data ;;
esac
candidate=$requested
while [ ! -e "$candidate" ] && [ ! -L "$candidate" ]; do
    candidate=${candidate%/*}
    [ -n "$candidate" ] || candidate=/
done
if [ ! -d "$candidate" ]; then
    if [ "$candidate" = "$requested" ]; then
        refuse "is a file, not a folder"
    fi
    refuse "cannot be read: part of it is a file, not a folder"
fi
if ! existing=$(cd "$candidate" 2>&1 && pwd -P); then
    refuse "cannot be read: ${existing##*: }"
fi
if [ -n "$folder" ]; then
    [ "$candidate" = "$requested" ] || refuse "is not a folder"
    mkdir -p "$folder/root" || exit 1
    for table in links.tsv dirs.tsv present.txt commands.tsv errors.tsv; do
        : >"$folder/$table"
    done
else
    note V 1
    found=0
    [ "$candidate" != "$requested" ] || found=1
    note W "$requested" "$existing" "$found"
fi

for file in /proc/cpuinfo /proc/meminfo /etc/os-release /usr/lib/os-release \
    /proc/self/cgroup /proc/self/mountinfo /proc/self/status /proc/1/cgroup \
    /proc/net/udp /proc/net/udp6; do
    grab "$file"
done
for file in /proc/sys/kernel/osrelease /proc/sys/kernel/hostname \
    /sys/class/dmi/id/sys_vendor /sys/class/dmi/id/product_name /sys/hypervisor/type; do
    line "$file"
done
grab /proc/net/tcp listening
grab /proc/net/tcp6 listening
grab /proc/1/environ container_entry
for topology in /sys/devices/system/cpu/cpu[0-9]*/topology/thread_siblings_list; do
    line "$topology"
done
for marker in /.dockerenv /run/.containerenv /run/systemd/system; do
    present "$marker"
done

# cgroup limits: the process's cgroup and each ancestor, under every cgroup mount.
while read -r _id _parent _devno root mount_point rest; do
    case " $rest " in
    *" - cgroup2 "* | *" - cgroup "*) ;;
    *) continue ;;
    esac
    while IFS= read -r membership; do
        cgroup=${membership#*:}
        cgroup=${cgroup#*:}
        if [ "$root" = / ]; then
            relative=$cgroup
        else
            case $cgroup in
            "$root" | "$root"/*) relative=${cgroup#"$root"} ;;
            *) relative= ;;
            esac
        fi
        cgroup_folder=$mount_point${relative%/}
        while :; do
            for limit in memory.max cpu.max memory.limit_in_bytes cpu.cfs_quota_us \
                cpu.cfs_period_us; do
                [ -f "$cgroup_folder/$limit" ] && line "$cgroup_folder/$limit"
            done
            case $cgroup_folder in
            "$mount_point"/*) cgroup_folder=${cgroup_folder%/*} ;;
            *) break ;;
            esac
        done
    done </proc/self/cgroup
done </proc/self/mountinfo

# Block devices: numbers to names, partitions to disks, device-mapper and RAID members.
links /sys/dev/block
links /sys/class/block
listing /sys/block
for disk in /sys/block/*; do
    [ -d "$disk" ] || continue
    line "$disk/queue/rotational"
    [ -f "$disk/dm/name" ] && line "$disk/dm/name"
    listing "$disk/slaves"
done

# Tools: only a file that can be run counts, as for the local probe (bash's command -v also
# names a file it cannot run when nothing runnable has the name).
runnable() {
    found=$(PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" command -v "$1" 2>/dev/null) || return 0
    if [ -x "$found" ]; then
        printf '%s\n' "$found"
    fi
}
for program in docker docker-compose nginx caddy traefik postgres sudo; do
    answer "command -v $program" "$(runnable "$program")"
done
answer "printenv HOME" "${HOME:-}"
for plugins in /usr/libexec/docker/cli-plugins /usr/lib/docker/cli-plugins \
    /usr/local/lib/docker/cli-plugins /usr/local/libexec/docker/cli-plugins \
    "${HOME:-/nonexistent}/.docker/cli-plugins"; do
    present "$plugins/docker-compose"
done
listing /usr/lib/postgresql
for server in /usr/lib/postgresql/*/bin/postgres; do
    present "$server"
done

# Commands.
answer "uname -m" "$(uname -m)"
euid=$(id -u)
answer "id -u" "$euid"
if [ "$euid" != 0 ] && PATH="$PATH:/usr/sbin:/sbin" command -v sudo >/dev/null 2>&1; then
    PATH="$PATH:/usr/sbin:/sbin" sudo -n true </dev/null >/dev/null 2>&1
    answer "sudo -n true" "$?"
fi
answer "df -Pk $existing" "$(df -Pk "$existing" | tail -n 1)"
exit 0
