restore_database() {
    say "putting back $HOMESERVER's data folder $HOMESERVER_DATA, its database inside"
    run mkdir -p "$HOMESERVER_DATA"
    run find "$HOMESERVER_DATA" -mindepth 1 -delete
    # As root, tar gives each file back the owner it had.
    run tar -C "$HOMESERVER_DATA" -xpf "$BACKUP/homeserver-data.tar"
}
