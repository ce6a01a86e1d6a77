#!/usr/bin/env bash
# Posts benchmark on the seeded data set (2,000,000 posts, 100,000 users; seeded first
# if the posts table holds fewer): wrk with CONNECTIONS keep-alive connections against
# the release server, ROUNDS rounds per scenario, medians printed.
#   search warm   GET /api/search for tag1..tag500, served from the Redis cache
#   search cold   the same against a server started with --search-cache-ttl-ms=0, so that
#                 every request reads PostgreSQL (search_posts) before answering
#   search miss   keywords never seen before: each request takes the rebuild lock,
#                 looks the keyword up in PostgreSQL and fills the cache
#   like toggles  POST /api/posts/like, users 1..100 on 1,000 posts
#   nginx         the reference: the warm-search requests answered by nginx with a fixed
#                 body (bench/lib/common.sh), the most this machine gives at 64 connections
# Every search and toggle also records its SEARCH / LIKE / UNLIKE event.
#
#   bench/posts.sh                                      ROUNDS=3 SECONDS_PER_RUN=10
#   ROUNDS=1 SECONDS_PER_RUN=2 POSTS=20000 bench/posts.sh    a quick check on a small data set
#   SERVER_FLAGS="--max-toggle-groups=2" adds flags to the server of the warm searches and toggles
#   SKIP_SETUP=1 skips tools/dev.sh setup (build, services, migrations); TRACKER_SERVER_BIN
#   picks another server binary, e.g. to measure a reference in the same session
#   SCENARIOS="like-toggles" runs only the scenarios named (of nginx search-warm search-cold
#   search-miss like-toggles), e.g. to compare two binaries on one of them
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
CONNECTIONS=${CONNECTIONS:-64}
POSTS=${POSTS:-2000000}
USERS=${USERS:-100000}
SERVER_PORT=${SERVER_PORT:-58082}
COLD_PORT=${COLD_PORT:-58083}
NGINX_PORT=${NGINX_PORT:-58084}
SCENARIOS=${SCENARIOS:-nginx search-warm search-cold search-miss like-toggles}
wanted() { [[ " $SCENARIOS " == *" $1 "* ]]; }

if [[ ${SKIP_SETUP:-0} != 1 ]]; then "$BENCH_ROOT/tools/dev.sh" setup >/dev/null; fi
eval "$("$BENCH_ROOT/tools/dev.sh" env)"
unset TRACKER_REDIS_CLUSTER  # this bench runs on one Redis, even while the local cluster is up
psql_value() { psql -X -q -tA -v ON_ERROR_STOP=1 "$TRACKER_PG_DSN" -c "$1"; }

have=$(psql_value "select count(*) from posts")
if ((have < POSTS)); then
  echo "== seeding: the posts table holds $have posts, the benchmark wants $POSTS =="
  if ((POSTS == 2000000)); then
    USERS=$USERS "$BENCH_ROOT/tools/seed_dataset.sh"
  else
    USERS=$USERS "$BENCH_ROOT/tools/seed_dataset.sh" "$POSTS"
  fi
  have=$(psql_value "select count(*) from posts")
fi
# Toggles go to 1,000 posts of the data set; their likes are taken back at the end.
first_post=$(psql_value "select min(id) from posts where hashtags && array['tag1','tag2','tag3']")

server_pids=()
stop_servers() {
  for pid in "${server_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${server_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if wanted nginx; then nginx_ceiling_stop; fi
}
trap stop_servers EXIT
start_server() {  # start_server PORT LOG [flags...]
  local port=$1 log=$2; shift 2
  "$TRACKER_SERVER_BIN" --listen=127.0.0.1 --port="$port" --log-level=warn "$@" > "$BENCH_OUT/$log" 2>&1 &
  server_pids+=($!)
  wait_http "http://127.0.0.1:$port/health/ready"
}

# run_wrk PORT SCRIPT SECONDS [env...] -> "rps p50_ms p99_ms non2xx"
run_wrk() {
  local port=$1 script=$2 seconds=$3; shift 3
  env "$@" wrk -t2 -c"$CONNECTIONS" -d"${seconds}s" --latency -s "$BENCH_ROOT/bench/lib/$script" \
    "http://127.0.0.1:$port" > "$BENCH_OUT/wrk.last" 2>&1
  awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /Requests\/sec/ { rps = $2 }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    /Non-2xx/ { bad = $5 }
    END { printf "%s %.2f %.2f %d\n", rps, p50, p99, bad + 0 }' "$BENCH_OUT/wrk.last"
}

db_queries() {
  curl -fs "http://127.0.0.1:$1/metrics" | awk '$1 == "tracker_search_db_queries_total" { print $2 }'
}

# scenario NAME PORT SCRIPT [env...]: ROUNDS runs, one line each, into $BENCH_OUT/posts-NAME.rounds
scenario() {
  local name=$1 port=$2 script=$3; shift 3
  : > "$BENCH_OUT/posts-$name.rounds"
  for round in $(seq 1 "$ROUNDS"); do
    local before after rps p50 p99 bad
    before=$(db_queries "$port")
    read -r rps p50 p99 bad < <(run_wrk "$port" "$script" "$SECONDS_PER_RUN" "$@")
    after=$(db_queries "$port")
    echo "$round $rps $p50 $p99 $bad $((after - before))" >> "$BENCH_OUT/posts-$name.rounds"
    printf '%-13s round %d: %8.0f req/s  p50 %7.2f ms  p99 %7.2f ms  non-2xx %d  database searches %d\n' \
      "$name" "$round" "$rps" "$p50" "$p99" "$bad" "$((after - before))"
  done
}

# shellcheck disable=SC2086  # SERVER_FLAGS: words on purpose
start_server "$SERVER_PORT" posts-server.log ${SERVER_FLAGS:-}
if wanted search-cold; then
  start_server "$COLD_PORT" posts-cold-server.log --search-cache-ttl-ms=0 --flusher=false
fi
if wanted nginx; then
  nginx_ceiling_start "$NGINX_PORT"
  wait_http "http://127.0.0.1:$NGINX_PORT/"
fi

if wanted search-warm || wanted search-cold || wanted search-miss; then
  echo "== warm-up: every hashtag searched once (the cache fills) =="
  run_wrk "$SERVER_PORT" search.lua 3 USERS="$USERS" > /dev/null
  if wanted search-cold; then run_wrk "$COLD_PORT" search.lua 2 USERS="$USERS" > /dev/null; fi
fi

if wanted nginx; then scenario nginx "$NGINX_PORT" search.lua USERS="$USERS"; fi
if wanted search-warm; then scenario search-warm "$SERVER_PORT" search.lua USERS="$USERS"; fi
if wanted search-cold; then scenario search-cold "$COLD_PORT" search.lua USERS="$USERS"; fi
if wanted search-miss; then scenario search-miss "$SERVER_PORT" search.lua USERS="$USERS" MODE=unique; fi
if wanted like-toggles; then
  # Warm-up, as for the searches: every connection of the pool has prepared its statements.
  run_wrk "$SERVER_PORT" like.lua 3 USERS=100 POSTS=1000 FIRST_POST="$first_post" > /dev/null
  scenario like-toggles "$SERVER_PORT" like.lua USERS=100 POSTS=1000 FIRST_POST="$first_post"
fi

# Leave the data set as seeded: no likes on those 1,000 posts.
psql_value "with gone as (delete from likes where post_id between $first_post and $first_post + 999 and user_id <= 100
                          returning post_id)
            update posts p set like_count = greatest(p.like_count - g.n, 0)
            from (select post_id, count(*) as n from gone group by post_id) g where p.id = g.post_id" > /dev/null
# The toggles left dead row versions in posts and at the top of the search ranking (a
# database from before sql/005 has no ranking table).
psql_value "vacuum posts" > /dev/null
if [[ $(psql_value "select to_regclass('post_hashtags') is not null") == t ]]; then
  psql_value "vacuum post_hashtags" > /dev/null
fi

col() { awk -v c="$1" '{print $c}' "$BENCH_OUT/posts-$2.rounds" | median; }
line() {  # line NAME LABEL UNIT
  printf '%-44s %8.0f %-10s p50 %7.2f ms  p99 %7.2f ms  non-2xx %s  database searches/round %s\n' "$2" \
    "$(col 2 "$1")" "$3" "$(col 3 "$1")" "$(col 4 "$1")" "$(col 5 "$1")" "$(col 6 "$1")"
}
echo
echo "== posts: $have posts, medians of $ROUNDS rounds x ${SECONDS_PER_RUN}s, $CONNECTIONS connections, $(nproc) cores (load generator included) =="
if wanted nginx; then line nginx "nginx, fixed answer (the reference)" req/s; fi
if wanted search-warm; then line search-warm "search warm (Redis cache, tag1..tag500)" req/s; fi
if wanted search-cold; then line search-cold "search cold (no cache: PostgreSQL each time)" req/s; fi
if wanted search-miss; then line search-miss "search miss (unseen keyword: lock+db+fill)" req/s; fi
if wanted like-toggles; then line like-toggles "like toggles (users 1..100, 1,000 posts)" toggles/s; fi
echo "targets: warm p99 < 5 ms, cold p99 < 50 ms, toggles >= 5,000/s"
