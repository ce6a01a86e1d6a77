#!/usr/bin/env bash
# Ingestion on a Redis Cluster of 1 master against one of 3 masters: events/s and CPU per
# stored event (the server's, and the sum of every redis-server node's), single events and
# batches of 100 through wrk (bench/lib/events.lua), the same --redis-shards in both, the
# two clusters alternating round by round; medians, and the ratios 3 masters / 1 master.
#
#   bench/cluster_scale.sh        ROUNDS=3 SECONDS_PER_RUN=8 CONNECTIONS=64 SHARDS=6
#                                 REPLICAS=0 (replicas per master; they add their CPU to
#                                 the Redis column) SKIP_SETUP=1
#
# Both clusters run side by side for the whole run (from TRACKER_REDIS_CLUSTER_BASE_PORT:
# 3 masters at base.., 1 master at base + 20..; tools/lib/services.sh creates them under a
# temporary folder) and are emptied (FLUSHALL) before every server start. The server runs
# with its flusher off in a database of its own (only its API keys are read there), so
# what is measured is ingestion alone. Stored events are counted from the shards' backlog
# counters (et:{<shard>}:backlog) on every master.
#
# On this machine wrk, the server and all the Redis nodes share 2 cores: 3 masters cannot
# go faster than 1 here, they can only show what spreading costs (more nodes, one script
# call per shard touched, fewer events per call). A gain needs a core per master and the
# load generator on another machine; see docs/SCALING.md.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/stack.sh"
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-8}
CONNECTIONS=${CONNECTIONS:-64}
SHARDS=${SHARDS:-6}
REPLICAS=${REPLICAS:-0}

[[ -n ${SKIP_SETUP:-} ]] || "$BENCH_ROOT/tools/dev.sh" setup >/dev/null
eval "$("$BENCH_ROOT/tools/dev.sh" env)"
STACK_ROOT=$BENCH_ROOT
BASE=${TRACKER_REDIS_CLUSTER_BASE_PORT:-47201}
declare -A CLUSTER_BASE=([3]=$BASE [1]=$((BASE + 20)))
CLUSTER_DIR_ROOT=$(mktemp -d /tmp/event-tracker-cluster-scale.XXXXXX)
OUT="$BENCH_OUT/cluster_scale"
mkdir -p "$OUT"
SERVER_PID=""
DB=""

cluster_dev() {  # MASTERS COMMAND: tools/dev.sh on that cluster
  TRACKER_DATA_DIR="$CLUSTER_DIR_ROOT/m$1" TRACKER_REDIS_CLUSTER_BASE_PORT=${CLUSTER_BASE[$1]} \
    TRACKER_REDIS_CLUSTER_MASTERS=$1 TRACKER_REDIS_CLUSTER_REPLICAS=$REPLICAS "$BENCH_ROOT/tools/dev.sh" "$2"
}
cluster_ports() { seq "${CLUSTER_BASE[$1]}" $((CLUSTER_BASE[$1] + $1 * (1 + REPLICAS) - 1)); }
masters_of() { redis-cli -p "${CLUSTER_BASE[$1]}" cluster nodes | awk '$3 ~ /master/ { split($2, a, "[:@]"); print a[2] }'; }

stop_server() {
  [[ -n $SERVER_PID ]] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}
cleanup() {
  stop_server
  cluster_dev 3 cluster-stop >/dev/null 2>&1 || true
  cluster_dev 1 cluster-stop >/dev/null 2>&1 || true
  rm -rf "$CLUSTER_DIR_ROOT"
  [[ -z $DB ]] || psql -X -q "$(_stack_dsn postgres)" -c "drop database if exists $DB with (force)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

DB="et_cluster_scale_$(date +%Y%m%d_%H%M%S)_$$"
STACK_PG_DSN=$(_stack_dsn "$DB")
psql -X -q "$(_stack_dsn postgres)" -c "create database $DB" >/dev/null
TRACKER_PG_DSN="$STACK_PG_DSN" "$BENCH_ROOT/tools/dev.sh" migrate >/dev/null 2>&1
stack_keys
cluster_dev 3 cluster-start 2>/dev/null
cluster_dev 1 cluster-start 2>/dev/null

start_server() {  # MASTERS
  local seeds port
  for port in $(masters_of "$1"); do redis-cli -p "$port" flushall >/dev/null; done
  seeds=$(masters_of "$1" | sed 's/^/127.0.0.1:/' | paste -sd, -)
  port=$(free_port)
  STACK_URL="http://127.0.0.1:$port"
  "$TRACKER_SERVER_BIN" --listen=127.0.0.1 --port="$port" --redis-cluster="$seeds" --redis-shards="$SHARDS" \
    --pg-dsn="$STACK_PG_DSN" --log-level=warn --flusher=false --backlog-high-water=0 > "$OUT/server-m$1.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 150); do
    curl -fs -o /dev/null "$STACK_URL/health/ready" && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited at start; see $OUT/server-m$1.log" >&2; return 1; }
    sleep 0.1
  done
  echo "server not ready within 15 s" >&2; return 1
}

redis_cpu() {  # MASTERS: CPU seconds of all the cluster's nodes
  local port
  for port in $(cluster_ports "$1"); do redis-cli -p "$port" info cpu; done |
    awk -F: '/^used_cpu_(user|sys):/ { s += $2 } END { printf "%.3f", s }'
}
stored() {  # MASTERS: events in the shards' backlogs
  local port
  for port in $(masters_of "$1"); do
    redis-cli -p "$port" --scan --pattern 'et:{*}:backlog' |
      while read -r key; do redis-cli -p "$port" get "$key"; done
  done | awk '{ s += $1 } END { print s + 0 }'
}

# MASTERS BATCH -> "events/s redis_us server_us" per stored event
measure() {
  local r0 c0 n0 r1 c1 n1
  r0=$(redis_cpu "$1"); c0=$(cpu_seconds "$SERVER_PID"); n0=$(stored "$1")
  BATCH=$2 wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" -s "$BENCH_ROOT/bench/lib/events.lua" "$STACK_URL" \
    > "$OUT/wrk-m$1-b$2.last" 2>&1
  r1=$(redis_cpu "$1"); c1=$(cpu_seconds "$SERVER_PID"); n1=$(stored "$1")
  awk -v n=$((n1 - n0)) -v s="$SECONDS_PER_RUN" -v r0="$r0" -v r1="$r1" -v c0="$c0" -v c1="$c1" \
    'BEGIN { if (n <= 0) { print "0 nan nan"; exit }
             printf "%.0f %.2f %.2f\n", n / s, (r1 - r0) * 1e6 / n, (c1 - c0) * 1e6 / n }'
}

# Where the shards' hash tags land on the 3 masters (a shard is one slot, so 6 shards
# need not split 2/2/2).
shard_map=""
for ((s = 0; s < SHARDS; s++)); do
  slot=$(redis-cli -p "${CLUSTER_BASE[3]}" cluster keyslot "{$s}")
  owner=$(redis-cli -p "${CLUSTER_BASE[3]}" cluster nodes |
    awk -v slot="$slot" '$3 ~ /master/ { for (i = 9; i <= NF; i++) { split($i, r, "-"); if (r[2] == "") r[2] = r[1]
      if (slot >= r[1] && slot <= r[2]) { split($2, a, "[:@]"); print a[2] } } }')
  shard_map+="{$s}:slot $slot -> $owner; "
done
echo "3-master cluster: $shard_map"

load_before=$(cut -d" " -f1-3 /proc/loadavg)
: > "$OUT/rounds.txt"
for round in $(seq 1 "$ROUNDS"); do
  for masters in 1 3; do
    start_server "$masters"
    for batch in 0 100; do
      read -r rate redis_us server_us < <(measure "$masters" "$batch")
      echo "m$masters $batch $rate $redis_us $server_us" >> "$OUT/rounds.txt"
      printf 'round %d %d master(s) %-8s %8s events/s  Redis %6s us/event  server %6s us/event\n' "$round" "$masters" \
        "$(batch_label "$batch")" "$rate" "$redis_us" "$server_us"
    done
    stop_server
  done
done

col() { median_where "$OUT/rounds.txt" "$@"; }
{
  echo "== ingestion on a Redis Cluster, 1 master vs 3 ($REPLICAS replicas each), --redis-shards=$SHARDS: medians of $ROUNDS rounds x ${SECONDS_PER_RUN}s, $CONNECTIONS connections, $(nproc) cores shared with wrk =="
  echo "load average (1, 5, 15 min) before: $load_before, after: $(cut -d" " -f1-3 /proc/loadavg)"
  printf '%-9s %-8s %10s %16s %17s %16s\n' masters events "events/s" "Redis us/event" "server us/event" "total us/event"
  for m in 1 3; do
    for batch in 0 100; do
      printf '%-9s %-8s %10.0f %16.2f %17.2f %16.2f\n' "$m" "$(batch_label "$batch")" "$(col "m$m" "$batch" 3)" \
        "$(col "m$m" "$batch" 4)" "$(col "m$m" "$batch" 5)" "$(awk -v a="$(col "m$m" "$batch" 4)" -v b="$(col "m$m" "$batch" 5)" 'BEGIN { print a + b }')"
    done
  done
  for batch in 0 100; do
    awk -v e3="$(col m3 "$batch" 3)" -v e1="$(col m1 "$batch" 3)" -v r3="$(col m3 "$batch" 4)" -v r1="$(col m1 "$batch" 4)" \
        -v s3="$(col m3 "$batch" 5)" -v s1="$(col m1 "$batch" 5)" -v label="$(batch_label "$batch")" \
        'BEGIN { printf "%-8s 3 masters / 1 master: events/s %.2fx, Redis CPU per event %.2fx, server CPU per event %.2fx, total %.2fx\n",
                 label, e3 / e1, r3 / r1, s3 / s1, (r3 + s3) / (r1 + s1) }'
  done
} | tee "$OUT/summary.txt"
