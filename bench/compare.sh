#!/usr/bin/env bash
# This server against a Node peer and nginx, side by side in one run, on this machine.
#
#   bench/compare.sh            both parts: ingestion, then the read tails
#   bench/compare.sh --ingest   only single-event ingestion
#   bench/compare.sh --reads    only the read tails
#
# Knobs (environment):
#   ROUNDS=3            alternating rounds of ingestion (server, peer, nginx each once a round)
#   SECONDS_PER_RUN=10  length of one ingestion run
#   READ_ROUNDS=3       alternating rounds of the read part
#   READ_SECONDS=5      length of one read run
#   CONNECTIONS=64      keep-alive connections of every run; THREADS=2 wrk threads
#   WARMUP_SECONDS=3    an unmeasured run against each system first
#   PEER_WORKERS=2      node:cluster workers of the peer
#   PEER_REDIS_PORT=60100 PEER_PORT=60101 NGINX_PORT=60102  (the server and its Redis take free ports)
#   SERVER_ARGS="..."   extra flags of the server (e.g. --io-threads=2)
#   SKIP_SETUP=1        skips tools/dev.sh setup (packages, release build, services)
#   WRITE_KEY / READ_KEY  API keys, when the server checks them (see "keys" below)
#
# The systems (all on 127.0.0.1, all measured with wrk and the same request bytes):
#   server  the release build on a private Redis and database (bench/lib/stack.sh), flusher on;
#   peer    bench/peer: Node, fastify + ioredis auto-pipelining, PEER_WORKERS workers, the
#           same validation, one Lua per event into its own Redis (the project's Redis
#           configuration: AOF, appendfsync everysec), nothing written to PostgreSQL;
#   nginx   a generated nginx.conf in a temporary folder, run as the invoking user: a
#           constant 202 for events, a constant small JSON for reads, and static files.
#
# Ingestion: a constant CLICK event (bench/lib/click.lua). Printed: the median over the
# rounds of events/s, p50 and p99 per system, and the ratios server/peer, server/nginx.
#
# Read tails: after a few seconds of the realistic event mix (bench/lib/events.lua) and
# 200 posts with hashtags, at CONNECTIONS connections, alternating with nginx:
#   count    GET /api/statistics for the keys the mix wrote;
#   top      GET /api/statistics/top-posts (LIKE, 1h) and /keywords (1h, 24h);
#   search   GET /api/search for 20 hashtags, warm (each searched once before);
#   nginx    a constant small JSON (the reference of the three above: p99 ratios);
#   series   GET /api/statistics/series, a day of minutes of one key, as buckets and as
#            columns, each as identity and as gzip; nginx serves each answer's bytes as a
#            static file (gzip_static for the gzip ones). Rate ratios: against nginx
#            serving the same bytes, and against nginx serving the buckets JSON as
#            identity (the reference of the issue's goal).
# Each part prints the load average before and after it. Markdown tables go to
# bench/out/compare/*.md (docs/PERFORMANCE.md takes them).
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
# shellcheck source=lib/stack.sh
source "$(dirname "$0")/lib/stack.sh"

ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
READ_ROUNDS=${READ_ROUNDS:-3}
READ_SECONDS=${READ_SECONDS:-5}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
WARMUP_SECONDS=${WARMUP_SECONDS:-3}
PEER_WORKERS=${PEER_WORKERS:-2}
PEER_REDIS_PORT=${PEER_REDIS_PORT:-60100}
PEER_PORT=${PEER_PORT:-60101}
NGINX_PORT=${NGINX_PORT:-60102}
parts="ingest reads"
case ${1:-} in
  --ingest) parts=ingest ;;
  --reads) parts=reads ;;
  -h | --help) sed -n '2,43p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
esac

OUT="$BENCH_OUT/compare"
mkdir -p "$OUT"
if [[ ${SKIP_SETUP:-0} != 1 ]]; then "$BENCH_ROOT/tools/dev.sh" setup >/dev/null; fi
eval "$("$BENCH_ROOT/tools/dev.sh" env)"
for tool in wrk nginx node npm redis-server; do
  command -v "$tool" >/dev/null || { echo "$tool is missing (tools/dev.sh setup installs it)" >&2; exit 1; }
done

# --- keys ---------------------------------------------------------------------------------
# A server that checks API keys is run with --auth=off here, so that the comparison measures
# the same work as the peer's. To measure with keys on instead, drop --auth=off and pass
# them: WRITE_KEY goes in X-Api-Key on events, READ_KEY in Authorization: Bearer on reads.
SERVER_FLAGS=()
if "$TRACKER_SERVER_BIN" --help 2>&1 | grep -qE -- '--auth(=|[[:space:]])'; then SERVER_FLAGS+=(--auth=off); fi
read -ra extra_flags <<< "${SERVER_ARGS:-}"
SERVER_FLAGS+=("${extra_flags[@]}")
WRITE_HEADERS=() READ_HEADERS=()
[[ -n ${WRITE_KEY:-} ]] && WRITE_HEADERS=(-H "X-Api-Key: $WRITE_KEY")
[[ -n ${READ_KEY:-} ]] && READ_HEADERS=(-H "Authorization: Bearer $READ_KEY")

# --- the three systems ----------------------------------------------------------------------
TMP=$(mktemp -d /tmp/event-tracker-compare.XXXXXX)
chmod 755 "$TMP"   # nginx started by root reads its files as another user
PEER_PID="" PEER_REDIS_DIR="$TMP/peer-redis"
peer_redis() { TRACKER_DATA_DIR="$PEER_REDIS_DIR" TRACKER_REDIS_PORT="$PEER_REDIS_PORT" TRACKER_REDIS_APPENDFSYNC=everysec \
  "$BENCH_ROOT/tools/dev.sh" "$@"; }
cleanup() {
  [[ -n $PEER_PID ]] && { kill "$PEER_PID" 2>/dev/null || true; wait "$PEER_PID" 2>/dev/null || true; }
  peer_redis redis-stop >/dev/null 2>&1 || true
  [[ -f $TMP/nginx/nginx.pid ]] && { kill "$(cat "$TMP/nginx/nginx.pid")" 2>/dev/null || true; sleep 0.3; }
  stack_stop
  rm -rf "$TMP"
}
trap cleanup EXIT

stack_start "$OUT/server.log" "${SERVER_FLAGS[@]}"
SERVER_URL=$STACK_URL

peer_dir="$BENCH_ROOT/bench/peer"
if [[ ! -d $peer_dir/node_modules ]]; then (cd "$peer_dir" && npm ci --no-audit --no-fund >"$OUT/npm.log" 2>&1) ||
  { echo "npm ci failed in $peer_dir (see $OUT/npm.log)" >&2; exit 1; }; fi
peer_redis redis-start >/dev/null 2>&1 || { echo "could not start the peer's Redis on port $PEER_REDIS_PORT" >&2; exit 1; }
PEER_PORT=$PEER_PORT PEER_REDIS_PORT=$PEER_REDIS_PORT PEER_WORKERS=$PEER_WORKERS node "$peer_dir/server.js" > "$OUT/peer.log" 2>&1 &
PEER_PID=$!
PEER_URL="http://127.0.0.1:$PEER_PORT"

mkdir -p "$TMP/nginx/www"
cat > "$TMP/nginx/nginx.conf" <<CONF
worker_processes auto;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_buffer_size 64k;
  client_body_temp_path $TMP/nginx/body;
  proxy_temp_path $TMP/nginx/proxy;
  fastcgi_temp_path $TMP/nginx/fastcgi;
  uwsgi_temp_path $TMP/nginx/uwsgi;
  scgi_temp_path $TMP/nginx/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT reuseport;
    location = /api/events { default_type application/json; return 202 '{"eventId":"01a214c1-0337-7044-aeff-ca965097db54"}'; }
    location = /small.json { default_type application/json; return 200 '{"count":123456}'; }
    location /static/ { alias $TMP/nginx/www/; default_type application/json; gzip_static on; etag off; }
  }
}
CONF
nginx -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx"
NGINX_URL="http://127.0.0.1:$NGINX_PORT"
wait_http "$PEER_URL/health/ready"
wait_http "$NGINX_URL/small.json"
echo "server $SERVER_URL (flusher on${SERVER_FLAGS[*]:+, ${SERVER_FLAGS[*]}}), peer $PEER_URL (node $(node --version), $PEER_WORKERS workers)," \
     "nginx $NGINX_URL ($(nginx -v 2>&1 | sed 's/.*\///')); $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS"

# measure URL SECONDS [wrk options...] -> "rps p50_ms p99_ms failures" (failures: non-2xx
# answers, socket errors, timeouts). TARGETS in the environment for bench/lib/statistics.lua.
measure() {
  local url=$1 seconds=$2; shift 2
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${seconds}s" --timeout 10s --latency "$@" "$url" > "$OUT/wrk.last" 2>&1
  cat "$OUT/wrk.last" >> "$OUT/wrk.all"
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec/ { rps = $2 }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    /Non-2xx/ { bad += $5 }
    /Socket errors/ { gsub(",", ""); bad += $4 + $6 + $8 + $10 }
    END { printf "%s %.2f %.2f %d\n", rps, p50, p99, bad }' "$OUT/wrk.last"
}
# col N NAME FILE: the median of column N over the lines of FILE starting with NAME.
col() { awk -v n="$2" -v c="$1" '$1 == n { print $c }' "$3" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
: > "$OUT/wrk.all"

# --- single events ------------------------------------------------------------------------------
ingest_url() { case $1 in server) echo "$SERVER_URL/api/events" ;; peer) echo "$PEER_URL/api/events" ;; nginx) echo "$NGINX_URL/api/events" ;; esac; }
if [[ " $parts " == *" ingest "* ]]; then
  for system in server peer nginx; do
    measure "$(ingest_url $system)" "$WARMUP_SECONDS" -s "$BENCH_ROOT/bench/lib/click.lua" "${WRITE_HEADERS[@]}" > /dev/null
  done
  load_before=$(loadavg)
  : > "$OUT/ingest.rounds"
  for round in $(seq 1 "$ROUNDS"); do
    for system in server peer nginx; do
      read -r rps p50 p99 bad < <(measure "$(ingest_url $system)" "$SECONDS_PER_RUN" -s "$BENCH_ROOT/bench/lib/click.lua" "${WRITE_HEADERS[@]}")
      echo "$system $rps $p50 $p99 $bad $round" >> "$OUT/ingest.rounds"
      printf 'round %d  %-6s %9.0f events/s  p50 %6.2f ms  p99 %6.2f ms  failed %d\n' "$round" "$system" "$rps" "$p50" "$p99" "$bad"
    done
  done
  load_after=$(loadavg)
  s=$(col 2 server "$OUT/ingest.rounds"); p=$(col 2 peer "$OUT/ingest.rounds"); n=$(col 2 nginx "$OUT/ingest.rounds")
  {
    echo "| system | events/s (median) | p50 ms | p99 ms | ratio |"
    echo "|---|---:|---:|---:|---|"
    printf '| this server (flusher on) | %.0f | %s | %s | %s x peer, %s x nginx |\n' "$s" "$(col 3 server "$OUT/ingest.rounds")" \
      "$(col 4 server "$OUT/ingest.rounds")" "$(ratio "$s" "$p")" "$(ratio "$s" "$n")"
    printf '| Node peer (bench/peer, %d workers) | %.0f | %s | %s | |\n' "$PEER_WORKERS" "$p" "$(col 3 peer "$OUT/ingest.rounds")" "$(col 4 peer "$OUT/ingest.rounds")"
    printf '| nginx, constant 202 | %.0f | %s | %s | |\n' "$n" "$(col 3 nginx "$OUT/ingest.rounds")" "$(col 4 nginx "$OUT/ingest.rounds")"
    echo
    echo "A constant CLICK event, $CONNECTIONS keep-alive connections, wrk -t$THREADS, medians of $ROUNDS alternating rounds of ${SECONDS_PER_RUN} s;" \
         "$(nproc) cores shared by all; load average $load_before before, $load_after after."
  } > "$OUT/ingest.md"
  echo
  echo "== single events: medians of $ROUNDS rounds x ${SECONDS_PER_RUN} s, $CONNECTIONS connections =="
  printf '%-7s %10s %8s %8s\n' system events/s p50_ms p99_ms
  for system in server peer nginx; do
    printf '%-7s %10.0f %8s %8s\n' "$system" "$(col 2 $system "$OUT/ingest.rounds")" "$(col 3 $system "$OUT/ingest.rounds")" "$(col 4 $system "$OUT/ingest.rounds")"
  done
  echo "server/peer $(ratio "$s" "$p")   server/nginx $(ratio "$s" "$n")   (goals: >= 2, >= 0.5)"
  echo "load average: before $load_before, after $load_after"
  echo "backlog left in the server's Redis: $(stack_pending) events (the flusher drains it)"
fi

# --- read tails ---------------------------------------------------------------------------------
if [[ " $parts " == *" reads "* ]]; then
  # Something to read: a few seconds of the clients' mix, 200 posts with hashtags tag1..tag20.
  measure "$SERVER_URL/api/events" 4 -s "$BENCH_ROOT/bench/lib/events.lua" "${WRITE_HEADERS[@]}" > /dev/null
  for i in $(seq 1 200); do
    printf '{"userId":%d,"content":"compare post %d","hashtags":["tag%d","tag%d"]}\n' $((i % 100 + 1)) "$i" $((i % 20 + 1)) $((i % 7 + 1))
  done | /usr/bin/python3 -c '
import sys, urllib.request
url, headers = sys.argv[1], {"Content-Type": "application/json"}
if len(sys.argv) > 2 and sys.argv[2]: headers["X-Api-Key"] = sys.argv[2]
for line in sys.stdin:
    urllib.request.urlopen(urllib.request.Request(url, data=line.encode(), headers=headers)).read()
' "$SERVER_URL/api/posts" "${WRITE_KEY:-}"
  # The count keys bench/lib/events.lua writes (its formulas), 300 of them.
  awk 'BEGIN {
    split("CLICK PAGE_VIEW SEARCH LIKE", types, " ")
    for (i = 1; i <= 300; i++) {
      t = types[(i % 4) + 1]; c = 1000 + (i * 104729) % 1001
      if (t == "SEARCH") printf "/api/statistics?eventType=SEARCH&componentId=%d&keyword=keyword-%d\n", c, (i % 10) + 1
      else if (t == "LIKE") printf "/api/statistics?eventType=LIKE&componentId=%d&postId=%d\n", c, (i % 10) + 1
      else printf "/api/statistics?eventType=%s&componentId=%d\n", t, c
    } }' > "$OUT/count.targets"
  printf '%s\n' "/api/statistics/top-posts?eventType=LIKE&window=1h&limit=10" "/api/statistics/keywords?window=1h&limit=10" \
    "/api/statistics/keywords?window=24h&limit=10" > "$OUT/top.targets"
  for i in $(seq 1 400); do echo "/api/search?userId=$((i % 100 + 1))&keyword=tag$((i % 20 + 1))"; done > "$OUT/search.targets"
  for i in $(seq 1 20); do curl -fs -o /dev/null "${READ_HEADERS[@]}" "$SERVER_URL/api/search?userId=1&keyword=tag$i"; done
  echo "/small.json" > "$OUT/small.targets"

  # A day of minutes of the constant CLICK's key, in both formats; nginx gets each answer's
  # bytes as a file, and the gzip of it for gzip_static.
  series_path="/api/statistics/series?eventType=CLICK&componentId=1002&interval=minute"
  columns_supported=1
  curl -fs -o /dev/null "${READ_HEADERS[@]}" "$SERVER_URL$series_path&format=columns" || columns_supported=0
  for variant in buckets columns; do
    [[ $variant == columns && $columns_supported == 0 ]] && continue
    query=$series_path; [[ $variant == columns ]] && query="$series_path&format=columns"
    echo "$query" > "$OUT/series-$variant.targets"
    curl -fs "${READ_HEADERS[@]}" "$SERVER_URL$query" -o "$TMP/nginx/www/series-$variant.json"
    gzip -1 -n -k "$TMP/nginx/www/series-$variant.json"
    echo "/static/series-$variant.json" > "$OUT/static-$variant.targets"
  done
  chmod -R a+rX "$TMP/nginx/www"
  gzip_answers=$(curl -fs -o /dev/null -D - -H 'Accept-Encoding: gzip' "${READ_HEADERS[@]}" "$SERVER_URL$series_path" | grep -ci '^content-encoding: gzip' || true)

  # name  url  targets  extra wrk options
  runs=(
    "count server count"
    "top server top"
    "search server search"
    "small nginx small"
    "series-buckets server series-buckets"
    "static-buckets nginx static-buckets"
  )
  if [[ $columns_supported == 1 ]]; then runs+=("series-columns server series-columns" "static-columns nginx static-columns"); fi
  if [[ $gzip_answers -gt 0 ]]; then
    runs+=("series-buckets-gz server series-buckets gzip" "static-buckets-gz nginx static-buckets gzip")
    if [[ $columns_supported == 1 ]]; then runs+=("series-columns-gz server series-columns gzip" "static-columns-gz nginx static-columns gzip"); fi
  fi
  for run in "${runs[@]}"; do  # warm-up: each target once
    read -r name system targets coding <<< "$run"
    url=$SERVER_URL; [[ $system == nginx ]] && url=$NGINX_URL
    encoding=(); [[ -n $coding ]] && encoding=(-H "Accept-Encoding: gzip")
    TARGETS="$OUT/$targets.targets" measure "$url" 1 -s "$BENCH_ROOT/bench/lib/statistics.lua" "${READ_HEADERS[@]}" "${encoding[@]}" > /dev/null
  done
  load_before=$(loadavg)
  : > "$OUT/reads.rounds"
  for round in $(seq 1 "$READ_ROUNDS"); do
    for run in "${runs[@]}"; do
      read -r name system targets coding <<< "$run"
      url=$SERVER_URL; [[ $system == nginx ]] && url=$NGINX_URL
      encoding=(); [[ -n $coding ]] && encoding=(-H "Accept-Encoding: gzip")
      read -r rps p50 p99 bad < <(TARGETS="$OUT/$targets.targets" measure "$url" "$READ_SECONDS" \
        -s "$BENCH_ROOT/bench/lib/statistics.lua" "${READ_HEADERS[@]}" "${encoding[@]}")
      echo "$name $rps $p50 $p99 $bad $round" >> "$OUT/reads.rounds"
      printf 'round %d  %-18s %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms  failed %d\n' "$round" "$name" "$rps" "$p50" "$p99" "$bad"
    done
  done
  load_after=$(loadavg)
  R="$OUT/reads.rounds"
  bytes_of() {  # the answer bytes a run's requests got
    local f="$TMP/nginx/www/series-$1.json"; [[ $2 == gz ]] && f="$f.gz"; stat -c %s "$f"; }
  {
    echo "| answer | server req/s | p50 ms | p99 ms | nginx req/s | nginx p99 ms | rate ratio | p99 ratio |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    for name in count top search; do
      printf '| %s | %.0f | %s | %s | %.0f | %s | %s | %s |\n' "$name" "$(col 2 $name "$R")" "$(col 3 $name "$R")" "$(col 4 $name "$R")" \
        "$(col 2 small "$R")" "$(col 4 small "$R")" "$(ratio "$(col 2 $name "$R")" "$(col 2 small "$R")")" "$(ratio "$(col 4 $name "$R")" "$(col 4 small "$R")")"
    done
    echo
    echo "| 24 h minute series | bytes | server req/s | p50 ms | p99 ms | nginx, same bytes (file) req/s | ratio | ratio to nginx's buckets file |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    ref=$(col 2 static-buckets "$R")
    for variant in buckets columns; do
      for gz in "" -gz; do
        grep -q "^series-$variant$gz " "$R" || continue
        s=$(col 2 "series-$variant$gz" "$R"); n=$(col 2 "static-$variant$gz" "$R")
        printf '| %s%s | %s | %.0f | %s | %s | %.0f | %s | %s |\n' "$variant" "${gz:+, gzip}" "$(bytes_of $variant "${gz#-}")" "$s" \
          "$(col 3 "series-$variant$gz" "$R")" "$(col 4 "series-$variant$gz" "$R")" "$n" "$(ratio "$s" "$n")" "$(ratio "$s" "$ref")"
      done
    done
    echo
    echo "$CONNECTIONS keep-alive connections, wrk -t$THREADS, medians of $READ_ROUNDS alternating rounds of ${READ_SECONDS} s; nginx's" \
         "reference for count, top and search is a constant 16-byte JSON; load average $load_before before, $load_after after."
  } > "$OUT/reads.md"
  echo
  echo "== read tails: medians of $READ_ROUNDS rounds x ${READ_SECONDS} s, $CONNECTIONS connections =="
  cat "$OUT/reads.md"
  echo "(goals: p99 ratio <= 2 for count, top and search; series rate >= 0.5 x nginx's buckets file)"
fi
