#!/usr/bin/env bash
# The whole multi-process topology on one machine's loopback, from Debian's packages:
#
#   deploy/local-cluster.sh start [DIR]    bring it up (DIR defaults to .claimflow/cluster)
#   deploy/local-cluster.sh stop [DIR]     stop everything and remove DIR
#   deploy/local-cluster.sh status [DIR]   what runs, and which database node is the primary
#   deploy/local-cluster.sh install        only install the Debian packages named below
#
# What runs (ports overridable by the environment variables named):
#   PostgreSQL primary  127.0.0.1:$PRIMARY_PORT (55501)   synchronous replication to the standby
#   PostgreSQL standby  127.0.0.1:$STANDBY_PORT (55502)   streaming, hot standby, application_name standby
#   PgBouncer a         127.0.0.1:$BOUNCER_A_PORT (56501)  transaction pooling, in front of the primary
#   PgBouncer b         127.0.0.1:$BOUNCER_B_PORT (56502)  the same, in front of the standby
#   claimflow serve ×3  127.0.0.1:8081-8083                --no-workers --no-migrate, through PgBouncer
#   claimflow work ×2                                      --no-migrate, one shared outbox DIR/outbox
#   nginx               127.0.0.1:8088                     deploy/nginx/local.conf
#
# Every ClaimFlow process reaches the database as deploy/README.md describes: DATABASE_URL lists
# both PgBouncers with target_session_attrs=read-write (prepared statements off: PgBouncer 1.18),
# and CLAIMFLOW_LISTEN_URL lists both PostgreSQL nodes directly for LISTEN. After `pg_ctl promote`
# of the standby, the same URLs find the new primary. DIR/cluster.env holds the URLs, the ports
# and the process ids for scripts and tests (mode 600: it holds the password).
#
# Installs postgresql, pgbouncer and nginx from Debian when missing (as root; their system
# services are kept from starting). Builds claimflow (BUILD=debug or release; debug default),
# or runs the binary CLAIMFLOW_BINARY names.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

PRIMARY_PORT=${PRIMARY_PORT:-55501}
STANDBY_PORT=${STANDBY_PORT:-55502}
BOUNCER_A_PORT=${BOUNCER_A_PORT:-56501}
BOUNCER_B_PORT=${BOUNCER_B_PORT:-56502}
API_PORTS=(8081 8082 8083)
NGINX_PORT=8088
BUILD=${BUILD:-debug}

command=${1:-}
dir=${2:-.claimflow/cluster}

say() { printf '%s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install_packages() {
    deploy/local-postgres.sh install
    local missing=()
    command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
    command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
    command -v curl >/dev/null 2>&1 || missing+=(curl)
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "${missing[*]} missing; run 'sudo apt-get install -y ${missing[*]}'"
    say "installing ${missing[*]} from Debian (their system services stay stopped)"
    local policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        policy=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
    [ "$policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
    return 0
}

# Waits up to $1 seconds for the command after it to succeed.
wait_for() {
    local seconds=$1
    shift
    for _ in $(seq 1 $((seconds * 4))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.25
    done
    return 1
}

sql() { # PORT SQL: one statement as the owner, directly against a node
    PGPASSWORD=$password PGCONNECT_TIMEOUT=5 "$bindir/psql" -h 127.0.0.1 -p "$1" -U claimflow -d claimflow -qAtX -c "$2"
}

start_bouncer() { # NAME NODE_PORT LISTEN_PORT
    local name=$1 node=$2 listen=$3 folder="$dir/$1"
    mkdir -p "$folder"
    # The repository's file, pointed at this node and this folder.
    sed -e "s/^claimflow = host=127.0.0.1 port=5432 /claimflow = host=127.0.0.1 port=$node /" \
        -e "s|^listen_addr = .*|listen_addr = 127.0.0.1|" -e "s|^listen_port = .*|listen_port = $listen|" \
        -e "s|^auth_file = .*|auth_file = $folder/userlist.txt|" \
        deploy/pgbouncer/pgbouncer.ini >"$folder/pgbouncer.ini"
    printf 'logfile = %s\npidfile = %s\n' "$folder/pgbouncer.log" "$folder/pgbouncer.pid" >>"$folder/pgbouncer.ini"
    grep -q "port=$node " "$folder/pgbouncer.ini" || die "deploy/pgbouncer/pgbouncer.ini no longer has the claimflow line this script edits"
    printf '"claimflow" "%s"\n' "$password" >"$folder/userlist.txt"
    chmod 600 "$folder/userlist.txt"
    [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$folder"
    as_postgres "$pgbouncer" -d "$folder/pgbouncer.ini" >/dev/null
    wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$listen" || die "PgBouncer $name did not start: $(tail -5 "$folder/pgbouncer.log")"
}

start_claimflow() { # NAME ARGS...: a ClaimFlow process in the background, its log and pid in DIR
    local name=$1
    shift
    (
        export DATABASE_URL=$pooled_url CLAIMFLOW_LISTEN_URL=$listen_url CLAIMFLOW_PREPARED_STATEMENTS=off
        export CLAIMFLOW_TRUSTED_PROXIES=127.0.0.1 CLAIMFLOW_OUTBOX=$dir/outbox CLAIMFLOW_LOG_FORMAT=json
        exec "$binary" "$@" >"$dir/logs/$name.log" 2>&1
    ) &
    echo $! >"$dir/pids/$name"
}

start() {
    [ -e "$dir/cluster.env" ] && die "$dir already holds a cluster; stop it first (deploy/local-cluster.sh stop $dir)"
    install_packages
    bindir=$(deploy/local-postgres.sh bindir)
    pgbouncer=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
    nginx=$(command -v nginx || echo /usr/sbin/nginx)
    if [ -n "${CLAIMFLOW_BINARY:-}" ]; then
        binary=$CLAIMFLOW_BINARY
    else
        say "building claimflow ($BUILD)"
        swift build -c "$BUILD" --product claimflow >/dev/null
        binary="$root/.build/$BUILD/claimflow"
    fi

    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    chmod 755 "$dir"
    mkdir -p "$dir/logs" "$dir/pids" "$dir/outbox" "$dir/nginx"

    # The primary: a cluster of local-postgres.sh's, made ready to replicate.
    say "primary on 127.0.0.1:$PRIMARY_PORT"
    deploy/local-postgres.sh start "$dir/primary" "$PRIMARY_PORT" >/dev/null
    password=$(cat "$dir/primary/password")
    cat >>"$dir/primary/data/postgresql.conf" <<EOF
wal_level = replica
max_wal_senders = 5
hot_standby = on
synchronous_commit = on
EOF
    echo "host replication claimflow 127.0.0.1/32 scram-sha-256" >>"$dir/primary/data/pg_hba.conf"
    deploy/local-postgres.sh stop "$dir/primary"
    deploy/local-postgres.sh start "$dir/primary" "$PRIMARY_PORT" >/dev/null

    # The standby: a base backup of the primary that follows it.
    say "standby on 127.0.0.1:$STANDBY_PORT"
    mkdir -p "$dir/standby/run"
    [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$dir/standby"
    as_postgres env PGPASSWORD="$password" "$bindir/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U claimflow \
        -D "$dir/standby/data" -X stream -R -d "application_name=standby" >/dev/null
    cp "$dir/primary/password" "$dir/standby/password"
    cat >>"$dir/standby/data/postgresql.conf" <<EOF
port = $STANDBY_PORT
unix_socket_directories = '$dir/standby/run'
EOF
    as_postgres "$bindir/pg_ctl" -D "$dir/standby/data" -l "$dir/standby/data/server.log" -w -t 60 start >/dev/null \
        || die "the standby did not start: $(tail -5 "$dir/standby/data/server.log")"
    wait_for 30 bash -c "[ \"\$(PGPASSWORD=$password $bindir/psql -h 127.0.0.1 -p $PRIMARY_PORT -U claimflow -d claimflow -qAtX \
        -c \"SELECT count(*) FROM pg_stat_replication WHERE application_name = 'standby' AND state = 'streaming'\")\" = 1 ]" \
        || die "the standby does not stream from the primary"
    # Synchronous from now on: a commit returns once the standby has it, so a promotion loses
    # no acknowledged write.
    sql "$PRIMARY_PORT" "ALTER SYSTEM SET synchronous_standby_names = 'standby'" >/dev/null
    sql "$PRIMARY_PORT" "SELECT pg_reload_conf()" >/dev/null

    local direct="postgres://claimflow:$password@127.0.0.1:$PRIMARY_PORT/claimflow?sslmode=disable"
    say "migrating"
    DATABASE_URL=$direct "$binary" migrate --log-level warning >/dev/null

    say "PgBouncer a on 127.0.0.1:$BOUNCER_A_PORT, b on 127.0.0.1:$BOUNCER_B_PORT"
    start_bouncer bouncer-a "$PRIMARY_PORT" "$BOUNCER_A_PORT"
    start_bouncer bouncer-b "$STANDBY_PORT" "$BOUNCER_B_PORT"

    pooled_url="postgres://claimflow:$password@127.0.0.1:$BOUNCER_A_PORT,127.0.0.1:$BOUNCER_B_PORT/claimflow?sslmode=disable&target_session_attrs=read-write"
    listen_url="postgres://claimflow:$password@127.0.0.1:$PRIMARY_PORT,127.0.0.1:$STANDBY_PORT/claimflow?sslmode=disable&target_session_attrs=read-write"
    say "claimflow serve on ${API_PORTS[*]}, claimflow work ×2"
    local i=0
    for port in "${API_PORTS[@]}"; do
        i=$((i + 1))
        start_claimflow "serve-$i" serve --no-workers --no-migrate --host 127.0.0.1 --port "$port"
    done
    start_claimflow work-1 work --no-migrate
    start_claimflow work-2 work --no-migrate
    for port in "${API_PORTS[@]}"; do
        wait_for 60 curl -sf "http://127.0.0.1:$port/readyz" \
            || die "the replica on $port is not ready: $(tail -n 5 "$dir"/logs/serve-*.log)"
    done

    say "nginx on 127.0.0.1:$NGINX_PORT"
    "$nginx" -p "$dir/nginx" -c "$root/deploy/nginx/local.conf" -e "$dir/nginx/error.log"
    wait_for 10 curl -sf "http://127.0.0.1:$NGINX_PORT/readyz" || die "nginx does not answer: $(tail -5 "$dir/nginx/error.log")"

    umask 077
    cat >"$dir/cluster.env" <<EOF
CLUSTER_DIR=$dir
CLUSTER_URL=http://127.0.0.1:$NGINX_PORT
OWNER_PRIMARY_URL=$direct
OWNER_STANDBY_URL=postgres://claimflow:$password@127.0.0.1:$STANDBY_PORT/claimflow?sslmode=disable
POOLED_URL=$pooled_url
LISTEN_URL=$listen_url
PRIMARY_PORT=$PRIMARY_PORT
STANDBY_PORT=$STANDBY_PORT
BOUNCER_A_PORT=$BOUNCER_A_PORT
BOUNCER_B_PORT=$BOUNCER_B_PORT
API_PORTS="${API_PORTS[*]}"
POSTGRES_BIN=$bindir
CLAIMFLOW=$binary
EOF
    say "cluster up: http://127.0.0.1:$NGINX_PORT (settings in $dir/cluster.env)"
}

stop() {
    [ -d "$dir" ] || return 0
    dir=$(cd "$dir" && pwd)
    local nginx
    nginx=$(command -v nginx || echo /usr/sbin/nginx)
    [ -f "$dir/nginx/nginx.pid" ] && "$nginx" -p "$dir/nginx" -c "$root/deploy/nginx/local.conf" -s stop 2>/dev/null || true
    for pidfile in "$dir"/pids/*; do
        [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
    done
    # PgBouncer 1.18 waits for its clients on SIGTERM; SIGINT stops it once queries are done.
    local bouncers=()
    for bouncer in bouncer-a bouncer-b; do
        [ -f "$dir/$bouncer/pgbouncer.pid" ] && bouncers+=("$(cat "$dir/$bouncer/pgbouncer.pid")")
    done
    [ ${#bouncers[@]} -gt 0 ] && kill -INT "${bouncers[@]}" 2>/dev/null || true
    local bindir
    bindir=$(deploy/local-postgres.sh bindir 2>/dev/null) || bindir=""
    if [ -n "$bindir" ]; then
        for node in primary standby; do
            [ -f "$dir/$node/data/PG_VERSION" ] && as_postgres "$bindir/pg_ctl" -D "$dir/$node/data" -m immediate -w stop \
                >/dev/null 2>&1 || true
        done
    fi
    # The ClaimFlow processes drain within 10 s of SIGTERM; whatever is left after that is killed.
    local pids=("${bouncers[@]}")
    for pidfile in "$dir"/pids/*; do [ -f "$pidfile" ] && pids+=("$(cat "$pidfile")"); done
    for pid in "${pids[@]}"; do
        for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -9 "$pid" 2>/dev/null || true
    done
    rm -rf "$dir"
}

status() {
    [ -f "$dir/cluster.env" ] || { say "no cluster in $dir"; exit 1; }
    # shellcheck disable=SC1091
    . "$dir/cluster.env"
    for node in "primary:$PRIMARY_PORT" "standby:$STANDBY_PORT"; do
        local answer
        answer=$(PGCONNECT_TIMEOUT=3 "$POSTGRES_BIN/psql" "${OWNER_PRIMARY_URL%%@*}@127.0.0.1:${node#*:}/claimflow?sslmode=disable" \
            -qAtX -c "SELECT CASE WHEN pg_is_in_recovery() THEN 'standby' ELSE 'primary' END" 2>/dev/null || echo down)
        say "node ${node%%:*} (127.0.0.1:${node#*:}): $answer"
    done
    for pidfile in "$CLUSTER_DIR"/pids/*; do
        local name
        name=$(basename "$pidfile")
        if kill -0 "$(cat "$pidfile")" 2>/dev/null; then say "$name: running"; else say "$name: stopped"; fi
    done
    curl -sf "$CLUSTER_URL/readyz" >/dev/null && say "nginx: ready" || say "nginx: not ready"
}

case "$command" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    install) install_packages ;;
    *) say "usage: $0 start|stop|status [DIR] | install"; exit 2 ;;
esac
