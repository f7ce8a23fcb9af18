#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and local work, from Debian's server binaries.
#
#   deploy/local-postgres.sh install          install PostgreSQL when it is missing
#   deploy/local-postgres.sh start DIR [PORT] init (once) and start a cluster in DIR on
#                                             127.0.0.1:PORT (a free one when omitted);
#                                             prints `export DATABASE_URL=...`
#   deploy/local-postgres.sh stop DIR         stop it (fast shutdown)
#   deploy/local-postgres.sh free-port        print a loopback port nothing answers on
#
# PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user that
# Debian's package creates. Authentication is scram-sha-256 with a password generated per
# cluster and kept in DIR/password (mode 600).
set -euo pipefail

find_bindir() {
    local dir
    if command -v pg_config >/dev/null 2>&1; then
        dir=$(pg_config --bindir 2>/dev/null || true)
        if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return 0; fi
    fi
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v pg_ctl)")"; return 0
    fi
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return 0; fi
    done
    return 1
}

install_postgres() {
    if find_bindir >/dev/null; then return 0; fi
    echo "PostgreSQL server binaries not found; installing Debian's postgresql package." >&2
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo="sudo -n"
        else
            echo "error: PostgreSQL is not installed and this user cannot install it; run 'sudo apt-get install -y postgresql'" >&2
            exit 1
        fi
    fi
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
    # Debian starts a system cluster on 5432; ours run on their own port, so it is harmless.
    find_bindir >/dev/null || { echo "error: PostgreSQL installation failed" >&2; exit 1; }
}

# Runs a server command as the cluster's owner (postgres when we are root).
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# A loopback port nothing answers on.
free_port() {
    local port
    for _ in $(seq 1 50); do
        port=$(( 20000 + RANDOM % 30000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
    done
    echo "error: no free port found" >&2
    return 1
}

start_cluster() {
    local dir=$1 port=${2:-} bindir
    # A cluster made before keeps the port it was made with (its postgresql.conf says which).
    if [ -z "$port" ] && [ -f "$dir/data/postgresql.conf" ]; then
        port=$(awk -F'[= ]+' '$1 == "port" {print $2}' "$dir/data/postgresql.conf" | tail -1)
    fi
    [ -n "$port" ] || port=$(free_port)
    bindir=$(find_bindir) || { echo "error: PostgreSQL server binaries not found; run 'apt-get install -y postgresql'" >&2; exit 1; }
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        rm -rf "$dir/data"
        mkdir -p "$dir/data" "$dir/run"
        head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$dir/password"
        chmod 600 "$dir/password"
        if [ "$(id -u)" -eq 0 ]; then
            echo "running PostgreSQL as the postgres user (it refuses to run as root)" >&2
            chown -R postgres:postgres "$dir/data" "$dir/run"
            cp "$dir/password" "$dir/run/pwfile"
            chown postgres "$dir/run/pwfile"
        else
            cp "$dir/password" "$dir/run/pwfile"
        fi
        as_owner "$bindir/initdb" -D "$dir/data" -U claimflow --pwfile="$dir/run/pwfile" \
            --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; exit 1; }
        rm -f "$dir/run/pwfile"
        cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir/run'
max_connections = 400
shared_buffers = 256MB
fsync = on
EOF
    fi
    if ! as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -w -t 60 start >/dev/null \
            || { tail -20 "$dir/data/server.log" >&2; exit 1; }
    fi
    local password
    password=$(cat "$dir/password")
    PGPASSWORD=$password "$bindir/psql" -h 127.0.0.1 -p "$port" -U claimflow -d postgres -qAt \
        -c "SELECT 1 FROM pg_database WHERE datname = 'claimflow'" | grep -q 1 \
        || PGPASSWORD=$password "$bindir/psql" -h 127.0.0.1 -p "$port" -U claimflow -d postgres -q \
            -c "CREATE DATABASE claimflow"
    echo "export DATABASE_URL=postgres://claimflow:$password@127.0.0.1:$port/claimflow"
}

stop_cluster() {
    local dir=$1 bindir
    bindir=$(find_bindir) || exit 0
    [ -f "$dir/data/PG_VERSION" ] || exit 0
    as_owner "$bindir/pg_ctl" -D "$(cd "$dir" && pwd)/data" -m fast -w stop >/dev/null 2>&1 || true
}

case "${1:-}" in
    install) install_postgres ;;
    start) install_postgres; start_cluster "${2:?DIR}" "${3:-}" ;;
    stop) stop_cluster "${2:?DIR}" ;;
    bindir) find_bindir ;;
    free-port) free_port ;;
    *) echo "usage: $0 install | start DIR [PORT] | stop DIR | bindir | free-port" >&2; exit 2 ;;
esac
