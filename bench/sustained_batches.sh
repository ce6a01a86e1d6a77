#!/usr/bin/env bash
# Batched events sustained into PostgreSQL: for each offered rate, SECONDS_PER_RATE of open
# loop batches (tools/loadgen --scenario batch --batch 100 --rate R/100, the clients' mix)
# into a server with its flusher on; the backlog waiting for PostgreSQL (pendingPersistence)
# is sampled every second. A rate is sustained when the backlog stays flat: its growth over
# the second half of the run (least-squares slope) is under 2 % of the rate, and every
# batch was accepted. The goal is 100,000 events/s.
#
#   bench/sustained_batches.sh     RATES="20000 40000 60000 80000 100000" SECONDS_PER_RATE=60
#                                  FLUSHER_ARGS="--redis-shards=2" SKIP_SETUP=1
#
# Each rate gets a fresh private stack (bench/lib/stack.sh); CPU per event of the server,
# Redis and PostgreSQL over the run is printed alongside (bench/event_cost.sh counts it the
# same way), since on 2 shared cores what bounds the rate is their CPU.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/stack.sh"
RATES=${RATES:-"20000 40000 60000 80000 100000"}
SECONDS_PER_RATE=${SECONDS_PER_RATE:-60}
FLUSHER_ARGS=${FLUSHER_ARGS:-}
GOAL=100000
LOADGEN="$BENCH_ROOT/build/release/tools/loadgen/loadgen"
OUT="$BENCH_OUT/sustained_batches"
mkdir -p "$OUT"

[[ -n ${SKIP_SETUP:-} ]] || "$BENCH_ROOT/tools/dev.sh" setup >/dev/null
[[ -x $LOADGEN ]] || { echo "no $LOADGEN (cmake --build build/release --target loadgen)" >&2; exit 1; }
eval "$("$BENCH_ROOT/tools/dev.sh" env)"
STACK_ROOT=$BENCH_ROOT
trap stack_stop EXIT

printf '%-8s %10s %8s %14s %7s %10s %9s %10s %9s %6s\n' offered "accepted/s" errors "backlog slope" flat \
  "backlog max" "server us" "Redis us" "PG us" load
best=0
for rate in $RATES; do
  # shellcheck disable=SC2086  # extra flags are words
  stack_start "$OUT/server.log" --flusher=true $FLUSHER_ARGS
  samples="$OUT/backlog_$rate.txt"
  : > "$samples"
  server0=$(_stack_cpu_seconds "$STACK_PID"); redis0=$(_stack_redis_cpu); pg0=$(stack_pg_cpu_seconds)
  "$LOADGEN" --url "$STACK_URL" --scenario batch --batch 100 --rate "$(bc <<<"$rate / 100")" \
    --duration "$SECONDS_PER_RATE" --connections 64 > "$OUT/loadgen_$rate.txt" 2>&1 &
  loadgen=$!
  started=$(date +%s.%N)
  while kill -0 "$loadgen" 2>/dev/null; do
    sleep 1
    echo "$(bc -l <<<"$(date +%s.%N) - $started") $(stack_pending 2>/dev/null || echo nan)" >> "$samples"
  done
  wait "$loadgen" || { echo "loadgen failed at $rate; see $OUT/loadgen_$rate.txt" >&2; exit 1; }
  server1=$(_stack_cpu_seconds "$STACK_PID"); redis1=$(_stack_redis_cpu); pg1=$(stack_pg_cpu_seconds)
  # The events accepted and the requests that failed, from loadgen's summary (JSON).
  read -r accepted errors < <(/usr/bin/python3 - "$OUT/loadgen_$rate.txt" <<'EOF'
import json, sys
summary = None
for line in open(sys.argv[1]):
    line = line.strip()
    if line.startswith("{"):
        try:
            summary = json.loads(line)
        except ValueError:
            pass
if summary is None:
    print("0 nan")
else:
    print(summary["events_acked"], summary["errors"])
EOF
  )
  stack_stop
  load=$(cut -d' ' -f1 /proc/loadavg)
  awk -v rate="$rate" -v seconds="$SECONDS_PER_RATE" -v accepted="$accepted" -v errors="$errors" \
      -v a="$(bc -l <<<"$server1 - $server0")" -v r="$(bc -l <<<"$redis1 - $redis0")" \
      -v p="$(bc -l <<<"$pg1 - $pg0")" -v load="$load" '
    { t[NR] = $1; b[NR] = $2; if ($2 > max) max = $2 }
    END {
      # least-squares slope of the backlog over the second half of the samples
      n = 0; sx = sy = sxx = sxy = 0
      for (i = int(NR / 2) + 1; i <= NR; i++) { n++; sx += t[i]; sy += b[i]; sxx += t[i] * t[i]; sxy += t[i] * b[i] }
      slope = (n > 1) ? (n * sxy - sx * sy) / (n * sxx - sx * sx) : 0
      flat = (slope < 0.02 * rate && errors == 0) ? "yes" : "no"
      per = (accepted > 0) ? 1e6 / accepted : 0
      printf "%-8d %10.0f %8d %12.0f/s %7s %10d %9.2f %10.2f %9.2f %6s\n", rate, accepted / seconds, errors, slope, flat, max, a * per, r * per, p * per, load
      print flat > "/dev/stderr"
    }' "$samples" 2> "$OUT/flat"
  [[ $(cat "$OUT/flat") == yes ]] && ((rate > best)) && best=$rate
done
echo "== batched events sustained into PostgreSQL (${SECONDS_PER_RATE} s per rate, batches of 100, flusher on${FLUSHER_ARGS:+, $FLUSHER_ARGS}) =="
printf 'highest flat rate: %d events/s; goal %d: %.2fx\n' "$best" "$GOAL" "$(bc -l <<<"$best / $GOAL")"
