#!/usr/bin/env bash
# What --redis-wait-replicas=1 costs ingestion on a Redis Cluster (3 masters, 3 replicas,
# started here by tools/dev.sh cluster-start in a temporary folder): events/s and CPU time
# per stored event (the server's, and all six Redis nodes' together, replicas included),
# single events and batches, WAIT off and on alternating round by round, the same binary
# and requests; prints the medians and the ratios on / off.
#
#   bench/wait_cost.sh
#   ROUNDS=3 SECONDS_PER_RUN=8 CONNECTIONS=64 BATCH=50 SHARDS=6 bench/wait_cost.sh
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/stack.sh"
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-8}
CONNECTIONS=${CONNECTIONS:-64}
BATCH=${BATCH:-50}
SHARDS=${SHARDS:-6}

eval "$("$BENCH_ROOT/tools/dev.sh" env)"
export TRACKER_SERVER_BIN=${TRACKER_SERVER_BIN:-$BENCH_ROOT/build/release/event-tracker}
CLUSTER_DATA=$(mktemp -d /tmp/event-tracker-wait.XXXXXX)
CLUSTER_BASE=$(/usr/bin/python3 -c 'import random; print(random.randrange(20000, 30000, 10))')
cluster_dev() { TRACKER_DATA_DIR="$CLUSTER_DATA" TRACKER_REDIS_CLUSTER_BASE_PORT="$CLUSTER_BASE" "$BENCH_ROOT/tools/dev.sh" "$@"; }
NODES=$(seq "$CLUSTER_BASE" $((CLUSTER_BASE + 5)))
SERVER_PID=""
cleanup() {
  set +eu  # every step runs, whatever failed before or here
  [[ -n ${SERVER_PID:-} ]] && { kill -TERM "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; }
  cluster_dev cluster-stop >/dev/null 2>&1 || true
  [[ -n ${STACK_DB:-} ]] && psql -X -q "$(_stack_dsn postgres)" -c "drop database if exists $STACK_DB with (force)" >/dev/null 2>&1
  rm -rf "$CLUSTER_DATA"
}
trap cleanup EXIT
cluster_dev cluster-start >"$BENCH_OUT/wait_cost_cluster.log" 2>&1 || { echo "could not start a cluster from port $CLUSTER_BASE; see $BENCH_OUT/wait_cost_cluster.log" >&2; exit 1; }
SEEDS=$(eval "$(cluster_dev env | grep '^export TRACKER_REDIS_CLUSTER=')"; echo "$TRACKER_REDIS_CLUSTER")
STACK_DB="et_wait_$(date +%Y%m%d_%H%M%S)_$$"
STACK_PG_DSN=$(_stack_dsn "$STACK_DB")
psql -X -q "$(_stack_dsn postgres)" -c "create database $STACK_DB" >/dev/null
TRACKER_PG_DSN="$STACK_PG_DSN" "$BENCH_ROOT/tools/dev.sh" migrate >/dev/null 2>&1
stack_keys

redis_cpu() {  # every node's, replicas included: WAIT makes them answer REPLCONF GETACK
  for port in $NODES; do redis-cli -p "$port" info cpu; done |
    awk -F: '/^used_cpu_(user|sys):/ { s += $2 } END { printf "%.3f", s }'
}
stored() {  # the backlog counters of every shard (no flusher runs), read on their masters
  for port in $NODES; do
    redis-cli -p "$port" role | head -1 | grep -q master || continue
    redis-cli -p "$port" --scan --pattern 'et:{*}:backlog' | while read -r key; do redis-cli -p "$port" get "$key"; done
  done | awk '{ s += $1 } END { print s + 0 }'
}

out="$BENCH_OUT/wait_cost.txt"
: > "$out"
for round in $(seq 1 "$ROUNDS"); do
  for batch in 0 "$BATCH"; do
    for replicas in 0 1; do
      port=$(free_port)
      "$TRACKER_SERVER_BIN" --listen=127.0.0.1 --port="$port" --redis-cluster="$SEEDS" --redis-shards="$SHARDS" \
        --redis-wait-replicas="$replicas" --pg-dsn="$STACK_PG_DSN" --flusher=false --backlog-high-water=0 \
        --log-level=warn > "$BENCH_OUT/wait_cost_server.log" 2>&1 &
      SERVER_PID=$!
      for _ in $(seq 1 150); do curl -fs -o /dev/null "http://127.0.0.1:$port/health/ready" && break; sleep 0.1; done
      r0=$(redis_cpu); c0=$(cpu_seconds "$SERVER_PID"); e0=$(stored)
      BATCH=$batch wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" -s "$BENCH_ROOT/bench/lib/events.lua" \
        "http://127.0.0.1:$port" > "$BENCH_OUT/wrk.last" 2>&1
      r1=$(redis_cpu); c1=$(cpu_seconds "$SERVER_PID"); e1=$(stored)
      kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
      read -r rate redis_us server_us < <(awk -v n=$((e1 - e0)) -v s="$SECONDS_PER_RUN" -v r0="$r0" -v r1="$r1" \
        -v c0="$c0" -v c1="$c1" 'BEGIN { if (n <= 0) { print "0 nan nan"; exit }
          printf "%.0f %.2f %.2f\n", n / s, (r1 - r0) * 1e6 / n, (c1 - c0) * 1e6 / n }')
      label=$(batch_label "$batch")
      refused=$(awk '/Non-2xx/ { print $5 }' "$BENCH_OUT/wrk.last"); refused=${refused:-0}
      echo "wait$replicas $label $rate $redis_us $server_us" >> "$out"
      printf 'round %d %-8s wait=%d %8s events/s  server %6s us/event  Redis (6 nodes) %6s us/event  non-2xx %s\n' \
        "$round" "$label" "$replicas" "$rate" "$server_us" "$redis_us" "$refused"
    done
  done
done

echo "== --redis-wait-replicas 0 vs 1 on a 3+3 cluster, $SHARDS shards: medians of $ROUNDS rounds x ${SECONDS_PER_RUN}s," \
     "$CONNECTIONS connections, $(nproc) cores shared with wrk and the 6 nodes, load average $(cut -d' ' -f1-3 /proc/loadavg) =="
printf '%-8s %-6s %10s %17s %17s\n' events wait "events/s" "server us/event" "Redis us/event"
for label in single "$(batch_label "$BATCH")"; do
  for replicas in 0 1; do
    printf '%-8s %-6s %10.0f %17.2f %17.2f\n' "$label" "$replicas" "$(median_where "$out" "wait$replicas" "$label" 3)" \
      "$(median_where "$out" "wait$replicas" "$label" 5)" "$(median_where "$out" "wait$replicas" "$label" 4)"
  done
  awk -v r1="$(median_where "$out" wait1 "$label" 3)" -v r0="$(median_where "$out" wait0 "$label" 3)" \
      -v s1="$(median_where "$out" wait1 "$label" 5)" -v s0="$(median_where "$out" wait0 "$label" 5)" \
      -v d1="$(median_where "$out" wait1 "$label" 4)" -v d0="$(median_where "$out" wait0 "$label" 4)" -v l="$label" \
      'BEGIN { printf "%s: events/s on / off = %.3f; server CPU/event on / off = %.3f; Redis CPU/event on / off = %.3f\n", l, r1 / r0, s1 / s0, d1 / d0 }'
done
