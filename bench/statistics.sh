#!/usr/bin/env bash
# Statistics API latency on a realistic data set, with ingestion running in the background.
#
#   bench/statistics.sh             generate the data set if needed, then measure
#   bench/statistics.sh --generate  only generate the data set
#   bench/statistics.sh --drop      remove the data set (and nothing else)
#
#   EVENTS=10000000 POSTS=2000000 (data set)  ROUNDS=3 SECONDS_PER_RUN=10 CONNECTIONS=64
#   SECONDS_SINGLE=5 SECONDS_OPEN=5 OPEN_RATE=500
#   INGEST_RATE=100 (batch requests/s) INGEST_BATCH=100  ENDPOINTS="count top-posts-1h ..."
#   STATS_DB=et_bench_statistics  SKIP_SETUP=1 skips tools/dev.sh setup
#
# Data set (bench/lib/statistics_dataset.sql, set-based SQL, no HTTP): EVENTS rows in
# `events` over the last 7 days (daily partitions), 2,000,000 posts with skewed popularity,
# and the event_stats / event_totals rows the flusher would have written for them. It lives
# in its own database (STATS_DB, created and migrated here) and is generated once: later
# runs find it and skip generation. Its events and counters are marked (components
# 9000001..9000200, sessionId 'bench-stats-') so --drop removes exactly them.
#
# Each run: a private Redis (bench/lib/stack.sh conventions) seeded from the data set with
# what ingestion would have left there for the last 169 hours -- the hourly rankings of
# posts (LIKE, PAGE_VIEW, CLICK) and keywords (their 1,000 best members each, as the ingest
# script keeps them, with the version bump that makes the server read them), and the
# daily unique-user HyperLogLogs --
# so top posts, keywords and unique users are read at the data set's size; the release
# server on STATS_DB with its flusher on; tools/loadgen sending INGEST_RATE batches of
# INGEST_BATCH events per second (10,000 events/s) in an open loop the whole time.
#
# Then for each endpoint, ROUNDS rounds of SECONDS_PER_RUN s of wrk (64 connections,
# bench/lib/statistics.lua rotating the request targets written to bench/out/statistics/):
#   count          GET /api/statistics for data-set keys: 70 % type+component+post, 15 %
#                  type+component, 15 % SEARCH+component+keyword (all time; componentId
#                  is required by the API, per-type totals are in the summary)
#   top-posts-W    GET /api/statistics/top-posts?eventType={LIKE,PAGE_VIEW,CLICK}&window=W
#   keywords-W     GET /api/statistics/keywords?window=W            (W = 1h, 24h, 7d)
#   series-24h     GET /api/statistics/series?interval=minute (the last 24 hours; type,
#                  type+component and type+component+post keys)
#   summary        GET /api/statistics/summary
#   unique-users   GET /api/statistics/unique-users for each type and each of the 7 days
#   nginx          the reference: nginx answering a fixed JSON body on a port of its own,
#                  measured the same way in the same conditions (ingestion included), so
#                  the latencies above can be read against what this machine gives an
#                  answer that costs nothing
# and then SECONDS_SINGLE s (default 5) over one connection: the time a request takes
# without queueing behind 63 others; then SECONDS_OPEN s (default 5) of tools/loadgen in an
# open loop, OPEN_RATE (default 500) requests/s spread over the same 64 connections and
# sent on schedule whether or not earlier answers came (latency from the scheduled time):
# many clients at a steady load instead of a saturation test. Before each run the script waits (at most 60 s) for
# the server to answer quickly again, so that work a run left queued in Redis is not
# charged to the next. Printed: the medians over the rounds of requests/s, p50, p99 and
# the share of failed requests (non-2xx answers, socket errors, timeouts; the latencies
# include them) at 64 connections, p50 / p99 at one, p50 / p99 / failed share of the open
# loop, and the events/s the background
# ingestion got acknowledged during the 64-connection run.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
# shellcheck source=lib/stack.sh
source "$(dirname "$0")/lib/stack.sh"

EVENTS=${EVENTS:-10000000}
POSTS=${POSTS:-2000000}
USERS=${USERS:-1000000}
KEYWORDS=${KEYWORDS:-5000}
COMPONENTS=200
COMPONENT_BASE=9000000
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
SECONDS_SINGLE=${SECONDS_SINGLE:-5}
SECONDS_OPEN=${SECONDS_OPEN:-5}
OPEN_RATE=${OPEN_RATE:-500}
CONNECTIONS=${CONNECTIONS:-64}
INGEST_RATE=${INGEST_RATE:-100}
INGEST_BATCH=${INGEST_BATCH:-100}
ENDPOINTS=${ENDPOINTS:-"nginx count series-24h summary unique-users top-posts-1h keywords-1h top-posts-24h keywords-24h top-posts-7d keywords-7d"}
STATS_DB=${STATS_DB:-et_bench_statistics}
mode=measure
case ${1:-} in
  --generate) mode=generate ;;
  --drop) mode=drop ;;
  -h | --help) sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
esac

OUT="$BENCH_OUT/statistics"
mkdir -p "$OUT"
if [[ ${SKIP_SETUP:-0} != 1 ]]; then "$BENCH_ROOT/tools/dev.sh" setup >/dev/null; fi
eval "$("$BENCH_ROOT/tools/dev.sh" env)"
unset TRACKER_REDIS_CLUSTER  # this bench runs on one Redis, even while the local cluster is up
STATS_DSN=$(_stack_dsn "$STATS_DB")
psql_stats() { psql "$STATS_DSN" -X -q -v ON_ERROR_STOP=1 "$@"; }
comp_lo=$((COMPONENT_BASE + 1)); comp_hi=$((COMPONENT_BASE + COMPONENTS))

# --- the data set -------------------------------------------------------------------------
if [[ $(psql "$(_stack_dsn postgres)" -X -At -c "select count(*) from pg_database where datname = '$STATS_DB'") == 0 ]]; then
  [[ $mode == drop ]] && { echo "no database $STATS_DB: nothing to drop"; exit 0; }
  psql "$(_stack_dsn postgres)" -X -q -c "create database $STATS_DB"
fi
TRACKER_PG_DSN="$STATS_DSN" "$BENCH_ROOT/tools/dev.sh" migrate >/dev/null 2>&1 ||
  { echo "migrations failed on $STATS_DB" >&2; exit 1; }

if [[ $mode == drop ]]; then
  # The "any" rows (component 0) are shared with real traffic: the data set's part is
  # subtracted from them; every other generated row has a component of the data set.
  psql_stats <<SQL
\timing on
begin;
create temp table gone on commit drop as
select date_trunc('minute', server_time) as bucket, event_type, count(*) as n
from events where component_id between $comp_lo and $comp_hi and session_id like 'bench-stats-%'
group by 1, 2;
update event_stats s set count = s.count - g.n from gone g
where s.event_type = g.event_type and s.component_id = 0 and s.post_id = 0 and s.keyword = '' and s.bucket = g.bucket;
update event_totals t set count = t.count - g.n
from (select event_type, sum(n) as n from gone group by 1) g
where t.event_type = g.event_type and t.component_id = 0 and t.post_id = 0 and t.keyword = '';
delete from event_stats where component_id between $comp_lo and $comp_hi;
delete from event_totals where component_id between $comp_lo and $comp_hi;
delete from events where component_id between $comp_lo and $comp_hi and session_id like 'bench-stats-%';
drop table if exists bench_statistics_dataset;
commit;
SQL
  echo "data set removed from $STATS_DB (drop database $STATS_DB removes the database itself)"
  exit 0
fi

generated_s=$( { time -p psql_stats -v events="$EVENTS" -v posts="$POSTS" -v users="$USERS" -v keywords="$KEYWORDS" \
  -v components="$COMPONENTS" -v component_base="$COMPONENT_BASE" -v days=7 \
  -f "$BENCH_ROOT/bench/lib/statistics_dataset.sql" > "$OUT/generate.log" 2>&1; } 2>&1 | awk '/^real/ { print $2 }')
read -r have_events have_posts time_to age_min < <(psql_stats -At -F ' ' -c "
  select events, posts, to_char(time_to, 'YYYY-MM-DD\"T\"HH24:MI\"Z\"'), round(extract(epoch from now() - time_to) / 60)
  from bench_statistics_dataset")
read -r rows_events rows_stats rows_totals < <(psql_stats -At -F ' ' -c "
  select (select sum(reltuples)::bigint from pg_class where relname ~ '^events_p[0-9]{8}$' and relkind = 'r'),
         (select reltuples::bigint from pg_class where relname = 'event_stats'),
         (select reltuples::bigint from pg_class where relname = 'event_totals')")
echo "data set in $STATS_DB: $have_events generated events over 7 days up to $time_to ($age_min minutes ago), $have_posts posts;" \
     "about $rows_events rows in events, $rows_stats in event_stats, $rows_totals in event_totals (generation step: ${generated_s} s)"
if [[ $have_events != "$EVENTS" || $have_posts != "$POSTS" ]]; then
  echo "note: the existing data set has other sizes than EVENTS=$EVENTS POSTS=$POSTS; --drop and run again to change it" >&2
fi
[[ $mode == generate ]] && exit 0

# --- request targets from the data set ----------------------------------------------------
psql_stats -At -c "
  with k as (select event_type, component_id, post_id, keyword from event_totals tablesample system (1) repeatable (7)
             where component_id between $comp_lo and $comp_hi)
  (select format('/api/statistics?eventType=%s&componentId=%s&postId=%s', event_type, component_id, post_id)
   from k where post_id > 0 and keyword = '' limit 1400)
  union all
  (select format('/api/statistics?eventType=%s&componentId=%s', event_type, component_id)
   from event_totals where component_id between $comp_lo and $comp_hi and post_id = 0 and keyword = ''
     and event_type not in ('LIKE', 'UNLIKE', 'SEARCH') limit 300)  -- those need postId / keyword
  union all
  (select format('/api/statistics?eventType=SEARCH&componentId=%s&keyword=%s', component_id, keyword)
   from k where event_type = 'SEARCH' and post_id = 0 and keyword <> '' limit 300)
" | shuf --random-source=<(yes) > "$OUT/count.targets"
psql_stats -At -c "
  (select format('/api/statistics/series?eventType=%s&componentId=%s&postId=%s&interval=minute', event_type, component_id, post_id)
   from event_totals tablesample system (1) repeatable (11)
   where component_id between $comp_lo and $comp_hi and post_id > 0 and keyword = '' limit 300)
  union all
  (select format('/api/statistics/series?eventType=%s&componentId=%s&interval=minute', event_type, component_id)
   from event_totals where component_id between $comp_lo and $comp_hi and post_id = 0 and keyword = '' limit 300)
  union all
  (select format('/api/statistics/series?eventType=%s&interval=minute', t)
   from unnest(array['PAGE_VIEW','CLICK','LIKE','SEARCH','SHARE','COMMENT']) t, generate_series(1, 50))" \
  | shuf --random-source=<(yes) > "$OUT/series-24h.targets"
for window in 1h 24h 7d; do
  printf '/api/statistics/top-posts?eventType=%s&window=%s&limit=10\n' LIKE "$window" PAGE_VIEW "$window" CLICK "$window" \
    > "$OUT/top-posts-$window.targets"
  echo "/api/statistics/keywords?window=$window&limit=10" > "$OUT/keywords-$window.targets"
done
echo "/api/statistics/summary" > "$OUT/summary.targets"
echo "/api/statistics/summary" > "$OUT/nginx.targets"
for day in 0 1 2 3 4 5 6; do
  for type in PAGE_VIEW CLICK LIKE SEARCH SHARE COMMENT; do
    echo "/api/statistics/unique-users?eventType=$type&date=$(date -u -d "-$day days" +%Y-%m-%d)"
  done
done > "$OUT/unique-users.targets"

# --- private Redis, seeded --------------------------------------------------------------
LOADGEN="$BENCH_ROOT/build/release/tools/loadgen/loadgen"
[[ -x $LOADGEN ]] || { echo "no $LOADGEN (cmake --build build/release --target loadgen)" >&2; exit 1; }
INGEST_PID=""
cleanup() {
  [[ -n $INGEST_PID ]] && { kill "$INGEST_PID" 2>/dev/null || true; wait "$INGEST_PID" 2>/dev/null || true; }
  stack_stop   # the server and the private Redis; STACK_DB is empty, so no database is dropped
  nginx_ceiling_stop
}
trap cleanup EXIT
STACK_DIR=$(mktemp -d /tmp/event-tracker-stats.XXXXXX)
STACK_REDIS_PORT=$(free_port)
_stack_dev redis-start >/dev/null 2>&1 || { echo "could not start a Redis on port $STACK_REDIS_PORT" >&2; exit 1; }
redis() { redis-cli -h 127.0.0.1 -p "$STACK_REDIS_PORT" "$@"; }

# What ingestion leaves in Redis for the events of the last 169 hours, as inline commands
# (keys and members never contain spaces): each hourly ranking's 1,000 best members in one
# ZADD, the unique users of each type and day in PFADDs of 1,000, EXPIRE as the ingest
# script sets it.
seed_started=$(date +%s.%N)
load_before=$(cut -d" " -f1-3 /proc/loadavg)   # other work on the machine shows here
psql_stats -At <<SQL | redis --pipe > "$OUT/seed.log"
with recent as materialized (
  select event_type, post_id, keyword, user_id, server_time
  from events
  where component_id between $comp_lo and $comp_hi and session_id like 'bench-stats-%'
    and server_time >= date_trunc('hour', now()) - interval '168 hours'),
members as (
  select 'et:{0}:top:' || event_type || ':' || (extract(epoch from date_trunc('hour', server_time)) * 1000)::bigint as key,
         post_id::text as member, count(*) as score
  from recent where event_type in ('LIKE', 'PAGE_VIEW', 'CLICK') and post_id is not null group by 1, 2
  union all
  select 'et:{0}:kw:' || (extract(epoch from date_trunc('hour', server_time)) * 1000)::bigint, keyword, count(*)
  from recent where keyword is not null group by 1, 2),
best as (  -- ingest.lua keeps the 1,000 best members of each hourly ranking
  select key, member, score
  from (select key, member, score, row_number() over (partition by key order by score desc) as rank from members) m
  where rank <= 1000)
select 'ZADD ' || key || ' ' || string_agg(score || ' ' || member, ' ') from best group by key
union all
select distinct 'EXPIRE ' || key || ' 691200' from best
union all  -- the version bump ingest.lua makes, so that the server's ranking board reads each hour
select distinct 'HINCRBY et:{0}:rankings:versions ' || key || ' 1' from best;
SQL
psql_stats -At <<SQL | redis --pipe >> "$OUT/seed.log"
with users as (
  select distinct 'et:{0}:uu:' || event_type || ':' || to_char(server_time at time zone 'UTC', 'YYYY-MM-DD') as key, user_id
  from events
  where component_id between $comp_lo and $comp_hi and session_id like 'bench-stats-%'
    and server_time >= date_trunc('day', now()) - interval '7 days')
select 'PFADD ' || key || ' ' || string_agg(user_id::text, ' ')
from (select key, user_id, (row_number() over (partition by key) - 1) / 1000 as chunk from users) u
group by key, chunk
union all
select distinct 'EXPIRE ' || key || ' 3456000' from users;
SQL
grep -q "errors: 0," "$OUT/seed.log" || { echo "seeding Redis failed: $(tail -3 "$OUT/seed.log")" >&2; exit 1; }
# Start from a compact AOF, so that no rewrite of the seeded data runs during the measurements.
redis bgrewriteaof >/dev/null
for _ in $(seq 1 600); do
  [[ $(redis info persistence | awk -F: '/^aof_rewrite_in_progress:/ { print $2+0 }') == 0 &&
     $(redis info persistence | awk -F: '/^aof_rewrite_scheduled:/ { print $2+0 }') == 0 ]] && break
  sleep 0.5
done
seed_s=$(awk -v a="$seed_started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
redis_mb=$(redis info memory | awk -F: '/^used_memory:/ { printf "%.0f", $2 / 1048576 }')
ranked_keys=$(redis --scan --pattern 'et:{0}:top:*' | wc -l)
echo "private Redis on port $STACK_REDIS_PORT seeded in ${seed_s} s: $ranked_keys hourly post rankings, ${redis_mb} MB used"

# --- server and background ingestion ------------------------------------------------------
STACK_PORT=$(free_port)
STACK_URL="http://127.0.0.1:$STACK_PORT"
"$TRACKER_SERVER_BIN" --listen=127.0.0.1 --port="$STACK_PORT" --redis-host=127.0.0.1 --redis-port="$STACK_REDIS_PORT" \
  --pg-dsn="$STATS_DSN" --log-level=warn > "$OUT/server.log" 2>&1 &
STACK_PID=$!
wait_http "$STACK_URL/health/ready"
NGINX_URL="http://127.0.0.1:$(free_port)"
nginx_ceiling_start "${NGINX_URL##*:}"
wait_http "$NGINX_URL/"
url_of() { if [[ $1 == nginx ]]; then echo "$NGINX_URL"; else echo "$STACK_URL"; fi; }
ingest_seconds=$(( ROUNDS * $(wc -w <<< "$ENDPOINTS") * (SECONDS_PER_RUN + SECONDS_SINGLE + SECONDS_OPEN + 90) + 300 ))
ingest_started=$(date +%s.%N)
"$LOADGEN" --url "$STACK_URL" --scenario batch --batch "$INGEST_BATCH" --rate "$INGEST_RATE" --connections 16 --threads 1 \
  --duration "$ingest_seconds" --interval 1 --session-prefix "bench-ingest-$$-" > "$OUT/ingest.json" 2> "$OUT/ingest.log" &
INGEST_PID=$!
echo "server $STACK_URL on $STATS_DB (flusher on); ingestion: $INGEST_RATE x $INGEST_BATCH events/s in the background"
sleep 5

# wrk_targets URL FILE CONNECTIONS SECONDS -> "rps p50_ms p99_ms failures attempts" (failures:
# non-2xx answers, socket errors and timeouts; attempts: answers plus socket errors and
# timeouts; the latencies are those of all answers)
wrk_targets() {
  local threads=$(($3 < 2 ? 1 : 2))
  TARGETS=$2 wrk -t"$threads" -c"$3" -d"${4}s" --timeout 10s --latency \
    -s "$BENCH_ROOT/bench/lib/statistics.lua" "$1" > "$OUT/wrk.last" 2>&1
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec/ { rps = $2 }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    / requests in / { answers = $1 }
    /Non-2xx/ { bad += $5 }
    /Socket errors/ { gsub(",", ""); bad += $4 + $6 + $8 + $10; lost = $4 + $6 + $8 + $10 }
    END { printf "%s %.2f %.2f %d %d\n", rps, p50, p99, bad, answers + lost }' "$OUT/wrk.last"
}

# Waits (at most 60 s) until the summary answers 200 within 50 ms three times in a row:
# work a previous run left queued is not charged to the next one. Prints the seconds waited.
settle() {
  local ok=0 answer started
  started=$(date +%s)
  for ((i = 0; i < 120; i++)); do
    (($(date +%s) - started >= 60)) && break
    answer=$(curl -s -o /dev/null -m 2 -w '%{http_code} %{time_total}' "$STACK_URL/api/statistics/summary" || true)
    if [[ ${answer%% *} == 200 ]] && awk -v s="${answer#* }" 'BEGIN { exit !(s < 0.05) }'; then
      ((++ok >= 3)) && break
    else
      ok=0
    fi
    sleep 0.5
  done
  echo $(($(date +%s) - started))
}

# The same 64 connections as clients that do not wait for each other: OPEN_RATE requests/s
# sent on schedule (latency counted from the scheduled time, so queueing shows), the load
# of many dashboards rather than of a saturation test. open_loop URL FILE prints "p50 p99 failed%".
open_loop() {
  "$LOADGEN" --url "$1" --scenario targets --targets "$2" --rate "$OPEN_RATE" --connections "$CONNECTIONS" \
    --threads 1 --duration "$SECONDS_OPEN" > "$OUT/open.json" 2> /dev/null || true
  /usr/bin/python3 -c '
import json, sys
try:
    r = json.load(open(sys.argv[1]))
    print(r["latency_ms"]["p50"], r["latency_ms"]["p99"], round(100 * (r["requests"] - r["ok"]) / max(r["requests"], 1), 1))
except Exception:
    print("nan nan nan")' "$OUT/open.json"
}

TARGETS="$OUT/count.targets" wrk -t2 -c"$CONNECTIONS" -d3s -s "$BENCH_ROOT/bench/lib/statistics.lua" "$STACK_URL" > /dev/null 2>&1
: > "$OUT/rounds.txt"
for round in $(seq 1 "$ROUNDS"); do
  for endpoint in $ENDPOINTS; do
    waited=$(settle)
    run_started=$(date +%s.%N)
    url=$(url_of "$endpoint")
    read -r rps p50 p99 bad attempts < <(wrk_targets "$url" "$OUT/$endpoint.targets" "$CONNECTIONS" "$SECONDS_PER_RUN")
    run_ended=$(date +%s.%N)
    waited_one=$(settle)
    read -r _ one50 one99 one_bad _ < <(wrk_targets "$url" "$OUT/$endpoint.targets" 1 "$SECONDS_SINGLE")
    settle > /dev/null
    read -r open50 open99 open_failed < <(open_loop "$url" "$OUT/$endpoint.targets")
    failed_pct=$(awk -v b="$bad" -v n="$attempts" 'BEGIN { printf "%.1f", (n > 0 ? 100 * b / n : 0) }')
    echo "$round $endpoint $rps $p50 $p99 $failed_pct $one50 $one99 $one_bad $run_started $run_ended $waited $waited_one $open50 $open99 $open_failed" >> "$OUT/rounds.txt"
    printf 'round %d  %-14s %8.0f req/s  p50 %8.2f ms  p99 %8.2f ms  failed %5.1f %% | 1 connection: p50 %6.2f ms  p99 %6.2f ms  failed %d | %s req/s open loop: p50 %6.2f ms  p99 %6.2f ms  failed %s %% | settled in %s + %s s\n' \
      "$round" "$endpoint" "$rps" "$p50" "$p99" "$failed_pct" "$one50" "$one99" "$one_bad" "$OPEN_RATE" "$open50" "$open99" "$open_failed" "$waited" "$waited_one"
  done
done

kill -INT "$INGEST_PID" 2>/dev/null || true
wait "$INGEST_PID" 2>/dev/null || true
INGEST_PID=""
read -r ingest_rps ingest_bad ingest_p99 < <(/usr/bin/python3 -c '
import json, sys
try:
    r = json.load(open(sys.argv[1]))
    print(round(r["events_acked"] / r["sending_s"]), r["errors"], r["latency_ms"]["p99"])
except Exception:
    print("nan nan nan")' "$OUT/ingest.json")
# The ingestion's acknowledged events/s during each 64-connection run (column 17), from the
# load generator's one-second lines.
/usr/bin/python3 - "$OUT/rounds.txt" "$OUT/ingest.log" "$ingest_started" "$INGEST_BATCH" <<'PY'
import json, sys
rounds, log, started, batch = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
lines = []
for text in open(log):
    try:
        line = json.loads(text)
        lines.append((started + line["t"], line["ok"]))
    except (ValueError, KeyError):
        pass
out = []
for row in open(rounds):
    f = row.split()
    a, b = float(f[9]), float(f[10])
    inside = [n for t, n in lines if a + 1 <= t <= b]  # each line covers the second before it
    out.append(" ".join(f + [str(round(sum(inside) * batch / len(inside))) if inside else "nan"]))
open(rounds, "w").write("\n".join(out) + "\n")
PY

metric() { curl -s "$STACK_URL/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
col() { awk -v e="$1" -v c="$2" '$2 == e { print $c }' "$OUT/rounds.txt" | median; }
{
  echo "== statistics API: medians of $ROUNDS rounds x ${SECONDS_PER_RUN}s, $CONNECTIONS connections, $(nproc) cores shared with wrk, the ingestion and the databases =="
  echo "load average (1, 5, 15 min) before: $load_before, after: $(cut -d" " -f1-3 /proc/loadavg)"
  echo "data set: $have_events generated events over 7 days (to $time_to, $age_min min before the run), $have_posts posts; events ~$rows_events rows, event_stats ~$rows_stats, event_totals ~$rows_totals"
  echo "rankings: the server's ranking board read $(metric tracker_ranking_hourly_reads_total) hourly rankings in $(metric tracker_ranking_refreshes_total) refreshes"
  echo "background ingestion: ${ingest_rps} events/s accepted (target $((INGEST_RATE * INGEST_BATCH))), ${ingest_bad} failed batch requests, batch p99 ${ingest_p99} ms"
  echo "latencies are those of all answers, failed ones included; failed = non-2xx, socket errors and timeouts"
  printf '%-14s %8s %9s %9s %8s   %10s %10s   %9s %9s %8s   %s\n' endpoint req/s p50_ms p99_ms failed% "1-conn p50" "1-conn p99" \
    "open p50" "open p99" "failed%" "ingestion events/s meanwhile"
  for endpoint in $ENDPOINTS; do
    printf '%-14s %8.0f %9.2f %9.2f %8.1f   %10.2f %10.2f   %9.2f %9.2f %8.1f   %8.0f\n' "$endpoint" "$(col "$endpoint" 3)" \
      "$(col "$endpoint" 4)" "$(col "$endpoint" 5)" "$(col "$endpoint" 6)" "$(col "$endpoint" 7)" "$(col "$endpoint" 8)" \
      "$(col "$endpoint" 14)" "$(col "$endpoint" 15)" "$(col "$endpoint" 16)" "$(col "$endpoint" 17)"
  done
} | tee "$OUT/summary.txt"
