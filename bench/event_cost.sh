#!/usr/bin/env bash
# CPU per event end to end: the server, Redis and PostgreSQL together, flusher on, with the
# clients' event mix (bench/lib/events.lua), from the first request until every event
# is in PostgreSQL. The goals: <= 50 us per single event, <= 20 us per batched event.
#
#   bench/event_cost.sh        ROUNDS=3 SECONDS_PER_RUN=10 CONNECTIONS=64 SKIP_SETUP=1
#   ENGINES=lua,module bench/event_cost.sh
#                              each round once per ingest engine (--redis-ingest), and the
#                              ratio of each to the first
#
# One run: a private stack (bench/lib/stack.sh: its own Redis and database) with the
# flusher on; wrk sends single events (or batches of 100) for SECONDS_PER_RUN; then the
# run waits until pendingPersistence is 0. CPU is counted over that whole window: the
# server's and Redis's from /proc and INFO, PostgreSQL's as the postmaster's own time plus
# its children's, living (/proc/<pid>/stat) and ended (the postmaster's cutime + cstime),
# so backends, autovacuum, the WAL writer and the checkpointer all count. Events are the
# rows the run's `events` table holds at the end. Single and batched runs alternate, a
# fresh stack each; medians of the rounds.
#
# PostgreSQL is the development one (tools/dev.sh env) and is shared with whatever else
# uses it meanwhile; run it when nothing else does.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/stack.sh"
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
CONNECTIONS=${CONNECTIONS:-64}
MAX_DRAIN_S=${MAX_DRAIN_S:-300}
read -ra engines <<< "${ENGINES//,/ }"
((${#engines[@]})) || engines=(lua)

[[ -n ${SKIP_SETUP:-} ]] || "$BENCH_ROOT/tools/dev.sh" setup >/dev/null
eval "$("$BENCH_ROOT/tools/dev.sh" env)"
STACK_ROOT=$BENCH_ROOT
trap stack_stop EXIT
RESULTS="$BENCH_OUT/event_cost.txt"
: > "$RESULTS"

# one_run BATCH ENGINE -> "events events_per_s server_us redis_us pg_us total_us drain_s"
one_run() {
  local batch=$1 engine=$2 server0 redis0 pg0 started stopped rows
  stack_start "$BENCH_OUT/event_cost_server.log" --flusher=true --redis-ingest="$engine"
  server0=$(_stack_cpu_seconds "$STACK_PID"); redis0=$(_stack_redis_cpu); pg0=$(stack_pg_cpu_seconds)
  BATCH=$batch wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" -s "$STACK_ROOT/bench/lib/events.lua" "$STACK_URL" \
    > "$BENCH_OUT/wrk.last" 2>&1
  started=$(date +%s.%N)
  for _ in $(seq 1 $((MAX_DRAIN_S * 10))); do
    [[ $(stack_pending) == 0 ]] && break
    sleep 0.1
  done
  stopped=$(date +%s.%N)
  [[ $(stack_pending) == 0 ]] || { echo "the backlog did not drain in ${MAX_DRAIN_S}s" >&2; exit 1; }
  local server1 redis1 pg1
  server1=$(_stack_cpu_seconds "$STACK_PID"); redis1=$(_stack_redis_cpu); pg1=$(stack_pg_cpu_seconds)
  rows=$(psql -X -qAt "$STACK_PG_DSN" -c "select count(*) from events")
  stack_stop
  awk -v n="$rows" -v s="$SECONDS_PER_RUN" -v a0="$server0" -v a1="$server1" -v r0="$redis0" -v r1="$redis1" \
      -v p0="$pg0" -v p1="$pg1" -v d="$(bc -l <<<"$stopped - $started")" 'BEGIN {
        if (n <= 0) { print "0 0 nan nan nan nan 0"; exit }
        a = (a1 - a0) * 1e6 / n; r = (r1 - r0) * 1e6 / n; p = (p1 - p0) * 1e6 / n
        printf "%d %.0f %.2f %.2f %.2f %.2f %.1f\n", n, n / s, a, r, p, a + r + p, d }'
}

for round in $(seq 1 "$ROUNDS"); do
  for batch in 0 100; do
    for engine in "${engines[@]}"; do
      load=$(cut -d' ' -f1 /proc/loadavg)
      read -r events rate server_us redis_us pg_us total_us drain_s < <(one_run "$batch" "$engine")
      echo "$(batch_label "$batch") $engine $events $rate $server_us $redis_us $pg_us $total_us $drain_s" >> "$RESULTS"
      printf 'round %d %-8s %-6s %8d events (%6d/s sent), drain %5.1f s: server %6.2f + Redis %6.2f + PostgreSQL %6.2f = %6.2f us/event  (load %s)\n' \
        "$round" "$(batch_label "$batch")" "$engine" "$events" "$rate" "$drain_s" "$server_us" "$redis_us" "$pg_us" "$total_us" "$load"
    done
  done
done

col() { median_where "$RESULTS" "$1" "$2" "$3"; }
echo "== CPU per event end to end (server + Redis + PostgreSQL, flusher on, clients' mix): medians of $ROUNDS rounds x ${SECONDS_PER_RUN}s, $CONNECTIONS connections, $(nproc) cores shared with wrk =="
printf '%-8s %-6s %10s %10s %10s %12s %10s %8s %10s\n' events ingest "events/s" "server us" "Redis us" "PostgreSQL us" "total us" goal "total/goal"
for label in single batch100; do
  goal=50; [[ $label == single ]] || goal=20
  for engine in "${engines[@]}"; do
    total=$(col "$label" "$engine" 8)
    printf '%-8s %-6s %10.0f %10.2f %10.2f %12.2f %10.2f %8d %9.2fx\n' "$label" "$engine" "$(col "$label" "$engine" 4)" \
      "$(col "$label" "$engine" 5)" "$(col "$label" "$engine" 6)" "$(col "$label" "$engine" 7)" "$total" "$goal" \
      "$(bc -l <<<"$total / $goal")"
  done
  for engine in "${engines[@]:1}"; do
    awk -v e="$engine" -v f="${engines[0]}" -v l="$label" -v r1="$(col "$label" "$engine" 6)" -v r0="$(col "$label" "${engines[0]}" 6)" \
        -v t1="$(col "$label" "$engine" 8)" -v t0="$(col "$label" "${engines[0]}" 8)" \
        'BEGIN { printf "%-8s %s / %s: Redis CPU per event %.2fx, total %.2fx\n", l, e, f, r1 / r0, t1 / t0 }'
  done
done
