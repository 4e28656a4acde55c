# The checksums of the files each service reads, kept between runs so a run restarts only
# the services whose files changed. SERVICE_FILES lists them, a service a line; CHECKSUM_RECORD
# keeps them.

# placed_files PATH: print the files at PATH (a file or a folder) of the install folder as the
# bundle's copy leaves them: those already there and those the bundle brings. An absolute PATH
# is a file of the host's own, such as a certificate, read where it is.
placed_files() {
    case "$1" in
        /*)
            [ ! -e "$1" ] || find -L "$1" -type f | LC_ALL=C sort
            return 0
            ;;
    esac
    for root in "$INSTALL_DIR" "$SOURCE_DIR"; do
        if [ -e "$root/$1" ]; then
            (cd "$root" && find "$1" -type f)
        fi
    done | LC_ALL=C sort -u
}

# placed FILE: print where a service reads FILE from; a dry run copies nothing, so there it is
# the bundle's own copy when the bundle has one.
placed() {
    if [ "${1#/}" != "$1" ]; then
        echo "$1"
    elif [ "$DRY_RUN" = 1 ] && [ -f "$SOURCE_DIR/$1" ]; then
        echo "$SOURCE_DIR/$1"
    else
        echo "$INSTALL_DIR/$1"
    fi
}

# service_file_checksums: print "service file sha256" for each file each service reads.
service_file_checksums() {
    while read -r service paths; do
        for path in $paths; do
            placed_files "$path" | while read -r file; do
                sum=$(sha256sum 2>/dev/null <"$(placed "$file")") || sum=unreadable
                printf '%s %s %s\n' "$service" "$file" "${sum%% *}"
            done
        done
    done <<EOF
$SERVICE_FILES
EOF
}

# changed_files RECORD: read the current checksums on stdin and print "service file how" for
# each file that changed, came or went since RECORD, for the services there are now.
changed_files() {
    awk 'FNR == NR { old[$1 " " $2] = $3; next }
        {
            key = $1 " " $2
            now[$1] = 1
            if (!(key in old)) print key " is new"
            else if (old[key] != $3) print key " changed"
            delete old[key]
        }
        END { for (key in old) { split(key, part, " "); if (part[1] in now) print key " is gone" } }' "$1" - | LC_ALL=C sort
}

# find_changes CHECKSUMS: set CHANGES to "none recorded", "unknown" (only root may read the
# record) or "recorded", and CHANGED_FILES to the "service file how" lines since the record.
find_changes() {
    CHANGED_FILES=
    if [ ! -s "$CHECKSUM_RECORD" ]; then
        CHANGES="none recorded"
    elif [ ! -r "$CHECKSUM_RECORD" ]; then
        CHANGES=unknown
    else
        CHANGES=recorded
        CHANGED_FILES=$(printf '%s\n' "$1" | changed_files "$CHECKSUM_RECORD")
    fi
}

# record_checksums CHECKSUMS: keep them for the next run, unless this is a dry run.
record_checksums() {
    printf '+ record the checksums of the files each service reads in %s\n' "$CHECKSUM_RECORD"
    [ "$DRY_RUN" = 0 ] || return 0
    # Mode 0600: the sums are of files that hold secrets.
    (umask 077 && printf '%s\n' "$1" >"$CHECKSUM_RECORD.new")
    mv "$CHECKSUM_RECORD.new" "$CHECKSUM_RECORD"
}
