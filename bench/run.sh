#!/usr/bin/env bash
# Burrow's benchmark: builds the release binary, starts it on a fresh data folder, and drives
# it over loopback HTTP with wrk (16 connections, 10 s per workload, each run three times;
# the median is quoted). Prints requests/s, p50/p99 latency and the server's peak memory.
#
#   bench/run.sh            all workloads
#   bench/run.sh append     only those whose name contains "append"
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTIONS=${CONNECTIONS:-16}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
FILTER=${1:-}

if ! command -v wrk >/dev/null; then
  echo "installing wrk" >&2
  (apt-get install -y wrk || (apt-get update && apt-get install -y wrk)) >/dev/null
fi
cargo build --release --quiet
BIN=target/release/burrow

WORK=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT

# start: runs the server on $WORK/data; sets PID and BASE; prints the start-up time.
start() {
  local t0 t1
  t0=$(date +%s%N)
  "$BIN" serve --data-dir "$WORK/data" --addr 127.0.0.1:0 --log warn --log-max-bytes 100000000000 \
    > "$WORK/server.out" &
  PID=$!
  until grep -q "listening on" "$WORK/server.out" 2>/dev/null; do sleep 0.005; done
  BASE=$(sed -n 's/^burrow listening on //p' "$WORK/server.out")
  until curl -sf "$BASE/_health" >/dev/null; do sleep 0.005; done
  t1=$(date +%s%N)
  echo "start-up to first answered request: $(( (t1 - t0) / 1000000 )) ms"
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; }

start
KEY=$("$BIN" --data-dir "$WORK/data" --log warn key create --email bench@localhost --scopes task:write)
export KEY
echo "idle memory: $(awk '/VmRSS/ {print int($2/1024)}' "/proc/$PID/status") MiB RSS"
P=/api/projects/1

api() { curl -sf -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' "$@"; }
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

TASK=$(api -d '{"description":"benchmark task","origin_product":"user_created"}' "$BASE$P/tasks/" | json_field '["id"]')
new_run() { api -d '{"status":"in_progress"}' "$BASE$P/tasks/$TASK/runs/" | json_field '["id"]'; }

# A log entry of about 150 bytes, as the agent writes them.
ENTRY='{"type":"notification","timestamp":"2026-11-28T12:00:00.000000Z","notification":{"jsonrpc":"2.0","method":"_posthog/console","params":{"level":"info","message":"step done"}}}'
batch() { python3 -c "import sys; e=sys.argv[1]; print('{\"entries\":[' + ','.join([e]*int(sys.argv[2])) + ']}')" "$ENTRY" "$1"; }
batch 1 > "$WORK/batch1.json"
batch 10 > "$WORK/batch10.json"
batch 50 > "$WORK/batch50.json"
# Ten entries as PostHog's agent-server writes them, each with an event id (`@B@` becomes a
# fresh boot per request in bench/wrk.lua, so every id is new): the path that checks each
# event is stored once.
python3 -c "import json; print(json.dumps({'entries': [dict(json.loads('''$ENTRY'''), event_id=f'@B@-{i}') for i in range(1, 11)]}))" > "$WORK/events10.json"

peak_kb() { awk '/VmHWM/ {print $2}' "/proc/$PID/status"; }

# run NAME ENTRIES_PER_REQUEST URL [VAR=VALUE...]: ROUNDS wrk runs; prints the median.
run() {
  local name=$1 per=$2 url=$3; shift 3
  [[ -z "$FILTER" || "$name" == *"$FILTER"* ]] || return 0
  local results=()
  for _ in $(seq "$ROUNDS"); do
    results+=("$(env "$@" wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s bench/wrk.lua "$url" | grep '^RESULT')")
  done
  printf '%s\n' "${results[@]}" | python3 bench/median.py "$name" "$per" "$(peak_kb)"
}

echo "Burrow $("$BIN" --version | cut -d' ' -f2) on $(nproc) cores; wrk -c$CONNECTIONS -d$DURATION, median of $ROUNDS"
python3 bench/seed.py "$BASE" "$KEY" 10000 "$WORK/paths.txt"
echo "seeded 10,000 tasks, each with a run"
python3 -c 'import json,sys; print(json.dumps({"title":"Benchmark task","description":"Fix the flaky login test on the checkout page; it fails one run in ten on CI.","origin_product":"user_created","repository":"acme/web"}))' > "$WORK/task.json"

run "W0 GET /_health" 1 "$BASE/_health"
run "W2 get task" 1 "$BASE$P/tasks/" PATHS_FILE="$WORK/paths.txt"
run "W3 list 100" 1 "$BASE$P/tasks/?limit=100"
# The same page with the list page cache missed every time: the cost of building it.
run "W3 list 100, uncached" 1 "$BASE$P/tasks/?limit=100" UNCACHED=1
run "W1 create task" 1 "$BASE$P/tasks/" METHOD=POST BODY_FILE="$WORK/task.json"
# Each append workload writes to a run of its own, all 16 connections to that one run.
for n in 10 1 50; do
  RUN=$(new_run)
  label="append_log x$n"; [[ $n == 10 ]] && label="W4 append_log x10"
  run "$label" "$n" "$BASE$P/tasks/$TASK/runs/$RUN/append_log/" METHOD=POST BODY_FILE="$WORK/batch$n.json"
done
RUN=$(new_run)
run "append_log x10, event ids" 10 "$BASE$P/tasks/$TASK/runs/$RUN/append_log/" METHOD=POST \
  BODY_FILE="$WORK/events10.json" EVENT_IDS=1

# W5: page 50 of 100 with a million tasks (added straight into the stopped server's file).
if [[ -z "$FILTER" || "W5" == *"$FILTER"* ]]; then
  stop
  echo "tasks now: $(python3 bench/bulk.py "$WORK/data/burrow.db" 1000000)"
  start
  run "W5 page 50, 1M tasks" 1 "$BASE$P/tasks/?limit=100&offset=4900"
  run "W5 page 50, 1M tasks, uncached" 1 "$BASE$P/tasks/?limit=100&offset=4900" UNCACHED=1
fi
