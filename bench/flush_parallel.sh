#!/usr/bin/env bash
# The flush rate into PostgreSQL with 1, 2 and 4 flushers working in parallel, against one
# flusher measured in the same run, and against one plain COPY of the same rows.
#
#   bench/flush_parallel.sh       EVENTS=400000 ROUNDS=3 FLUSHERS="1 2 4" SKIP_SETUP=1
#
# A run with K flushers, on a private stack (bench/lib/stack.sh: its own Redis and
# database): a server with --redis-shards=K and its flusher off takes EVENTS events through
# POST /api/events/batch (bench/lib/send_batches.py, batches of 100, 16 connections); it
# stops, and a server with --redis-shards=K and its flusher on starts: one flusher per
# shard, each with its own PostgreSQL connection and lock, all draining at once. The rate
# is timed from the first event stored in PostgreSQL to the last (a column the run adds to
# `events`, default clock_timestamp(), so each row carries its insert time; the server's
# tracker_flush_events_stored_total, sampled every 0.1 s, says when all are in); the run then checks that
# pendingPersistence is 0 and `events` holds EVENTS rows. K values alternate round by
# round; medians. The plain COPY (once per round, after the 1-flusher run): the run's rows
# copied out, then in by one `COPY ... FROM STDIN` into an empty table like `events`
# (same keys, indexes and that column, daily partitions), timed around psql.
#
# Here the flushers, the server, Redis and the one PostgreSQL share 2 cores: parallel
# flushers overlap one flusher's waits (Redis reads, the commit's WAL flush) with another's
# work, and the PostgreSQL CPU they all need caps the gain. One server runs all its
# flushers on one thread; servers with disjoint --flusher-shards spread them over
# processes (docs/SCALING.md).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/stack.sh"
EVENTS=${EVENTS:-400000}
ROUNDS=${ROUNDS:-3}
FLUSHERS=${FLUSHERS:-"1 2 4"}
MAX_WAIT_S=${MAX_WAIT_S:-300}
OUT="$BENCH_OUT/flush_parallel"
mkdir -p "$OUT"

[[ -n ${SKIP_SETUP:-} ]] || "$BENCH_ROOT/tools/dev.sh" setup >/dev/null
eval "$("$BENCH_ROOT/tools/dev.sh" env)"
STACK_ROOT=$BENCH_ROOT
TMP=$(mktemp -d /tmp/event-tracker-flush-parallel.XXXXXX)
cleanup() { stack_stop; rm -rf "$TMP"; }
trap cleanup EXIT

now() { date +%s.%N; }
stored_now() {
  curl -fs -m 1 "$STACK_URL/metrics" 2>/dev/null | awk '/^tracker_flush_events_stored_total / { s = $2 } END { print s + 0 }' || true
}
psql_run() { psql "$STACK_PG_DSN" -X -q -v ON_ERROR_STOP=1 "$@"; }

restart_server() {  # LOG FLAGS...: the stack's server replaced by one started with FLAGS
  local log=$1; shift
  kill -TERM "$STACK_PID" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$STACK_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$STACK_PID" 2>/dev/null || true
  wait "$STACK_PID" 2>/dev/null || true
  STACK_PORT=$(free_port)
  STACK_URL="http://127.0.0.1:$STACK_PORT"
  env -u TRACKER_REDIS_CLUSTER "$TRACKER_SERVER_BIN" --listen=127.0.0.1 --port="$STACK_PORT" --redis-host=127.0.0.1 \
    --redis-port="$STACK_REDIS_PORT" --pg-dsn="$STACK_PG_DSN" --log-level=warn "$@" > "$log" 2>&1 &
  STACK_PID=$!
}

# One run with K flushers: prints "rows/s seconds".
drain_run() {
  local k=$1 round=$2 samples="$TMP/samples-$k" accepted t stored
  stack_start "$OUT/server-fill-$k.log" --flusher=false --redis-shards="$k" --backlog-high-water=0
  # Each row's insert time (the flusher's COPY names its columns, so the default applies).
  psql_run -c "alter table events add column bench_stored_at timestamptz default clock_timestamp()"
  /usr/bin/python3 "$BENCH_ROOT/bench/lib/send_batches.py" --url "$STACK_URL" --events "$EVENTS" --batch 100 \
    --connections 16 --session-prefix "fp-$k-" --component-base 7000000 > "$TMP/send.json"
  accepted=$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["accepted"])' "$TMP/send.json")
  [[ $accepted == "$EVENTS" ]] || { echo "$k flushers: the server accepted $accepted of $EVENTS" >&2; return 1; }
  local waiting run_id
  waiting=$(redis-cli -p "$STACK_REDIS_PORT" --scan --pattern 'et:{*}:backlog' |
    while read -r key; do redis-cli -p "$STACK_REDIS_PORT" get "$key"; done | awk '{ s += $1 } END { print s + 0 }')
  [[ $waiting == "$EVENTS" ]] || { echo "$k flushers: $waiting events in the backlog after the fill, not $EVENTS" >&2; return 1; }
  run_id=$(redis-cli -p "$STACK_REDIS_PORT" info server | tr -d '\r' | sed -n 's/^run_id://p')
  : > "$samples"
  restart_server "$OUT/server-drain-$k.log" --flusher=true --redis-shards="$k"
  for ((i = 0; i < MAX_WAIT_S * 10; i++)); do
    t=$(now); stored=$(stored_now)
    echo "$t $stored" >> "$samples"
    ((stored >= EVENTS)) && break
    # Stuck: nothing more stored for 30 s.
    [[ $(awk -v now="$t" -v n="$stored" '$2 != n { last = $1 } END { print (last && now - last > 30) ? 1 : 0 }' "$samples") == 1 ]] && break
    sleep 0.1
  done
  cp "$samples" "$OUT/samples-$k-round$round.txt"
  if ((stored < EVENTS)); then
    echo "$k flushers: only $stored of $EVENTS stored; Redis $(redis-cli -p "$STACK_REDIS_PORT" info server | tr -d '\r' |
      sed -n 's/^run_id://p') (was $run_id) holds $(redis-cli -p "$STACK_REDIS_PORT" dbsize) keys" >&2
    return 1
  fi
  local rows pending
  rows=$(psql_run -At -c "select count(*) from events")
  for _ in $(seq 1 50); do pending=$(stack_pending 2>/dev/null || echo x); [[ $pending == 0 ]] && break; sleep 0.1; done
  [[ $rows == "$EVENTS" && $pending == 0 ]] || { echo "$k flushers: $rows rows in events, pendingPersistence $pending" >&2; return 1; }
  # Timed inside PostgreSQL, from the first row stored to the last: the flushers start
  # before the server answers HTTP, so /metrics samples cannot see the start.
  psql_run -At -F' ' -c "select round($EVENTS / extract(epoch from max(bench_stored_at) - min(bench_stored_at))),
                                round(extract(epoch from max(bench_stored_at) - min(bench_stored_at))::numeric, 2) from events"
}

copy_run() {  # plain COPY of the stack's rows into an empty partitioned copy of events: rows/s
  local columns="id, event_type, user_id, session_id, component_id, element_id, post_id, keyword, metadata, client_time, server_time, stream_id"
  psql_run -c "copy (select $columns from events) to stdout" > "$TMP/rows.copy"
  psql_run <<SQL
create table bench_copy (like events including all) partition by range (server_time);
do \$\$
declare d date;
begin
  for d in select distinct (server_time at time zone 'UTC')::date from events loop
    execute format('create table %I partition of bench_copy for values from (%L) to (%L)',
                   'bench_copy_p' || to_char(d, 'YYYYMMDD'), d::timestamp at time zone 'UTC', (d + 1)::timestamp at time zone 'UTC');
  end loop;
end \$\$;
SQL
  local t0 t1
  t0=$(now)
  psql_run -c "copy bench_copy ($columns) from stdin" < "$TMP/rows.copy" >/dev/null
  t1=$(now)
  [[ $(psql_run -At -c "select count(*) from bench_copy") == "$EVENTS" ]] || { echo "plain COPY: wrong row count" >&2; return 1; }
  psql_run -c "drop table bench_copy"
  rm -f "$TMP/rows.copy"
  awk -v n="$EVENTS" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f %.2f\n", n / (b - a), b - a }'
}

load_before=$(cut -d" " -f1-3 /proc/loadavg)
: > "$OUT/rounds.txt"
for round in $(seq 1 "$ROUNDS"); do
  for k in $FLUSHERS; do
    drain_run "$k" "$round" > "$TMP/result"   # not in a subshell: it sets the stack's variables
    read -r rate secs < "$TMP/result"
    echo "f$k x $rate $secs" >> "$OUT/rounds.txt"
    printf 'round %d %d flusher(s): %s events in %6s s, %8s rows/s  (load average %s)\n' "$round" "$k" "$EVENTS" "$secs" "$rate" \
      "$(cut -d" " -f1 /proc/loadavg)"
    if [[ $k == 1 ]]; then
      copy_run > "$TMP/result"
      read -r crate csecs < "$TMP/result"
      echo "copy x $crate $csecs" >> "$OUT/rounds.txt"
      printf 'round %d plain COPY: %s rows in %6s s, %8s rows/s\n' "$round" "$EVENTS" "$csecs" "$crate"
    fi
    stack_stop
  done
done

col() { median_where "$OUT/rounds.txt" "$1" x "$2"; }
{
  echo "== flush rate into PostgreSQL, $EVENTS events waiting in Redis, K shards with one flusher each (one server): medians of $ROUNDS rounds, $(nproc) cores shared by Redis, the server and PostgreSQL =="
  echo "load average (1, 5, 15 min) before: $load_before, after: $(cut -d" " -f1-3 /proc/loadavg)"
  one=$(col f1 3)
  copy=$(col copy 3)
  printf '%-22s %10s %10s %12s %14s\n' flushers "rows/s" seconds "vs 1 flusher" "vs plain COPY"
  for k in $FLUSHERS; do
    printf '%-22s %10.0f %10.2f %11.2fx %13.2fx\n' "$k" "$(col "f$k" 3)" "$(col "f$k" 4)" \
      "$(awk -v a="$(col "f$k" 3)" -v b="$one" 'BEGIN { print a / b }')" "$(awk -v a="$(col "f$k" 3)" -v b="$copy" 'BEGIN { print a / b }')"
  done
  printf '%-22s %10.0f %10.2f\n' "plain COPY (1 session)" "$copy" "$(col copy 4)"
} | tee "$OUT/summary.txt"
