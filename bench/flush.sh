#!/usr/bin/env bash
# Redis -> PostgreSQL: how long until a million events sent through the HTTP API are all in
# PostgreSQL with exact counters, and how the flusher's write rate compares with one plain
# COPY of the same rows (this machine's ceiling).
#
#   bench/flush.sh                 EVENTS=1000000 BATCH=100 CONNECTIONS=16 DRAIN=1
#
# Everything runs on a private stack (bench/lib/stack.sh: its own Redis, its own database
# in the development cluster, the release server with its flusher on, default flush
# settings): the flusher holds one lock per database, so in the shared database another
# engineer's server could be the one flushing.
#
#   1. visible   bench/lib/send_batches.py sends EVENTS events to POST /api/events/batch
#                (BATCH per request, CONNECTIONS keep-alive connections), marked by the
#                run's sessionId prefix and components of their own. The clock starts at
#                the first request and stops when a check finds all of:
#                  - count(*) of `events` with the run's prefix = EVENTS;
#                  - every event_totals row of the run's query shapes equal to the count
#                    the sender computed for it (about 80,000 shapes), none missing.
#                The check runs every 0.2 s once the server's
#                tracker_flush_events_stored_total has reached EVENTS, so the time is an
#                upper bound (by at most one check). /metrics is sampled every 0.1 s
#                throughout for the flusher's rate while the events arrive.
#   2. plain COPY  the run's rows (copy (select ...) to stdout, the COPY text format the
#                flusher sends, stream_id included) are copied by one `COPY ... FROM STDIN`
#                into an empty table partitioned the same way (`like events including
#                all`, so the same primary key and indexes, plus daily partitions for the
#                rows' days), timed around psql.
#   3. drain     (DRAIN=1) the flusher's own rate with work waiting: another EVENTS events
#                are sent to a server started with --flusher=false, then a server with its
#                flusher on is started and the time from its first stored event to the
#                last is measured from /metrics samples (every 0.1 s).
#
# Results: printed, and bench/out/flush/ (samples, server logs, summary.txt).
# SKIP_SETUP=1 skips tools/dev.sh setup. STACK_KEEP_DB=1 keeps the run's database.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
# shellcheck source=lib/stack.sh
source "$(dirname "$0")/lib/stack.sh"

EVENTS=${EVENTS:-1000000}
BATCH=${BATCH:-100}
CONNECTIONS=${CONNECTIONS:-16}
DRAIN=${DRAIN:-1}
MAX_WAIT_S=${MAX_WAIT_S:-600}   # give up waiting for visibility (or the drain) after this
OUT="$BENCH_OUT/flush"
mkdir -p "$OUT"

if [[ ${SKIP_SETUP:-0} != 1 ]]; then "$BENCH_ROOT/tools/dev.sh" setup >/dev/null; fi
eval "$("$BENCH_ROOT/tools/dev.sh" env)"

TMP=$(mktemp -d /tmp/event-tracker-flush.XXXXXX)
SAMPLER=""
cleanup() {
  [[ -n $SAMPLER ]] && { kill "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true; }
  stack_stop
  rm -rf "$TMP"
}
trap cleanup EXIT

stack_start "$OUT/server-visible.log"
load_before=$(cut -d" " -f1-3 /proc/loadavg)   # other work on the machine shows here
RUN="flush-$(date -u +%Y%m%d%H%M%S)-$$"
COMPONENT_BASE=$(( 7000000 + (RANDOM % 1000) * 1000 ))   # 100 components for phase 1, 100 for phase 3
psql_run() { psql "$STACK_PG_DSN" -X -q -v ON_ERROR_STOP=1 "$@"; }
now() { date +%s.%N; }
echo "private stack: server $STACK_URL, Redis port $STACK_REDIS_PORT, database ${STACK_PG_DSN##*dbname=}"
echo "run $RUN: $EVENTS events in batches of $BATCH over $CONNECTIONS connections, components from $COMPONENT_BASE"

# sample_metrics URL FILE: "unix_time stored_total backlog" every 0.1 s (bounded).
sample_metrics() {
  local url=$1 file=$2 t line
  for ((i = 0; i < MAX_WAIT_S * 20; i++)); do
    t=$(now)
    line=$(curl -fs -m 1 "$url/metrics" | awk '
      /^tracker_flush_events_stored_total / { s = $2 } /^tracker_backlog_events / { b = $2 }
      END { printf "%d %d", s, b }') || line=""
    [[ -n $line ]] && echo "$t $line" >> "$file"
    sleep 0.1
  done
}
start_sampler() { sample_metrics "$1" "$2" & SAMPLER=$!; }
stop_sampler() { kill "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true; SAMPLER=""; }

# rate_between FILE FROM TO -> "events/s seconds", from the first sample with stored > FROM
# to the first with stored >= TO (when one flush did it all: from the last sample before it).
rate_between() {
  awk -v lo="$2" -v hi="$3" '
    $2 <= lo && !t0 { tz = $1 }
    $2 > lo && !t0 { t0 = $1; s0 = $2 }
    $2 >= hi && !t1 { t1 = $1; s1 = $2 }
    END {
      if (t0 && t1 && t1 > t0) printf "%.0f %.2f\n", (s1 - s0) / (t1 - t0), t1 - t0
      else if (tz && t1 > tz) printf "%.0f %.2f\n", (s1 - lo) / (t1 - tz), t1 - tz
      else print "nan nan" }' "$1"
}
peak_rate() {  # FILE -> the highest rate over any 1-second window of samples
  awk '{ t[NR] = $1; s[NR] = $2 }
    END { best = 0; j = 1
      for (i = 1; i <= NR; i++) { while (t[i] - t[j] > 1.0) j++
        if (t[i] - t[j] >= 0.9) { r = (s[i] - s[j]) / (t[i] - t[j]); if (r > best) best = r } }
      printf "%.0f\n", best }' "$1"
}
stored_now() {  # always one number (0 when the server does not answer)
  curl -fs -m 1 "$STACK_URL/metrics" 2>/dev/null | awk '/^tracker_flush_events_stored_total / { s = $2 } END { print s + 0 }' || true
}

# --- 1. visible ---------------------------------------------------------------------------
: > "$OUT/samples-visible.txt"
start_sampler "$STACK_URL" "$OUT/samples-visible.txt"
/usr/bin/python3 "$BENCH_ROOT/bench/lib/send_batches.py" --url "$STACK_URL" --events "$EVENTS" --batch "$BATCH" \
  --connections "$CONNECTIONS" --session-prefix "$RUN-" --component-base "$COMPONENT_BASE" \
  --expected "$TMP/expected.tsv" > "$TMP/send.json"
read -r started ended accepted failed < <(/usr/bin/python3 -c '
import json, sys; r = json.load(open(sys.argv[1])); print(r["started"], r["ended"], r["accepted"], r["failed_requests"])' "$TMP/send.json")
send_s=$(awk -v a="$started" -v b="$ended" 'BEGIN { printf "%.2f", b - a }')
echo "sent in ${send_s} s: accepted $accepted, failed requests $failed"
if [[ $accepted != "$EVENTS" ]]; then
  echo "the server did not accept every event: $(cat "$TMP/send.json")" >&2
  exit 1
fi

psql_run -c "create table bench_expected (event_type text, component_id bigint, post_id bigint, keyword text, count bigint,
             primary key (event_type, component_id, post_id, keyword))"
psql_run -c "\\copy bench_expected from '$TMP/expected.tsv'"
comp_lo=$COMPONENT_BASE; comp_hi=$((COMPONENT_BASE + 99))
# Shapes whose count differs from what was sent (missing rows included), and rows of the
# run's components that should not exist.
totals_check="select (select count(*) from bench_expected x left join event_totals t using (event_type, component_id, post_id, keyword)
                      where t.count is distinct from x.count)
                   + (select count(*) from event_totals t where t.component_id between $comp_lo and $comp_hi
                      and not exists (select 1 from bench_expected x where (x.event_type, x.component_id, x.post_id, x.keyword)
                                                                         = (t.event_type, t.component_id, t.post_id, t.keyword)))"
visible_s=""
deadline=$(awk -v s="$started" -v w="$MAX_WAIT_S" 'BEGIN { printf "%d", s + w }')
for ((i = 0; i < MAX_WAIT_S * 5; i++)); do
  if (($(date +%s) > deadline)); then break; fi
  if (($(stored_now) >= EVENTS)); then
    wrong=$(psql_run -At -c "$totals_check")
    if [[ $wrong == 0 ]]; then
      rows=$(psql_run -At -c "select count(*) from events where session_id like '$RUN-%'")
      if [[ $rows == "$EVENTS" ]]; then
        visible_s=$(awk -v a="$started" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
        break
      fi
    fi
  fi
  sleep 0.2
done
stop_sampler
if [[ -z $visible_s ]]; then
  echo "not all visible and exact within $MAX_WAIT_S s: stored $(stored_now), totals off by $(psql_run -At -c "$totals_check") shapes" >&2
  exit 1
fi
shapes=$(wc -l < "$TMP/expected.tsv")
read -r arrive_rate arrive_s < <(rate_between "$OUT/samples-visible.txt" 0 "$EVENTS")
arrive_peak=$(peak_rate "$OUT/samples-visible.txt")
max_backlog=$(awk '$3 > m { m = $3 } END { print m + 0 }' "$OUT/samples-visible.txt")
echo "all $EVENTS in events and all $shapes event_totals shapes exact ${visible_s} s after the first request"
echo "flusher while the events arrived: ${arrive_rate} events/s mean over ${arrive_s} s, 1-s peak ${arrive_peak}/s, backlog at most ${max_backlog}"

# --- 2. plain COPY ------------------------------------------------------------------------
columns="id, event_type, user_id, session_id, component_id, element_id, post_id, keyword, metadata, client_time, server_time, stream_id"
psql_run -c "copy (select $columns from events where session_id like '$RUN-%') to stdout" > "$TMP/rows.copy"
copy_mb=$(du -m "$TMP/rows.copy" | cut -f1)
psql_run <<SQL
create table bench_copy (like events including all) partition by range (server_time);
do \$\$
declare d date;
begin
  for d in select distinct (server_time at time zone 'UTC')::date from events where session_id like '$RUN-%' loop
    execute format('create table %I partition of bench_copy for values from (%L) to (%L)',
                   'bench_copy_p' || to_char(d, 'YYYYMMDD'), d::timestamp at time zone 'UTC', (d + 1)::timestamp at time zone 'UTC');
  end loop;
end \$\$;
SQL
copy_started=$(now)
copied=$(psql_run -c "copy bench_copy ($columns) from stdin" < "$TMP/rows.copy" 2>&1 || true)
copy_ended=$(now)
copy_s=$(awk -v a="$copy_started" -v b="$copy_ended" 'BEGIN { printf "%.2f", b - a }')
copy_rows=$(psql_run -At -c "select count(*) from bench_copy")
[[ $copy_rows == "$EVENTS" ]] || { echo "plain COPY stored $copy_rows rows, not $EVENTS: $copied" >&2; exit 1; }
copy_rate=$(awk -v n="$EVENTS" -v s="$copy_s" 'BEGIN { printf "%.0f", n / s }')
psql_run -c "drop table bench_copy"
echo "plain COPY of the same $EVENTS rows (${copy_mb} MB of COPY text) into an empty partitioned copy of events: ${copy_s} s, ${copy_rate} rows/s"

# --- 3. drain -----------------------------------------------------------------------------
drain_rate="" drain_s=""
if [[ $DRAIN == 1 ]]; then
  restart_server() {  # LOG FLAGS...: replaces the stack's server with one started with FLAGS
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
    wait_http "$STACK_URL/health/ready"
  }
  restart_server "$OUT/server-fill.log" --flusher=false
  /usr/bin/python3 "$BENCH_ROOT/bench/lib/send_batches.py" --url "$STACK_URL" --events "$EVENTS" --batch "$BATCH" \
    --connections "$CONNECTIONS" --session-prefix "$RUN-drain-" --component-base "$((COMPONENT_BASE + 100))" \
    > "$TMP/send-drain.json"
  drain_accepted=$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["accepted"])' "$TMP/send-drain.json")
  [[ $drain_accepted == "$EVENTS" ]] || { echo "drain phase: accepted $drain_accepted of $EVENTS" >&2; exit 1; }
  echo "drain: $EVENTS events waiting in Redis; starting a server with its flusher on"
  : > "$OUT/samples-drain.txt"
  restart_server "$OUT/server-drain.log"
  start_sampler "$STACK_URL" "$OUT/samples-drain.txt"
  for ((i = 0; i < MAX_WAIT_S * 5; i++)); do
    (($(stored_now) >= EVENTS)) && break
    sleep 0.2
  done
  sleep 0.3   # one more sample after the last batch
  stop_sampler
  drain_rows=$(psql_run -At -c "select count(*) from events where session_id like '$RUN-drain-%'")
  [[ $drain_rows == "$EVENTS" ]] || { echo "drain phase: $drain_rows rows in events, not $EVENTS" >&2; exit 1; }
  read -r drain_rate drain_s < <(rate_between "$OUT/samples-drain.txt" 0 "$EVENTS")
  drain_peak=$(peak_rate "$OUT/samples-drain.txt")
  echo "drain: ${drain_rate} events/s from the first stored event to the last (${drain_s} s), 1-s peak ${drain_peak}/s"
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || a == "" || b == 0) print "nan"; else printf "%.2f", a / b }'; }
{
  echo "== flush benchmark: $EVENTS events, $(nproc) cores shared with the load generator and the databases =="
  echo "load average (1, 5, 15 min) before: $load_before, after: $(cut -d" " -f1-3 /proc/loadavg)"
  printf 'first request -> all in events, event_totals exact   %8.2f s   (target <= 60 s; sending took %s s, then %s s more)\n' \
    "$visible_s" "$send_s" "$(awk -v a="$visible_s" -v b="$send_s" 'BEGIN { printf "%.2f", a - b }')"
  printf 'plain COPY of the same rows, empty partitioned table %8.2f s   %8s rows/s\n' "$copy_s" "$copy_rate"
  printf 'flusher while events arrived (bounded by ingestion)  %8s events/s (%s x plain COPY)\n' "$arrive_rate" "$(ratio "$arrive_rate" "$copy_rate")"
  if [[ -n $drain_rate ]]; then
    printf 'flusher draining a %d-event backlog                 %8s events/s (%s x plain COPY; target >= 0.5)\n' \
      "$EVENTS" "$drain_rate" "$(ratio "$drain_rate" "$copy_rate")"
  fi
} | tee "$OUT/summary.txt"
