#!/usr/bin/env bash
# The flusher's drain rate and PostgreSQL's CPU per event under two schemas of `events`,
# in alternating rounds of one run:
#   before   the key (id, server_time) and the indexes of migrations 001 and 010
#   after    the schema of sql/014 (key (server_time, id), no separate (server_time, id)
#            index, no (event_type, server_time) index)
#
#   bench/flush_schema.sh          EVENTS=200000 BATCH=100 CONNECTIONS=16 ROUNDS=3
#
# One private stack (bench/lib/stack.sh). Each round and schema: `events` is emptied and
# given the schema, EVENTS events are sent to POST /api/events/batch while the server runs
# with --flusher=false, then a server with its flusher on is started and the rate from its
# launch to its last stored event is taken from /metrics samples (every 0.1 s; the
# server's start, a few tenths of a second, is in it for both schemas alike).
# PostgreSQL's CPU is the sum over the backends of the run's database (utime + stime) once
# the last event is stored: the drain server's backends are new, so that is their whole
# CPU (the connections' start included).
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
# shellcheck source=lib/stack.sh
source "$(dirname "$0")/lib/stack.sh"

EVENTS=${EVENTS:-200000}
BATCH=${BATCH:-100}
CONNECTIONS=${CONNECTIONS:-16}
ROUNDS=${ROUNDS:-3}
MAX_WAIT_S=${MAX_WAIT_S:-300}
OUT="$BENCH_OUT/flush_schema"
mkdir -p "$OUT"
eval "$("$BENCH_ROOT/tools/dev.sh" env)"

SAMPLER=""
cleanup() {
  [[ -n $SAMPLER ]] && { kill "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true; }
  stack_stop
}
trap cleanup EXIT

stack_start "$OUT/server-fill.log" --flusher=false
psql_run() { PGOPTIONS="-c client_min_messages=warning" psql "$STACK_PG_DSN" -X -q -v ON_ERROR_STOP=1 "$@"; }
now() { date +%s.%N; }
RUN="schema-$(date -u +%Y%m%d%H%M%S)-$$"

schema_sql() {
  local drop_all="truncate events;
alter table events drop constraint if exists events_pkey;
drop index if exists events_time_id_idx;
drop index if exists events_type_time_idx;"
  case $1 in
    before) echo "$drop_all
alter table events add constraint events_pkey primary key (id, server_time);
create index events_time_id_idx on events (server_time, id);
create index events_type_time_idx on events (event_type, server_time);" ;;
    after) echo "$drop_all
alter table events add constraint events_pkey primary key (server_time, id);" ;;
  esac
}

sample_metrics() {  # URL FILE: "unix_time stored_total" every 0.1 s (bounded)
  local url=$1 file=$2 t line
  for ((i = 0; i < MAX_WAIT_S * 10; i++)); do
    t=$(now)
    line=$(curl -fs -m 1 "$url/metrics" | awk '/^tracker_flush_events_stored_total / { s = $2 } END { printf "%d", s }') || line=""
    [[ -n $line ]] && echo "$t $line" >> "$file"
    sleep 0.1
  done
}
stored_now() {
  curl -fs -m 1 "$STACK_URL/metrics" 2>/dev/null | awk '/^tracker_flush_events_stored_total / { s = $2 } END { print s + 0 }' || true
}
rate_between() {  # FILE TO -> "events/s seconds": from the server's launch (the file's
  # first line) to the first sample at TO. The flusher may store the whole backlog in one
  # batch and count it at the end, so no later start is safe.
  awk -v hi="$2" '
    NR == 1 { t0 = $1 }
    $2 >= hi && !t1 { t1 = $1 }
    END { if (t1 > t0) printf "%.0f %.2f\n", hi / (t1 - t0), t1 - t0; else print "nan nan" }' "$1"
}
backend_cpu() {  # CPU seconds of every backend of the run's database
  local total=0 pid
  for pid in $(psql_run -At -c "select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()"); do
    [[ -r /proc/$pid/stat ]] && total=$(awk -v t="$total" '{ printf "%.2f", t + ($14 + $15) / 100 }' "/proc/$pid/stat")
  done
  echo "$total"
}
restart_server() {  # LOG FLAGS... (SAMPLES=FILE: sample its /metrics from before it starts)
  local log=$1; shift
  kill -TERM "$STACK_PID" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$STACK_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$STACK_PID" 2>/dev/null || true
  wait "$STACK_PID" 2>/dev/null || true
  STACK_PORT=$(free_port)
  STACK_URL="http://127.0.0.1:$STACK_PORT"
  if [[ -n ${SAMPLES:-} ]]; then
    echo "$(now) 0" >> "$SAMPLES"
    sample_metrics "$STACK_URL" "$SAMPLES" & SAMPLER=$!
  fi
  env -u TRACKER_REDIS_CLUSTER "$TRACKER_SERVER_BIN" --listen=127.0.0.1 --port="$STACK_PORT" --redis-host=127.0.0.1 \
    --redis-port="$STACK_REDIS_PORT" --pg-dsn="$STACK_PG_DSN" --log-level=warn "$@" > "$log" 2>&1 &
  STACK_PID=$!
  for _ in $(seq 1 100); do curl -fs -o /dev/null "$STACK_URL/health/ready" && return 0; sleep 0.1; done
  echo "server did not get ready; see $log" >&2; return 1
}

: > "$OUT/rounds.txt"
for round in $(seq 1 "$ROUNDS"); do
  for variant in before after; do
    restart_server "$OUT/server-fill.log" --flusher=false
    schema_sql "$variant" | psql_run
    /usr/bin/python3 "$BENCH_ROOT/bench/lib/send_batches.py" --url "$STACK_URL" --events "$EVENTS" --batch "$BATCH" \
      --connections "$CONNECTIONS" --session-prefix "$RUN-$round-$variant-" --component-base 9000000 > "$OUT/send.json"
    : > "$OUT/samples.txt"
    # The flusher starts with the server: sampling starts first, and the new server's
    # backends start from zero CPU.
    SAMPLES="$OUT/samples.txt" restart_server "$OUT/server-drain.log"
    for ((i = 0; i < MAX_WAIT_S * 5; i++)); do
      (($(stored_now) >= EVENTS)) && break
      sleep 0.2
    done
    sleep 0.3
    cpu1=$(backend_cpu)
    kill "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true; SAMPLER=""
    rows=$(psql_run -At -c "select count(*) from events")
    [[ $rows == "$EVENTS" ]] || { echo "$variant round $round: $rows rows in events, not $EVENTS" >&2; exit 1; }
    read -r rate seconds < <(rate_between "$OUT/samples.txt" "$EVENTS")
    cpu_us=$(awk -v a=0 -v b="$cpu1" -v n="$EVENTS" 'BEGIN { printf "%.1f", (b - a) * 1e6 / n }')
    echo "$variant $round $rate $seconds $cpu_us" | tee -a "$OUT/rounds.txt"
  done
done

col() { awk -v v="$1" -v c="$2" '$1 == v { print $c }' "$OUT/rounds.txt" | median; }
ref=$(col before 3)
{
  printf "%-8s %10s %16s %10s\n" schema events/s "pg_cpu_us/event" vs_before
  for variant in before after; do
    awk -v v="$variant" -v r="$(col "$variant" 3)" -v c="$(col "$variant" 5)" -v ref="$ref" \
      'BEGIN { printf "%-8s %10.0f %16.1f %9.2fx\n", v, r, c, r / ref }'
  done
  echo "(flusher draining $EVENTS waiting events, batches of $BATCH; median of $ROUNDS rounds, schemas alternating)"
} | tee "$OUT/summary.txt"
