#!/usr/bin/env bash
# Side-by-side benchmark of switchboard binaries: runs each in turn (A, B, A, B, … for --rounds
# rounds), every run on a fresh database, and prints each run's figures and a summary.
#
#   wrk (default): the binary serves as a web tier (worker.concurrency = 0) with a bootstrap key;
#     a bot is created and bound to Telegram through the admin API, then
#     `wrk -t2 -c32 -d10s -s wrk/telegram.lua` posts distinct updates: requests/s and latency
#     percentiles of the acknowledgements, measured by a client that is not ours.
#   loadgen: the Rust load generator (tests/loadgen) against each binary, with the arguments
#     given after `--` (for instance `--mode intake --updates 20000`).
#
# Usage: tests/loadgen/bench.sh [options] BINARY... [-- LOADGEN_ARGS...]
#   --tool wrk|loadgen          (wrk)
#   --rounds N                  how many times each binary runs (3)
#   --database sqlite|postgres|both   (both)
#   --duration D --threads T --connections C   wrk's -d, -t, -c (10s, 2, 32)
#   --chats N                   chats the wrk updates come from (1000)
#   --out DIR                   where raw outputs go (default: $TMPDIR/switchboard-bench/<time>)
# Environment: SWITCHBOARD_TEST_DATABASE_URL (PostgreSQL server, default
#   postgres://postgres@127.0.0.1:5432/test; fresh databases are created on it and dropped),
#   LOADGEN (the loadgen binary; default ${CARGO_TARGET_DIR:-target}/release/loadgen),
#   BENCH_WAIT_FOR_BUILDS=0 (do not wait for running builds), BENCH_MAX_WAIT=SECONDS (wait at
#   most that long for one, then run anyway: the run is marked as overlapped).
#
# Before each run it waits until no rustc or cargo runs (a build, or tests under cargo test); a
# run during which one ran is marked `build-overlap-B/Ts` (B busy seconds of the run's T).
# Everything listens on 127.0.0.1 and every run is bounded.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"

NAME=bench
WORK="$(mktemp -d)"
KEY="sb_bench_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
SECRET="bench-secret_1"
ADMIN_URL="${SWITCHBOARD_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
LOADGEN="${LOADGEN:-${CARGO_TARGET_DIR:-$REPO/target}/release/loadgen}"
# shellcheck source=.ci/lib.sh
source "$REPO/.ci/lib.sh"

TOOL=wrk ROUNDS=3 DATABASES=both DURATION=10s THREADS=2 CONNECTIONS=32 CHATS=1000 OUT=""
BINARIES=() LOADGEN_ARGS=() PG_DATABASE="" DB_URL=""

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}

parse_args() {
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --tool) TOOL="$2"; shift 2 ;;
            --rounds) ROUNDS="$2"; shift 2 ;;
            --database) DATABASES="$2"; shift 2 ;;
            --duration) DURATION="$2"; shift 2 ;;
            --threads) THREADS="$2"; shift 2 ;;
            --connections) CONNECTIONS="$2"; shift 2 ;;
            --chats) CHATS="$2"; shift 2 ;;
            --out) OUT="$2"; shift 2 ;;
            --) shift; LOADGEN_ARGS=("$@"); break ;;
            -h | --help) usage ;;
            -*) echo "bench: unknown option $1" >&2; usage ;;
            *) BINARIES+=("$(realpath "$1")"); shift ;;
        esac
    done
    [[ ${#BINARIES[@]} -gt 0 ]] || usage
    [[ "$TOOL" == wrk || "$TOOL" == loadgen ]] || fail "--tool is wrk or loadgen"
    case "$DATABASES" in
        both) DATABASES="postgres sqlite" ;;
        postgres | sqlite) ;;
        *) fail "--database is sqlite, postgres or both" ;;
    esac
    OUT="${OUT:-${TMPDIR:-/tmp}/switchboard-bench/$(date -u +%Y%m%dT%H%M%SZ)-$TOOL}"
    mkdir -p "$OUT"
}

cleanup() {
    stop_server
    drop_postgres
    rm -rf "$WORK"
}
trap cleanup EXIT

# Whether a build or a test run (cargo, rustc) is using the machine.
building() {
    pgrep -x rustc >/dev/null || pgrep -x cargo >/dev/null
}

# Whether another benchmark's load (wrk, a loadgen binary: the program, not an argument) runs:
# this script's own are over by the time it asks.
benchmarking() {
    pgrep -x wrk >/dev/null || pgrep -f '^([^ ]*/)?loadgen[^/ ]*( |$)' >/dev/null
}

# Waits until no build, cargo test or other benchmark runs: any of them on the same cores skews
# every figure (BENCH_WAIT_FOR_BUILDS=0 skips the wait, to try the script out).
wait_quiet() {
    [[ "${BENCH_WAIT_FOR_BUILDS:-1}" == 1 ]] || return 0
    local waited=0
    while benchmarking; do
        echo "bench: waiting for another benchmark to finish…" >&2
        sleep 10
    done
    while building; do
        if [[ -n "${BENCH_MAX_WAIT:-}" && "$waited" -ge "$BENCH_MAX_WAIT" ]]; then
            echo "bench: still busy after ${waited}s; running anyway" >&2
            return 0
        fi
        echo "bench: waiting for a build or test run to finish…" >&2
        sleep 10
        waited=$((waited + 10))
    done
}

# Counts, in FILE, the seconds with and without a build or test run until it is killed
# ("BUSY TOTAL").
watch_builds() {
    local file="$1" busy=0 total=0
    echo "0 0" >"$file"
    while sleep 1; do
        total=$((total + 1))
        if building; then busy=$((busy + 1)); fi
        echo "$busy $total" >"$file"
    done
}

# fresh_database KIND RUN: a new, empty database of that kind; its URL in DB_URL (and its name in
# PG_DATABASE on PostgreSQL, for drop_postgres).
fresh_database() {
    local kind="$1" run="$2"
    if [[ "$kind" == sqlite ]]; then
        mkdir -p "$WORK/$run"
        DB_URL="sqlite://$WORK/$run/switchboard.db?mode=rwc"
    else
        PG_DATABASE="sb_bench_$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
        psql -q "$ADMIN_URL" -c "CREATE DATABASE $PG_DATABASE" >/dev/null
        DB_URL="${ADMIN_URL%/*}/$PG_DATABASE"
    fi
}

drop_postgres() {
    [[ -n "$PG_DATABASE" ]] || return 0
    psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $PG_DATABASE WITH (FORCE)" >/dev/null || true
    PG_DATABASE=""
}

# How many messages the run's database holds: every acknowledged update must be one of them.
stored_messages() {
    local kind="$1" count="SELECT count(*) FROM messages" file
    if [[ "$kind" == sqlite ]]; then
        file="${DB_URL#sqlite://}"
        sqlite3 "${file%%\?*}" "$count" 2>/dev/null || echo "?"
    else
        psql -Atq "$DB_URL" -c "$count" 2>/dev/null || echo "?"
    fi
}

# Creates a bot and binds it to Telegram with $SECRET; prints the bot's id.
bound_bot() {
    local bot
    bot="$(create_bot "$KEY" bench)"
    curl -fsS -o /dev/null -X PUT "http://127.0.0.1:$PORT/api/v1/bots/$bot/platforms/telegram" \
        -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
        -d "{\"token\":\"123456:BENCH-token-DEF1234ghIkl-zyx57W2v1u\",\"secret_token\":\"$SECRET\"}"
    echo "$bot"
}

# wrk_run BINARY KIND RUN: one intake run; its raw output goes to $OUT/RUN.txt.
wrk_run() {
    local binary="$1" kind="$2" run="$3" bot
    fresh_database "$kind" "$run"
    start_server "$binary" "$DB_URL" "$KEY" SWITCHBOARD__WORKER__CONCURRENCY=0 \
        SWITCHBOARD__LOG__LEVEL=warn SWITCHBOARD__SERVER__SHUTDOWN_GRACE_SECONDS=2
    bot="$(bound_bot)"
    sleep 1
    BOT_ID="$bot" SECRET="$SECRET" CHATS="$CHATS" wrk -t"$THREADS" -c"$CONNECTIONS" \
        -d"$DURATION" --latency -s "$HERE/wrk/telegram.lua" "http://127.0.0.1:$PORT" \
        >"$OUT/$run.txt" 2>&1 || echo "RESULT failed" >>"$OUT/$run.txt"
    stop_server
    echo "STORED messages=$(stored_messages "$kind")" >>"$OUT/$run.txt"
    cp "$WORK/server.log" "$OUT/$run.server.log"
    drop_postgres
}

# loadgen_run BINARY KIND RUN: one loadgen run; its table goes to $OUT/RUN.md, its log to .log.
loadgen_run() {
    local binary="$1" kind="$2" run="$3"
    [[ -x "$LOADGEN" ]] || fail "no loadgen at $LOADGEN (set LOADGEN)"
    SWITCHBOARD_TEST_DATABASE_URL="$ADMIN_URL" "$LOADGEN" --server "$binary" --database "$kind" \
        "${LOADGEN_ARGS[@]}" >"$OUT/$run.md" 2>"$OUT/$run.log" \
        || echo "| loadgen failed (exit $?) | see $run.log |" >>"$OUT/$run.md"
}

# One run of BINARY on KIND, with the build watcher around it; appends a summary line.
run_one() {
    local binary="$1" kind="$2" round="$3" label run watcher overlap busy total
    label="$(basename "$binary")"
    run="$kind-r$round-$label"
    wait_quiet
    echo "bench: round $round, $kind, $label" >&2
    watch_builds "$WORK/overlap" &
    watcher=$!
    "${TOOL}_run" "$binary" "$kind" "$run"
    kill "$watcher" 2>/dev/null || true
    wait "$watcher" 2>/dev/null || true
    read -r busy total <"$WORK/overlap"
    if [[ "$busy" -gt 0 ]]; then overlap="build-overlap-${busy}/${total}s"; else overlap=quiet; fi
    show_run "$run" "$label" "$kind" "$round" "$overlap"
}

show_run() {
    local run="$1" label="$2" kind="$3" round="$4" overlap="$5" result
    if [[ "$TOOL" == wrk ]]; then
        result="$(grep '^RESULT' "$OUT/$run.txt" | tail -n 1)"
        result="${result#RESULT } stored=$(grep '^STORED' "$OUT/$run.txt" | cut -d= -f2)"
        printf '%s\t%s\t%s\t%s\t%s\n' "$kind" "$round" "$label" "$overlap" "$result" \
            | tee -a "$OUT/summary.tsv"
    else
        echo "### $kind, round $round, $label ($overlap)"
        cat "$OUT/$run.md"
        printf '%s\t%s\t%s\t%s\n' "$kind" "$round" "$label" "$overlap" >>"$OUT/summary.tsv"
    fi
}

# Medians per database and binary of the wrk runs' requests/s and latencies.
summarize_wrk() {
    python3 - "$OUT/summary.tsv" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    kind, _round, label, overlap, result = line.rstrip("\n").split("\t")
    fields = dict(f.split("=", 1) for f in result.split() if "=" in f)
    runs.setdefault((kind, label), []).append((fields, overlap))
print("\n| database | binary | runs | requests/s (each) | median requests/s | median p50 / p99 / max ms | non-2xx | all acked stored | builds |")
print("|---|---|---|---|---|---|---|---|---|")
for (kind, label), items in runs.items():
    ok = [f for f, _ in items if "rps" in f]
    med = lambda key: statistics.median(float(f[key]) for f in ok) if ok else float("nan")
    each = " ".join(f"{float(f['rps']):.0f}" for f in ok)
    non2xx = sum(int(f.get("non2xx", 0)) + int(f.get("socket_errors", 0)) for f in ok)
    stored = all(f.get("stored", "?").isdigit() and int(f["stored"]) >= int(f["requests"]) for f in ok)
    builds = "overlap" if any(o != "quiet" for _, o in items) else "quiet"
    print(f"| {kind} | {label} | {len(ok)}/{len(items)} | {each} | {med('rps'):.0f} | "
          f"{med('p50_ms'):.2f} / {med('p99_ms'):.2f} / {med('max_ms'):.2f} | {non2xx} | "
          f"{'yes' if stored else 'NO'} | {builds} |")
PY
}

main() {
    parse_args "$@"
    [[ "$TOOL" != wrk ]] || command -v wrk >/dev/null || fail "wrk is not installed (apt-get install -y wrk)"
    echo "bench: $TOOL, ${ROUNDS} rounds of ${BINARIES[*]##*/}; raw outputs in $OUT" >&2
    for kind in $DATABASES; do
        for round in $(seq 1 "$ROUNDS"); do
            for binary in "${BINARIES[@]}"; do
                run_one "$binary" "$kind" "$round"
            done
        done
    done
    if [[ "$TOOL" == wrk ]]; then
        summarize_wrk | tee "$OUT/summary.md"
    fi
}

main "$@"
