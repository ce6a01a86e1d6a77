#!/usr/bin/env bash
# The cost of rate limiting on single-event ingestion: limits off, on in memory
# (--rate-limit-store=memory) and on in Redis (--rate-limit-store=redis), alternating in
# every round on one private stack each, under wrk with the clients' event mix. The limit
# is set high enough never to refuse (the cost of checking, not of refusing); requests come
# from CLIENTS addresses through a trusted proxy (X-Forwarded-For), so Redis holds that
# many buckets. Prints events/s, Redis CPU and server CPU per event, medians of ROUNDS,
# and each mode's ratio to "off" in the same run.
#
#   bench/rate_limit_cost.sh
#   ROUNDS=5 SECONDS_PER_RUN=8 CONNECTIONS=64 CLIENTS=10000
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/stack.sh"
ROUNDS=${ROUNDS:-5}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-8}
CONNECTIONS=${CONNECTIONS:-64}
CLIENTS=${CLIENTS:-10000}

"$BENCH_ROOT/tools/dev.sh" setup >/dev/null
eval "$("$BENCH_ROOT/tools/dev.sh" env)"
STACK_ROOT=$BENCH_ROOT
trap stack_stop EXIT

redis_cpu() {
  redis-cli -p "$STACK_REDIS_PORT" info cpu |
    awk -F: '/^used_cpu_(user|sys):/ { s += $2 } END { printf "%.3f", s }'
}
stored() { _stack_stored; }
# Script calls (EVALSHA: ingest groups, and rate limit checks when in Redis) so far.
script_calls() {
  redis-cli -p "$STACK_REDIS_PORT" info commandstats | awk -F'[:,=]' '/^cmdstat_evalsha:/ { print $3 }'
}

# One measurement: prints "events/s redis_us_per_event server_us_per_event".
measure() {
  local redis0 server0 events0 redis1 server1 events1
  redis0=$(redis_cpu); server0=$(cpu_seconds "$STACK_PID"); events0=$(stored)
  CLIENTS=$CLIENTS wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" -s "$BENCH_ROOT/bench/lib/events.lua" "$STACK_URL" \
    > "$BENCH_OUT/wrk.last" 2>&1
  redis1=$(redis_cpu); server1=$(cpu_seconds "$STACK_PID"); events1=$(stored)
  if grep -q Non-2xx "$BENCH_OUT/wrk.last"; then echo "some answers were not 2xx:" >&2; cat "$BENCH_OUT/wrk.last" >&2; fi
  awk -v n=$((events1 - ${events0:-0})) -v s="$SECONDS_PER_RUN" -v r0="$redis0" -v r1="$redis1" \
      -v c0="$server0" -v c1="$server1" \
      'BEGIN { if (n <= 0) { print "0 nan nan"; exit } printf "%.0f %.2f %.2f\n", n / s, (r1 - r0) * 1e6 / n, (c1 - c0) * 1e6 / n }'
}

modes=(off memory redis)
flags_of() {
  case $1 in
    off) echo "--trusted-proxies=127.0.0.1" ;;
    memory) echo "--trusted-proxies=127.0.0.1 --rate-limit-ip=1000000/1000000 --rate-limit-store=memory" ;;
    redis) echo "--trusted-proxies=127.0.0.1 --rate-limit-ip=1000000/1000000 --rate-limit-store=redis" ;;
  esac
}
out=$BENCH_OUT/rate_limit_cost.txt
: > "$out"
for round in $(seq 1 "$ROUNDS"); do
  for mode in "${modes[@]}"; do
    # shellcheck disable=SC2046
    stack_start "$BENCH_OUT/rate_limit_cost_server.log" --flusher=false --backlog-high-water=0 $(flags_of "$mode")
    read -r rate redis_us server_us < <(measure)
    calls=$(awk -v c="$(script_calls)" -v n="$(stored)" 'BEGIN { printf "%.2f", c / n }')
    echo "$mode single $rate $redis_us $server_us $calls" >> "$out"
    printf 'round %d %-7s %8s events/s  Redis %6s us/event  server %6s us/event  %s script calls/event\n' \
      "$round" "$mode" "$rate" "$redis_us" "$server_us" "$calls"
    stack_stop
  done
done

col() { median_where "$out" "$1" single "$2"; }
echo "== rate limit cost on single events: medians of $ROUNDS rounds x ${SECONDS_PER_RUN}s, $CONNECTIONS connections, $CLIENTS clients, $(nproc) cores shared with wrk =="
printf '%-8s %10s %16s %17s %14s %12s\n' limits "events/s" "Redis us/event" "server us/event" "calls/event" "events/s vs off"
for mode in "${modes[@]}"; do
  printf '%-8s %10.0f %16.2f %17.2f %14.2f %12s\n' "$mode" "$(col "$mode" 3)" "$(col "$mode" 4)" "$(col "$mode" 5)" \
    "$(col "$mode" 6)" \
    "$(awk -v a="$(col "$mode" 3)" -v b="$(col off 3)" 'BEGIN { printf "%.3f", a / b }')"
done
