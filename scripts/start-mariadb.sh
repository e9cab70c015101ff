#!/usr/bin/env bash
# Start a throwaway MariaDB/MySQL server on loopback for the SQL store tests.
#
#   source scripts/start-mariadb.sh   # exports MLRIG_TEST_MYSQL_URL; stopped when the shell exits
#   scripts/start-mariadb.sh          # prints the export line
#
# Like start-postgres.sh:
# * If MLRIG_TEST_MYSQL_URL is already set, nothing is started (use that server).
# * Installs MariaDB with apt-get when no server is found (CI runs as root on a clean machine).
#   A user who is not root and has none gets the MySQL tests skipped (in CI they fail).
# * A fresh data dir per run on a free port (3307 or the next free one), 127.0.0.1 only;
#   servers left behind by killed runs are stopped. User `mlrig` (password `mlrig`) may
#   create databases named mlrig_*; database `mlrig_test`.

_mlrig_my_sourced=0
if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
    _mlrig_my_sourced=1
fi

_mlrig_my_log() { echo "start-mariadb: $*" >&2; }

_mlrig_my_as_owner() {
    if [[ "$(id -u)" == "0" ]]; then
        runuser -u mysql -- "$@"
    else
        "$@"
    fi
}

_mlrig_my_port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

_mlrig_my_reap_stale() {
    local dir owner pid
    for dir in "$1"/mlrig-mariadb.*; do
        [[ -d "$dir" ]] || continue
        owner="$(cat "$dir/owner.pid" 2>/dev/null || true)"
        if [[ -n "$owner" ]] && kill -0 "$owner" 2>/dev/null; then
            continue
        fi
        _mlrig_my_log "stopping a server left behind by an earlier run: $dir"
        pid="$(cat "$dir/server.pid" 2>/dev/null || true)"
        if [[ -n "$pid" ]]; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        fi
        rm -rf "$dir"
    done
}

_mlrig_my_stop() {
    local pid
    if [[ -n "${_MLRIG_MY_DIR:-}" && -d "${_MLRIG_MY_DIR}" ]]; then
        pid="$(cat "${_MLRIG_MY_DIR}/server.pid" 2>/dev/null || true)"
        if [[ -n "$pid" ]]; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        fi
        rm -rf "${_MLRIG_MY_DIR}"
        _mlrig_my_log "stopped the MariaDB test server"
    fi
    _MLRIG_MY_DIR=""
}

_mlrig_my_find() {
    PATH="$PATH:/usr/sbin:/usr/bin"
    server="$(command -v mariadbd || command -v mysqld || echo /usr/sbin/mariadbd)"
    install="$(command -v mariadb-install-db || command -v mysql_install_db || true)"
    client="$(command -v mariadb || command -v mysql || true)"
    [[ -x "$server" && -n "$install" && -n "$client" ]]
}

_mlrig_my_install() {
    if [[ "$(id -u)" != "0" ]]; then
        _mlrig_my_log "MariaDB is not installed and this user cannot install it" \
            "(run as root, or install the 'mariadb-server' package): the MySQL tests will" \
            "be skipped"
        return 2
    fi
    _mlrig_my_log "installing MariaDB with apt-get..."
    export DEBIAN_FRONTEND=noninteractive
    # the package's own service is not wanted (this script runs its own server): keep
    # apt from starting it
    local policy=/usr/sbin/policy-rc.d created_policy=0
    if [[ ! -e "$policy" ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created_policy=1
    fi
    local status=0
    apt-get update -qq >&2 || status=$?
    if [[ "$status" == "0" ]]; then
        apt-get install -y -qq --no-install-recommends mariadb-server mariadb-client >&2 \
            || status=$?
    fi
    if [[ "$created_policy" == "1" ]]; then rm -f "$policy"; fi
    return "$status"
}

_mlrig_my_start() {
    local server install client base dir port owner
    if ! _mlrig_my_find; then
        _mlrig_my_install || return $?
        _mlrig_my_find || { _mlrig_my_log "no MariaDB server after installing"; return 1; }
    fi
    if [[ "$(id -u)" == "0" ]] && ! id mysql >/dev/null 2>&1; then
        useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin mysql
    fi
    base="${TMPDIR:-/tmp}"
    _mlrig_my_reap_stale "$base"
    dir="$(mktemp -d "$base/mlrig-mariadb.XXXXXX")"
    if [[ "$_mlrig_my_sourced" == "1" ]]; then owner="$$"; else owner="$PPID"; fi
    echo "$owner" >"$dir/owner.pid"
    chmod 755 "$dir"
    mkdir "$dir/data"
    if [[ "$(id -u)" == "0" ]]; then chown mysql: "$dir/data"; fi
    _mlrig_my_as_owner "$install" --datadir="$dir/data" --auth-root-authentication-method=normal \
        --skip-test-db >"$dir/install.log" 2>&1 \
        || { cat "$dir/install.log" >&2; rm -rf "$dir"; return 1; }
    port="${MLRIG_MYSQL_PORT:-3307}"
    while _mlrig_my_port_in_use "$port"; do port=$((port + 1)); done
    if [[ "$(id -u)" == "0" ]]; then chown mysql: "$dir"; fi
    _mlrig_my_as_owner "$server" --no-defaults --datadir="$dir/data" --port="$port" \
        --bind-address=127.0.0.1 --socket="$dir/mysql.sock" --pid-file="$dir/server.pid" \
        --skip-log-bin --innodb-flush-log-at-trx-commit=0 --log-error="$dir/server.log" \
        >/dev/null 2>&1 &
    for _ in $(seq 600); do
        [[ -S "$dir/mysql.sock" ]] && _mlrig_my_port_in_use "$port" && break
        sleep 0.1
    done
    _MLRIG_MY_DIR="$dir"
    "$client" --no-defaults -uroot --socket="$dir/mysql.sock" -e "
        CREATE USER 'mlrig'@'127.0.0.1' IDENTIFIED BY 'mlrig';
        GRANT ALL PRIVILEGES ON \`mlrig\\_%\`.* TO 'mlrig'@'127.0.0.1';
        CREATE DATABASE mlrig_test CHARACTER SET utf8mb4;" >&2 \
        || { cat "$dir/server.log" >&2; _mlrig_my_stop; return 1; }
    export MLRIG_TEST_MYSQL_URL="mysql+pymysql://mlrig:mlrig@127.0.0.1:$port/mlrig_test"
    _mlrig_my_log "$("$server" --version | awk '{print $2, $3}') on 127.0.0.1:$port" \
        "(data in $dir)"
}

if [[ -n "${MLRIG_TEST_MYSQL_URL:-}" ]]; then
    _mlrig_my_log "MLRIG_TEST_MYSQL_URL is set; using that server"
elif [[ "$_mlrig_my_sourced" == "1" ]]; then
    _mlrig_my_status=0
    _mlrig_my_start || _mlrig_my_status=$?
    if [[ "$_mlrig_my_status" != "0" && -n "${CI:-}" ]]; then
        _mlrig_my_log "CI must run the MySQL tests: no MariaDB server could be started"
        return 1
    fi
    if [[ "$_mlrig_my_status" == "0" ]]; then
        # one EXIT trap per shell: stop the PostgreSQL of start-postgres.sh here as well
        _mlrig_my_cleanup() {
            if declare -F _mlrig_pg_stop >/dev/null; then _mlrig_pg_stop; fi
            _mlrig_my_stop
        }
        trap '_mlrig_my_cleanup' EXIT
        trap '_mlrig_my_cleanup; trap - EXIT; exit 130' INT
        trap '_mlrig_my_cleanup; trap - EXIT; exit 143' TERM
    fi
else
    set -euo pipefail
    _mlrig_my_start
    echo "export MLRIG_TEST_MYSQL_URL='$MLRIG_TEST_MYSQL_URL'"
fi
true
