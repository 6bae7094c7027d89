#!/usr/bin/env bash
# A throwaway PostgreSQL server on 127.0.0.1 for the tests (and for trying crackdown on PG).
#
#   eval "$(bash .ci/postgres.sh start /tmp/crackdown-pg)"   # prints the export line
#   pytest tests/storage tests/e2e                           # now also runs on PostgreSQL
#   bash .ci/postgres.sh stop /tmp/crackdown-pg              # stops it and deletes the folder
#
#   bash .ci/postgres.sh run -- pytest tests/storage         # start, run one command, stop
#
# `start` uses Debian's postgresql package (/usr/lib/postgresql/*/bin, the newest version),
# else initdb and pg_ctl from PATH; if neither is there and we are root, it installs the
# package with apt-get. The cluster lives in DIR (data, socket, log), listens on a free
# loopback port only, trusts local connections (it holds nothing but test data) and is
# owned by an unprivileged user, because PostgreSQL refuses to run as root. It prints
#   export CRACKDOWN_TEST_PG_URL=postgresql+psycopg://crackdown@127.0.0.1:PORT/crackdown
# Any failure exits non-zero with the reason (and the server log) on stderr.
set -euo pipefail

die() {
    echo "postgres.sh: $*" >&2
    exit 1
}

find_bin() {
    local dir
    # Debian keeps the server binaries off PATH, one folder per major version; take the newest.
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
        echo "$dir"
    elif command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(readlink -f "$(command -v initdb)")"
    fi
}

install_postgres() {
    [[ $(id -u) -eq 0 ]] || die "PostgreSQL (initdb, pg_ctl) is not installed; install Debian's postgresql package"
    command -v apt-get >/dev/null || die "PostgreSQL is not installed and there is no apt-get to install it"
    echo "postgres.sh: installing Debian's postgresql package" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || die "apt-get update failed"
    # The package's own cluster is not needed; ours is made below.
    apt-get install -y -qq --no-install-recommends postgresql >&2 || die "apt-get install postgresql failed"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Run a command as the cluster's owner: ourselves, or (as root) the postgres user.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u "$OWNER" -- "$@"
    else
        "$@"
    fi
}

owner() {
    if [[ $(id -u) -ne 0 ]]; then
        id -un
    elif id postgres >/dev/null 2>&1; then
        echo postgres
    else
        id crackdown-pg >/dev/null 2>&1 || useradd --system --no-create-home crackdown-pg
        echo crackdown-pg
    fi
}

start() {
    local dir=$1 bin port
    bin=$(find_bin)
    if [[ -z "$bin" ]]; then
        install_postgres
        bin=$(find_bin)
        [[ -n "$bin" ]] || die "postgresql installed but initdb/pg_ctl not found"
    fi
    OWNER=$(owner)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [[ ! -e "$dir/data" ]] || die "$dir/data exists: stop the old server first (postgres.sh stop $dir)"
    mkdir -p "$dir/data" "$dir/socket"
    [[ $(id -u) -ne 0 ]] || chown -R "$OWNER" "$dir"
    # The owner must be able to reach DIR: a temp dir below a private home would not do.
    as_owner test -w "$dir/data" || die "user $OWNER cannot write to $dir/data"
    as_owner "$bin/initdb" -D "$dir/data" -U crackdown --auth=trust --encoding=UTF8 \
        --no-locale --no-sync >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    port=$(free_port)
    # Loopback TCP and a socket in DIR only; fsync off: a test server loses nothing that matters.
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start -o \
        "-c listen_addresses=127.0.0.1 -p $port -k $dir/socket -c fsync=off \
         -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
        >/dev/null 2>&1 ||
        { cat "$dir/server.log" >&2; die "pg_ctl start failed"; }
    echo "$bin" >"$dir/bin"
    "$bin/createdb" -h 127.0.0.1 -p "$port" -U crackdown crackdown >&2 ||
        { cat "$dir/server.log" >&2; die "createdb failed"; }
    echo "export CRACKDOWN_TEST_PG_URL=postgresql+psycopg://crackdown@127.0.0.1:$port/crackdown"
}

stop() {
    local dir=$1
    [[ -d "$dir" ]] || return 0
    dir=$(cd "$dir" && pwd)
    if [[ -f "$dir/data/postmaster.pid" && -f "$dir/bin" ]]; then
        OWNER=$(stat -c %U "$dir/data")
        as_owner "$(cat "$dir/bin")/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 ||
            echo "postgres.sh: pg_ctl stop failed (see $dir/server.log)" >&2
    fi
    rm -rf "$dir"
}

case "${1:-}" in
start)
    [[ $# -eq 2 ]] || die "usage: postgres.sh start DIR"
    start "$2"
    ;;
stop)
    [[ $# -eq 2 ]] || die "usage: postgres.sh stop DIR"
    stop "$2"
    ;;
run)
    shift
    [[ "${1:-}" == "--" ]] && shift
    [[ $# -gt 0 ]] || die "usage: postgres.sh run -- COMMAND [ARG...]"
    RUN_DIR=$(mktemp -d /tmp/crackdown-pg.XXXXXX)
    chmod 755 "$RUN_DIR"
    trap 'stop "$RUN_DIR"' EXIT
    PG_ENV=$(start "$RUN_DIR") # an assignment, so that a failed start stops us here
    eval "$PG_ENV"
    "$@"
    ;;
*)
    die "usage: postgres.sh start DIR | stop DIR | run -- COMMAND [ARG...]"
    ;;
esac
