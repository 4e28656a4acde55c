#!/bin/sh
# The official image's first-run steps, kept to what the bundle relies on (see the Dockerfile).
set -eu
case "${1:-}" in
    -*) set -- postgres "$@" ;;
esac
if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA"
    chown postgres:postgres "$PGDATA"
    chmod 0700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?the postgres image needs POSTGRES_PASSWORD}"
    user=${POSTGRES_USER:-postgres}
    password_file=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$password_file"
    # shellcheck disable=SC2086
    initdb --username="$user" --pwfile="$password_file" ${POSTGRES_INITDB_ARGS:-}
    rm -f "$password_file"
    printf '\nhost all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
    pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start
    database=${POSTGRES_DB:-$user}
    if [ "$database" != postgres ]; then
        psql -v ON_ERROR_STOP=1 --username "$user" --dbname postgres \
            -c "CREATE DATABASE \"$database\""
    fi
    for script in /docker-entrypoint-initdb.d/*.sql; do
        [ -e "$script" ] || continue
        echo "docker-entrypoint.sh: running $script"
        psql -v ON_ERROR_STOP=1 --username "$user" --dbname "$database" -f "$script"
    done
    pg_ctl -D "$PGDATA" -m fast -w stop
fi
exec "$@"
