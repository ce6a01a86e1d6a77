#!/usr/bin/env bash
# What checking API keys costs single-event ingestion: server CPU time per stored event
# (and events/s) with --auth=on against --auth=off, the same binary and the same requests
# (wrk sends the run's write key either way), on a private stack (bench/lib/stack.sh), the
# two alternating round by round; prints the medians and the ratio on / off.
#
#   bench/auth_cost.sh
#   ROUNDS=5 SECONDS_PER_RUN=8 CONNECTIONS=64 SKIP_SETUP=1 bench/auth_cost.sh
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/stack.sh"
ROUNDS=${ROUNDS:-5}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-8}
CONNECTIONS=${CONNECTIONS:-64}

[[ ${SKIP_SETUP:-0} == 1 ]] || "$BENCH_ROOT/tools/dev.sh" setup >/dev/null  # SKIP_SETUP=1: no build
eval "$("$BENCH_ROOT/tools/dev.sh" env)"
STACK_ROOT=$BENCH_ROOT
trap stack_stop EXIT

out="$BENCH_OUT/auth_cost.txt"
: > "$out"
for round in $(seq 1 "$ROUNDS"); do
  for auth in on off; do
    stack_start "$BENCH_OUT/auth_cost_server.log" --flusher=false --backlog-high-water=0 --auth="$auth"
    read -r rate redis_us server_us < <(stack_ingest_cost 0 "$SECONDS_PER_RUN" "$CONNECTIONS")
    echo "$auth single $rate $redis_us $server_us" >> "$out"
    printf 'round %d auth=%-3s %8s events/s  server %6s us/event  Redis %6s us/event\n' "$round" "$auth" \
      "$rate" "$server_us" "$redis_us"
    stack_stop
  done
done

col() { median_where "$out" "$1" single "$2"; }
echo "== single events, auth on vs off: medians of $ROUNDS rounds x ${SECONDS_PER_RUN}s, $CONNECTIONS connections," \
     "$(nproc) cores shared with wrk, load average $(cut -d' ' -f1-3 /proc/loadavg) =="
printf '%-9s %10s %17s\n' auth "events/s" "server us/event"
for auth in on off; do printf '%-9s %10.0f %17.2f\n' "$auth" "$(col "$auth" 3)" "$(col "$auth" 5)"; done
awk -v a="$(col on 5)" -v b="$(col off 5)" -v r="$(col on 3)" -v s="$(col off 3)" \
  'BEGIN { printf "server CPU per event: on / off = %.3f (%+.2f us); events/s: on / off = %.3f\n", a / b, a - b, r / s }'
