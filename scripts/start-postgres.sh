#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on loopback for the SQL store tests.
#
#   source scripts/start-postgres.sh   # as scripts/test.sh does: exports MLRIG_TEST_POSTGRES_URL
#                                      # and stops the server when the sourcing shell exits
#   scripts/start-postgres.sh          # prints the export line and the command that stops it
#
# * If MLRIG_TEST_POSTGRES_URL is already set, nothing is started (use that server).
# * Installs PostgreSQL with apt-get when no server binaries are found (CI runs as root on a
#   clean machine).
# * Every run gets its own cluster in a fresh temp dir on a free port (5433 or the next free
#   one), listening on 127.0.0.1 only, so parallel runs do not disturb each other. Clusters
#   left behind by runs that were killed (their owning shell is gone) are stopped and removed.
# * Role `mlrig` (password `mlrig`, CREATEDB) and database `mlrig_test`; TCP connections need
#   the password (scram-sha-256), so wrong-password tests are real. The role is a member of
#   pg_signal_backend so that the tests' `DROP DATABASE ... WITH (FORCE)` may end an
#   autovacuum worker that happens to be in the database being dropped.

_mlrig_pg_sourced=0
if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
    _mlrig_pg_sourced=1
fi

_mlrig_pg_log() { echo "start-postgres: $*" >&2; }

_mlrig_pg_bindir() {
    local dir
    if [[ -n "${MLRIG_PG_BINDIR:-}" && -x "${MLRIG_PG_BINDIR}/initdb" ]]; then
        echo "$MLRIG_PG_BINDIR"
        return 0
    fi
    # the highest installed version first
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -V -r); do
        if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
            echo "$dir"
            return 0
        fi
    done
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return 0
    fi
    return 1
}

_mlrig_pg_install() {
    if [[ "$(id -u)" != "0" ]]; then
        _mlrig_pg_log "PostgreSQL is not installed and this user cannot install it" \
            "(run as root, or install the 'postgresql' package)."
        return 1
    fi
    _mlrig_pg_log "installing PostgreSQL with apt-get..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends postgresql >&2
}

# Run a command as the OS user that owns the cluster (postgres when we are root).
_mlrig_pg_as_owner() {
    if [[ "$(id -u)" == "0" ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

_mlrig_pg_port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

_mlrig_pg_reap_stale() {
    local base="$1" dir owner
    for dir in "$base"/mlrig-pg.*; do
        [[ -d "$dir" ]] || continue
        owner="$(cat "$dir/owner.pid" 2>/dev/null || true)"
        if [[ -n "$owner" ]] && kill -0 "$owner" 2>/dev/null; then
            continue  # its shell still runs: someone is using it
        fi
        _mlrig_pg_log "stopping a cluster left behind by an earlier run: $dir"
        if [[ -f "$dir/data/postmaster.pid" ]]; then
            _mlrig_pg_as_owner "$2/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 \
                || true
        fi
        rm -rf "$dir"
    done
}

_mlrig_pg_stop() {
    if [[ -n "${_MLRIG_PG_DIR:-}" && -d "${_MLRIG_PG_DIR}" ]]; then
        _mlrig_pg_as_owner "${_MLRIG_PG_BIN}/pg_ctl" -D "${_MLRIG_PG_DIR}/data" -m fast -w stop \
            >/dev/null 2>&1 || true
        rm -rf "${_MLRIG_PG_DIR}"
        _mlrig_pg_log "stopped the PostgreSQL test server"
    fi
    _MLRIG_PG_DIR=""
}

_mlrig_pg_start() {
    local bindir base dir port owner
    if ! bindir="$(_mlrig_pg_bindir)"; then
        _mlrig_pg_install || return 1
        bindir="$(_mlrig_pg_bindir)" || { _mlrig_pg_log "no initdb after installing"; return 1; }
    fi
    if [[ "$(id -u)" == "0" ]] && ! id postgres >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    fi
    base="${TMPDIR:-/tmp}"
    _mlrig_pg_reap_stale "$base" "$bindir"

    dir="$(mktemp -d "$base/mlrig-pg.XXXXXX")"
    if [[ "$_mlrig_pg_sourced" == "1" ]]; then owner="$$"; else owner="$PPID"; fi
    echo "$owner" >"$dir/owner.pid"
    echo "mlrig-superuser-$RANDOM$RANDOM" >"$dir/pwfile"
    chmod 700 "$dir"
    if [[ "$(id -u)" == "0" ]]; then
        chown -R postgres: "$dir"
    fi
    _mlrig_pg_as_owner "$bindir/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
        >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; rm -rf "$dir"; return 1; }

    port="${MLRIG_PG_PORT:-5433}"
    while _mlrig_pg_port_in_use "$port"; do
        port=$((port + 1))
    done
    # fsync off: a throwaway test cluster, speed matters more than durability
    _mlrig_pg_as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off \
-c full_page_writes=off -c max_connections=200" start >/dev/null \
        || { cat "$dir/server.log" >&2; rm -rf "$dir"; return 1; }

    _MLRIG_PG_DIR="$dir"
    _MLRIG_PG_BIN="$bindir"
    local psql=("$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres)
    _mlrig_pg_as_owner "${psql[@]}" -d postgres \
        -c "CREATE ROLE mlrig LOGIN PASSWORD 'mlrig' CREATEDB" \
        -c "GRANT pg_signal_backend TO mlrig" \
        -c "CREATE DATABASE mlrig_test OWNER mlrig" >&2 \
        || { _mlrig_pg_stop; return 1; }

    export MLRIG_TEST_POSTGRES_URL="postgresql+psycopg://mlrig:mlrig@127.0.0.1:$port/mlrig_test"
    _mlrig_pg_log "PostgreSQL $("$bindir/pg_ctl" --version | awk '{print $3}') on" \
        "127.0.0.1:$port (data in $dir)"
}

if [[ -n "${MLRIG_TEST_POSTGRES_URL:-}" ]]; then
    _mlrig_pg_log "MLRIG_TEST_POSTGRES_URL is set; using that server"
elif [[ "$_mlrig_pg_sourced" == "1" ]]; then
    if ! _mlrig_pg_start; then
        if [[ -n "${CI:-}" ]]; then
            return 1
        fi
        _mlrig_pg_log "continuing without PostgreSQL: its tests will be skipped (in CI they fail)"
    fi
    trap '_mlrig_pg_stop' EXIT
    trap '_mlrig_pg_stop; trap - EXIT; exit 130' INT
    trap '_mlrig_pg_stop; trap - EXIT; exit 143' TERM
else
    set -euo pipefail
    _mlrig_pg_start
    echo "export MLRIG_TEST_POSTGRES_URL='$MLRIG_TEST_POSTGRES_URL'"
    echo "# stop it with: ${_MLRIG_PG_BIN}/pg_ctl -D ${_MLRIG_PG_DIR}/data stop" \
        "(as the postgres user when root); it is also stopped by the next run once this" \
        "shell has exited"
fi
