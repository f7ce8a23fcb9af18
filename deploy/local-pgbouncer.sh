#!/usr/bin/env bash
# Two PgBouncers (Debian 12's 1.18, transaction pooling, built from deploy/pgbouncer/pgbouncer.ini)
# in front of one PostgreSQL, on loopback: how scripts/test runs the suite through a pooler.
#
#   deploy/local-pgbouncer.sh start DIR URL   URL is the server (postgres://user:password@host:port/db);
#                                             prints OWNER_POOLER_URL=... and SERVICE_POOLER_URL=...
#   deploy/local-pgbouncer.sh stop DIR        stop both and remove DIR
#
# The owner's PgBouncer logs in as the URL's user and leaves the role alone: the schema owner's
# work (migrations, CREATE DATABASE, test fixtures). The service's sets role claimflow_app with
# connect_query, as deploy/pgbouncer/pgbouncer.ini does for ClaimFlow's service connections
# (PgBouncer 1.18 drops the `role` startup parameter). Both serve every database of the server
# (a `*` entry), since each test makes a database of its own. Everything else is the repository's
# file: transaction mode, no reset query, the same ignored startup parameters.
set -euo pipefail
cd "$(dirname "$0")/.."

command=${1:-}
dir=${2:-}

say() { printf '%s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_bouncer() { # NAME HOST PORT CONNECT_QUERY: prints the port it listens on
    local name=$1 host=$2 port=$3 connect=$4 listen
    listen=$(deploy/local-postgres.sh free-port)
    local entry="* = host=$host port=$port"
    [ -n "$connect" ] && entry+=" connect_query='$connect'"
    # The repository's file with the database line, the address, the auth file, the files and
    # the client limit replaced (every test's pools at once). autodb_idle_timeout stays at its
    # default (an hour): PgBouncer 1.18 forgets an auto-made database that long after it was
    # made, clients or not, which must not happen within a run.
    sed -e "s|^claimflow = host=.*|$entry|" \
        -e "s|^listen_addr = .*|listen_addr = 127.0.0.1|" -e "s|^listen_port = .*|listen_port = $listen|" \
        -e "s|^auth_file = .*|auth_file = $dir/userlist.txt|" \
        -e "s|^max_client_conn = .*|max_client_conn = 2000|" \
        deploy/pgbouncer/pgbouncer.ini >"$dir/$name.ini"
    grep -q "^\\* = host=$host port=$port" "$dir/$name.ini" \
        || die "deploy/pgbouncer/pgbouncer.ini no longer has the claimflow line this script replaces"
    printf 'logfile = %s\npidfile = %s\n' "$dir/$name.log" "$dir/$name.pid" >>"$dir/$name.ini"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir/$name.ini"
    # A file descriptor per client and per server connection: the usual soft limit of 1024 is
    # too few for max_client_conn (runuser's PAM session resets it, so it is raised inside).
    as_postgres bash -c 'ulimit -n 4096 2>/dev/null || true; exec "$0" "$@"' "$pgbouncer" -d "$dir/$name.ini" >/dev/null
    for _ in $(seq 1 40); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$listen") 2>/dev/null; then echo "$listen"; return 0; fi
        sleep 0.25
    done
    die "PgBouncer $name did not start: $(tail -5 "$dir/$name.log" 2>/dev/null)"
}

start() {
    local url=${3:-}
    [ -n "$dir" ] && [ -n "$url" ] || die "usage: $0 start DIR URL"
    [[ $url =~ ^postgres(ql)?://([^:@/]+)(:([^@]*))?@([^:/?,]+):([0-9]+)/([^?]*) ]] \
        || die "the URL must read postgres://user:password@host:port/database (one host)"
    local user=${BASH_REMATCH[2]} password=${BASH_REMATCH[4]} host=${BASH_REMATCH[5]} port=${BASH_REMATCH[6]}
    local database=${BASH_REMATCH[7]}
    password=$(printf '%b' "${password//%/\\x}")
    pgbouncer=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
    if [ ! -x "$pgbouncer" ]; then
        deploy/local-cluster.sh install
        pgbouncer=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
    fi
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    # PgBouncer answers clients with this user's password and logs in to PostgreSQL with it.
    printf '"%s" "%s"\n' "$user" "$password" >"$dir/userlist.txt"
    chmod 600 "$dir/userlist.txt"
    [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$dir" && chmod 755 "$dir"
    local owner service
    owner=$(start_bouncer owner "$host" "$port" "")
    service=$(start_bouncer service "$host" "$port" "SET ROLE claimflow_app")
    local prefix=${url%%@*}
    echo "OWNER_POOLER_URL=$prefix@127.0.0.1:$owner/$database"
    echo "SERVICE_POOLER_URL=$prefix@127.0.0.1:$service/$database"
}

# What went through each PgBouncer: the databases it served (SHOW STATS forgets a database once
# it is dropped, so the log's count of auto-made ones is the figure that lasts).
report() {
    local name
    for name in owner service; do
        [ -f "$dir/$name.log" ] || continue
        say "PgBouncer $name: served $(grep -c 'registered new auto-database' "$dir/$name.log") databases"
    done
}

stop() {
    [ -n "$dir" ] || die "usage: $0 stop DIR"
    local pids=() name
    report
    for name in owner service; do
        [ -f "$dir/$name.pid" ] && pids+=("$(cat "$dir/$name.pid")")
    done
    # PgBouncer 1.18 shuts down on SIGINT (SIGTERM waits for every client to leave).
    [ ${#pids[@]} -gt 0 ] && kill -INT "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 1 20); do
        local alive=0 pid
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.25
    done
    [ ${#pids[@]} -gt 0 ] && kill -9 "${pids[@]}" 2>/dev/null || true
    rm -rf "$dir"
}

case "$command" in
    start) start "$@" ;;
    stop) stop ;;
    *) say "usage: $0 start DIR URL | stop DIR"; exit 2 ;;
esac
