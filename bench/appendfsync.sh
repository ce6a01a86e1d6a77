#!/usr/bin/env bash
# What `appendfsync always` costs ingestion next to the default `everysec`
# (TRACKER_REDIS_APPENDFSYNC; docs/DURABILITY.md says what each one guarantees).
# Each round starts a private stack (bench/lib/stack.sh: its own Redis with the chosen
# setting, its own database) once per setting, alternating, and runs wrk with the
# clients' event mix against it: single events, then batches of 100. The flusher is off
# so that only ingestion (and Redis's fsyncs) run. Medians and the ratio always/everysec.
#
#   bench/appendfsync.sh          (ROUNDS=3 SECONDS_PER_RUN=8 CONNECTIONS=64)
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/stack.sh"
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-8}
CONNECTIONS=${CONNECTIONS:-64}
SETTINGS=(everysec always)

"$BENCH_ROOT/tools/dev.sh" setup >/dev/null
eval "$("$BENCH_ROOT/tools/dev.sh" env)"
STACK_ROOT=$BENCH_ROOT
trap stack_stop EXIT

out="$BENCH_OUT/appendfsync.txt"
: > "$out"
for round in $(seq 1 "$ROUNDS"); do
  for setting in "${SETTINGS[@]}"; do
    TRACKER_REDIS_APPENDFSYNC=$setting stack_start "$BENCH_OUT/appendfsync_server.log" \
      --flusher=false --backlog-high-water=0
    actual=$(redis-cli -p "$STACK_REDIS_PORT" config get appendfsync | sed -n 2p)
    [[ $actual == "$setting" ]] || { echo "the stack's Redis runs appendfsync '$actual', not '$setting'" >&2; exit 1; }
    wrk_run "$STACK_URL/api/events" 2 "$CONNECTIONS" >/dev/null   # warm-up
    for batch in 0 100; do
      read -r rps p50 p99 bad < <(wrk_run "$STACK_URL/api/events" "$SECONDS_PER_RUN" "$CONNECTIONS" BATCH=$batch)
      rate=$(echo "$rps * $((batch == 0 ? 1 : batch))" | bc)
      echo "$setting $batch $rate $p50 $p99 $bad" >> "$out"
      printf 'round %d %-8s %-8s %9.0f events/s  p50 %7.2f ms  p99 %7.2f ms  non-2xx %d\n' "$round" "$setting" \
        "$(batch_label "$batch")" "$rate" "$p50" "$p99" "$bad"
    done
    stack_stop
  done
done

col() { median_where "$out" "$@"; }
echo
echo "== appendfsync: medians of $ROUNDS rounds x ${SECONDS_PER_RUN}s, $CONNECTIONS connections, $(nproc) cores shared with wrk =="
printf '%-9s %-8s %10s %10s %10s\n' setting events "events/s" "p50 ms" "p99 ms"
for setting in "${SETTINGS[@]}"; do
  for batch in 0 100; do
    printf '%-9s %-8s %10.0f %10.2f %10.2f\n' "$setting" "$(batch_label "$batch")" \
      "$(col "$setting" "$batch" 3)" "$(col "$setting" "$batch" 4)" "$(col "$setting" "$batch" 5)"
  done
done
for batch in 0 100; do
  awk -v a="$(col always "$batch" 3)" -v e="$(col everysec "$batch" 3)" -v pa="$(col always "$batch" 5)" \
      -v pe="$(col everysec "$batch" 5)" -v label="$(batch_label "$batch")" \
      'BEGIN { printf "%-8s always / everysec: %.2fx the events/s, %.2fx the p99\n", label, a / e, pa / pe }'
done
