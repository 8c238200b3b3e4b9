# Shared by the .ci scripts that drive a live server: sourced, never run. The caller sets NAME
# (its name in messages) and WORK (a scratch folder it removes on exit).

fail() {
    echo "$NAME: $*" >&2
    exit 1
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_server BINARY DATABASE_URL KEY [VAR=value ...]: serves on a free port (PORT) with the echo
# model and KEY as the admin key, logging to $WORK/server.log (SERVER is its pid), until ready.
# Outbound calls go to a closed local port: nothing leaves the machine.
start_server() {
    local binary="$1" database_url="$2" key="$3"
    shift 3
    [[ -x "$binary" ]] || fail "no server binary at $binary (run cargo build -p switchboard first)"
    PORT="$(free_port)"
    env SWITCHBOARD__SERVER__HOST=127.0.0.1 SWITCHBOARD__SERVER__PORT="$PORT" \
        SWITCHBOARD__DATABASE__URL="$database_url" \
        SWITCHBOARD__SECURITY__BOOTSTRAP_API_KEY="$key" \
        SWITCHBOARD__TELEGRAM__API_URL="http://127.0.0.1:9" \
        SWITCHBOARD__DISCORD__API_URL="http://127.0.0.1:9" \
        SWITCHBOARD__META__GRAPH_URL="http://127.0.0.1:9" \
        SWITCHBOARD__AI__PROVIDER=echo "$@" \
        "$binary" serve >"$WORK/server.log" 2>&1 &
    SERVER=$!
    for _ in $(seq 1 100); do
        curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1 && return 0
        kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/server.log" >&2; fail "the server exited"; }
        sleep 0.1
    done
    fail "the server did not become ready"
}

stop_server() {
    [[ -n "${SERVER:-}" ]] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
}

# Creates a bot through the admin API and prints its id.
create_bot() {
    local key="$1" name="$2"
    curl -fsS -X POST "http://127.0.0.1:$PORT/api/v1/bots" -H "Authorization: Bearer $key" \
        -H 'Content-Type: application/json' -d "{\"name\":\"$name\",\"system_prompt\":\"be brief\"}" \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])'
}

# Debian's chromium: installed on CI when missing; elsewhere `false` when it is not there.
have_chromium() {
    command -v chromium >/dev/null && return 0
    [[ "${CI:-}" == "true" ]] || return 1
    apt-get install -y -qq chromium >/dev/null || fail "could not install chromium"
}

show_log_and_exit() {
    echo "$NAME: server log follows" >&2
    tail -n 50 "$WORK/server.log" >&2
    exit "$1"
}
