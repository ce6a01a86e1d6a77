#!/usr/bin/env bash
# CPU cost of one ingested event: Redis CPU time and server CPU time per stored event,
# which a shared, noisy machine distorts far less than throughput. The release server
# (flusher off, so only ingestion runs) on a private Redis, under wrk with the clients'
# event mix, single events then batches of 100; ROUNDS rounds, medians printed.
#
#   bench/ingest_cost.sh                        this build
#   BASELINE_BIN=/path/to/old/event-tracker bench/ingest_cost.sh
#                                               the same rounds alternating with another
#                                               build, and the ratio this / baseline
#   BASELINE_BIN=$PWD/build/release/event-tracker CURRENT_ARGS=--redis-shards=4 bench/ingest_cost.sh
#                                               one build against itself with other flags
#                                               (CURRENT_ARGS, BASELINE_ARGS: extra server flags)
#   BASELINE_BIN=$PWD/build/release/event-tracker CURRENT_ARGS=--redis-ingest=module bench/ingest_cost.sh
#                                               the ingest module against the Lua script
#                                               (bench/out/ingest_cost_commandstats.txt: each
#                                               run's usec_per_call of the ingest command)
#   ROUNDS=3 SECONDS_PER_RUN=8 CONNECTIONS=64 SKIP_SETUP=1
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/stack.sh"
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-8}
CONNECTIONS=${CONNECTIONS:-64}

[[ -n ${SKIP_SETUP:-} ]] || "$BENCH_ROOT/tools/dev.sh" setup >/dev/null
eval "$("$BENCH_ROOT/tools/dev.sh" env)"
STACK_ROOT=$BENCH_ROOT
CURRENT_BIN=$TRACKER_SERVER_BIN
trap stack_stop EXIT

# One measurement: prints "events/s redis_us_per_event server_us_per_event".
measure() { stack_ingest_cost "$1" "$SECONDS_PER_RUN" "$CONNECTIONS"; }

builds=(current)
[[ -n ${BASELINE_BIN:-} ]] && builds+=(baseline)
: > "$BENCH_OUT/ingest_cost.txt"
: > "$BENCH_OUT/ingest_cost_commandstats.txt"
for round in $(seq 1 "$ROUNDS"); do
  for build in "${builds[@]}"; do
    TRACKER_SERVER_BIN=$CURRENT_BIN
    extra=${CURRENT_ARGS:-}
    if [[ $build == baseline ]]; then
      TRACKER_SERVER_BIN=$BASELINE_BIN
      extra=${BASELINE_ARGS:-}
    fi
    # shellcheck disable=SC2086  # extra flags are words
    stack_start "$BENCH_OUT/ingest_cost_server.log" --flusher=false --backlog-high-water=0 $extra
    for batch in 0 100; do
      redis-cli -p "$STACK_REDIS_PORT" config resetstat >/dev/null
      read -r rate redis_us server_us < <(measure "$batch")
      echo "$build $batch $rate $redis_us $server_us" >> "$BENCH_OUT/ingest_cost.txt"
      # The ingest command's own time per call (EVALSHA or TRACKER.INGEST), for the record.
      redis-cli -p "$STACK_REDIS_PORT" info commandstats | tr -d '\r' |
        sed -n "s/^cmdstat_\(evalsha\|tracker.ingest\):/round $round $build $(batch_label "$batch") \1 /p" \
        >> "$BENCH_OUT/ingest_cost_commandstats.txt"
      printf 'round %d %-8s %-7s %8s events/s  Redis %6s us/event  server %6s us/event\n' "$round" "$build" \
        "$(batch_label "$batch")" "$rate" "$redis_us" "$server_us"
    done
    stack_stop
  done
done

col() { median_where "$BENCH_OUT/ingest_cost.txt" "$@"; }
echo "== ingestion cost per event: medians of $ROUNDS rounds x ${SECONDS_PER_RUN}s, $CONNECTIONS connections, $(nproc) cores shared with wrk =="
printf '%-9s %-8s %10s %16s %17s\n' build events "events/s" "Redis us/event" "server us/event"
for build in "${builds[@]}"; do
  for batch in 0 100; do
    printf '%-9s %-8s %10.0f %16.2f %17.2f\n' "$build" "$(batch_label "$batch")" \
      "$(col "$build" "$batch" 3)" "$(col "$build" "$batch" 4)" "$(col "$build" "$batch" 5)"
  done
done
if [[ -n ${BASELINE_BIN:-} ]]; then
  for batch in 0 100; do
    awk -v a="$(col current "$batch" 4)" -v b="$(col baseline "$batch" 4)" -v c="$(col current "$batch" 5)" \
        -v d="$(col baseline "$batch" 5)" -v label="$(batch_label "$batch")" \
        'BEGIN { printf "%-8s Redis CPU per event: %.2fx the baseline; server CPU per event: %.2fx\n", label, a / b, c / d }'
  done
fi
