# shellcheck shell=bash
# A private stack for one load run: its own Redis (the project's configuration, through
# tools/dev.sh, in a temporary folder on a free loopback port), its own database in the
# development PostgreSQL cluster (created and migrated for the run, dropped afterwards),
# and the release server on another free loopback port with its flusher on.
#
# Private, because the flusher keeps one stream watermark and one lock per database: a
# second Redis flushed into the same database would have its entries skipped as replays,
# and other engineers' flushers would hold the lock. With its own Redis and database, the
# run's backlog, rows and counts are its own and can be checked exactly.
#
#   stack_start LOG [server flags...]   sets STACK_URL STACK_PORT STACK_PID STACK_REDIS_PORT
#                                       STACK_PG_DSN (the run's database) and exports the
#                                       run's API keys as TRACKER_WRITE_KEY, TRACKER_READ_KEY
#                                       and TRACKER_ADMIN_KEY (the clients read them there)
#   stack_stop                          SIGTERM to the server, stops the Redis, drops the
#                                       database (STACK_KEEP_DB=1 keeps it), removes the folder
#   stack_pending                       pendingPersistence from /api/statistics/summary
#   stack_ingest_cost BATCH SECONDS CONNECTIONS
#                                       wrk with bench/lib/events.lua (BATCH 0: single events)
#                                       for SECONDS; prints "events/s redis_us server_us", the
#                                       Redis and server CPU time per stored event
STACK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
STACK_PID=""
STACK_DIR=""
STACK_DB=""

# TRACKER_PG_DSN with another database name.
_stack_dsn() {
  local dsn=${TRACKER_PG_DSN:?TRACKER_PG_DSN is not set} db=$1
  if [[ $dsn =~ dbname=[^[:space:]]+ ]]; then echo "${dsn/"${BASH_REMATCH[0]}"/dbname=$db}"; else echo "$dsn dbname=$db"; fi
}

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

_stack_dev() { TRACKER_DATA_DIR="$STACK_DIR" TRACKER_REDIS_PORT="$STACK_REDIS_PORT" "$STACK_ROOT/tools/dev.sh" "$@"; }

stack_start() {
  local log=$1; shift
  [[ -x ${TRACKER_SERVER_BIN:-} ]] || { echo "server binary not found: ${TRACKER_SERVER_BIN:-unset}" >&2; return 1; }
  STACK_DIR=$(mktemp -d /tmp/event-tracker-load.XXXXXX)
  STACK_REDIS_PORT=$(free_port)
  _stack_dev redis-start >/dev/null 2>&1 || { echo "could not start a Redis on port $STACK_REDIS_PORT" >&2; return 1; }
  STACK_DB="et_load_$(date +%Y%m%d_%H%M%S)_$$"
  STACK_PG_DSN=$(_stack_dsn "$STACK_DB")
  psql -X -q "$(_stack_dsn postgres)" -c "create database $STACK_DB" >/dev/null ||
    { echo "could not create database $STACK_DB" >&2; STACK_DB=""; return 1; }
  TRACKER_PG_DSN="$STACK_PG_DSN" _stack_dev migrate >/dev/null 2>&1 ||
    { echo "migrations failed on $STACK_DB" >&2; return 1; }
  stack_keys || return 1
  STACK_PORT=$(free_port)
  STACK_URL="http://127.0.0.1:$STACK_PORT"
  # Without TRACKER_REDIS_CLUSTER (tools/dev.sh env exports it while the development
  # cluster runs): the server would take it over --redis-port and write into that cluster.
  env -u TRACKER_REDIS_CLUSTER "$TRACKER_SERVER_BIN" --listen=127.0.0.1 --port="$STACK_PORT" --redis-host=127.0.0.1 \
    --redis-port="$STACK_REDIS_PORT" --pg-dsn="$STACK_PG_DSN" --log-level=warn "$@" > "$log" 2>&1 &
  STACK_PID=$!
  for _ in $(seq 1 150); do
    curl -fs -o /dev/null "$STACK_URL/health/ready" && return 0
    kill -0 "$STACK_PID" 2>/dev/null || { echo "server exited at start; see $log" >&2; tail -5 "$log" >&2; return 1; }
    sleep 0.1
  done
  echo "server not ready within 15 s; see $log" >&2
  return 1
}

# A write, a read and an admin key in the run's database (event-tracker keys create, by
# STACK_KEYS_BIN when the server under test is a build that has no keys command).
stack_keys() {
  local scope key
  for scope in write read admin; do
    key=$(TRACKER_PG_DSN="$STACK_PG_DSN" "${STACK_KEYS_BIN:-$TRACKER_SERVER_BIN}" keys create --scope="$scope" --name="load-$scope" |
      tail -n 1) || { echo "could not create the run's $scope key" >&2; return 1; }
    export "TRACKER_${scope^^}_KEY=$key"
  done
}

stack_stop() {
  if [[ -n $STACK_PID ]] && kill -0 "$STACK_PID" 2>/dev/null; then
    kill -TERM "$STACK_PID" 2>/dev/null
    for _ in $(seq 1 150); do kill -0 "$STACK_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$STACK_PID" 2>/dev/null || true
    wait "$STACK_PID" 2>/dev/null || true
  fi
  STACK_PID=""
  if [[ -n $STACK_DB ]]; then
    if [[ ${STACK_KEEP_DB:-0} == 1 ]]; then
      echo "kept database $STACK_DB ($STACK_PG_DSN)" >&2
    else
      psql -X -q "$(_stack_dsn postgres)" -c "drop database if exists $STACK_DB with (force)" >/dev/null 2>&1 || true
    fi
    STACK_DB=""
  fi
  if [[ -n $STACK_DIR ]]; then
    _stack_dev redis-stop >/dev/null 2>&1 || true
    rm -rf "$STACK_DIR"
    STACK_DIR=""
  fi
}

stack_pending() {
  curl -fs ${TRACKER_READ_KEY:+-H "X-Api-Key: $TRACKER_READ_KEY"} "$STACK_URL/api/statistics/summary" | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["pendingPersistence"])'
}

_stack_redis_cpu() {
  redis-cli -p "$STACK_REDIS_PORT" info cpu |
    awk -F: '/^used_cpu_(user|sys):/ { s += $2 } END { printf "%.3f", s }'
}
# Events stored and not yet flushed: the backlog counters of all Redis shards.
_stack_stored() {
  redis-cli -p "$STACK_REDIS_PORT" --scan --pattern 'et:{*}:backlog' |
    while read -r key; do redis-cli -p "$STACK_REDIS_PORT" get "$key"; done | awk '{ s += $1 } END { print s + 0 }'
}
_stack_cpu_seconds() { awk '{ printf "%.3f", ($14 + $15) / 100 }' "/proc/$1/stat"; }

stack_ingest_cost() {
  local batch=$1 seconds=$2 connections=$3 redis0 server0 events0 redis1 server1 events1
  redis0=$(_stack_redis_cpu); server0=$(_stack_cpu_seconds "$STACK_PID"); events0=$(_stack_stored)
  BATCH=$batch wrk -t2 -c"$connections" -d"${seconds}s" -s "$STACK_ROOT/bench/lib/events.lua" "$STACK_URL" \
    > "${BENCH_OUT:-/tmp}/wrk.last" 2>&1
  redis1=$(_stack_redis_cpu); server1=$(_stack_cpu_seconds "$STACK_PID"); events1=$(_stack_stored)
  awk -v n=$((events1 - ${events0:-0})) -v s="$seconds" -v r0="$redis0" -v r1="$redis1" \
      -v c0="$server0" -v c1="$server1" \
      'BEGIN { if (n <= 0) { print "0 nan nan"; exit } printf "%.0f %.2f %.2f\n", n / s, (r1 - r0) * 1e6 / n, (c1 - c0) * 1e6 / n }'
}

# PostgreSQL's CPU seconds so far (the development cluster, TRACKER_DATA_DIR): the
# postmaster's own time, its living children's and the ended ones' (cutime + cstime), so
# backends, autovacuum, the WAL writer and the checkpointer all count.
stack_pg_cpu_seconds() {
  local postmaster
  postmaster=$(head -1 "$TRACKER_DATA_DIR/pg/postmaster.pid")
  {
    awk '{ print ($14 + $15 + $16 + $17) / 100 }' "/proc/$postmaster/stat"
    for child in $(ps -o pid= --ppid "$postmaster"); do
      awk '{ print ($14 + $15) / 100 }' "/proc/$child/stat" 2>/dev/null || true
    done
  } | awk '{ s += $1 } END { printf "%.3f", s }'
}
