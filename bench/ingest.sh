#!/usr/bin/env bash
# Ingestion throughput: the release server under wrk (64 keep-alive connections, a
# realistic event mix), against nginx serving a fixed 202 on the same machine as the
# HTTP ceiling, alternated ROUNDS times; medians are printed. Then the batch endpoint.
#   bench/ingest.sh            (ROUNDS=3 SECONDS_PER_RUN=10 by default)
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
CONNECTIONS=${CONNECTIONS:-64}
SERVER_PORT=${SERVER_PORT:-58081}
NGINX_PORT=${NGINX_PORT:-58080}

"$BENCH_ROOT/tools/dev.sh" setup >/dev/null
eval "$("$BENCH_ROOT/tools/dev.sh" env)"
unset TRACKER_REDIS_CLUSTER  # this bench runs on one Redis, even while the local cluster is up

nginx_ceiling_start "$NGINX_PORT"
"$TRACKER_SERVER_BIN" --listen=127.0.0.1 --port="$SERVER_PORT" --log-level=warn > "$BENCH_OUT/server.log" 2>&1 &
server_pid=$!
trap 'kill $server_pid 2>/dev/null; nginx_ceiling_stop' EXIT
wait_http "http://127.0.0.1:$SERVER_PORT/health/ready"
wrk_run "http://127.0.0.1:$SERVER_PORT/api/events" 3 "$CONNECTIONS" >/dev/null   # warm-up

: > "$BENCH_OUT/ingest.rounds"
for round in $(seq 1 "$ROUNDS"); do
  read -r n_rps n_p50 n_p99 _ < <(wrk_run "http://127.0.0.1:$NGINX_PORT/api/events" "$SECONDS_PER_RUN" "$CONNECTIONS")
  read -r s_rps s_p50 s_p99 s_bad < <(wrk_run "http://127.0.0.1:$SERVER_PORT/api/events" "$SECONDS_PER_RUN" "$CONNECTIONS")
  rss=$(rss_mb "$server_pid")
  echo "$round $n_rps $n_p50 $n_p99 $s_rps $s_p50 $s_p99 $s_bad $rss" >> "$BENCH_OUT/ingest.rounds"
  printf 'round %d: nginx %8.0f req/s p99 %6.2f ms | server %8.0f events/s p50 %6.2f ms p99 %6.2f ms non-2xx %d rss %s MB\n' \
    "$round" "$n_rps" "$n_p99" "$s_rps" "$s_p50" "$s_p99" "$s_bad" "$rss"
done

: > "$BENCH_OUT/batch.rounds"
for round in $(seq 1 "$ROUNDS"); do
  read -r b_rps b_p50 b_p99 b_bad < <(wrk_run "http://127.0.0.1:$SERVER_PORT/api/events/batch" "$SECONDS_PER_RUN" 16 BATCH=100)
  echo "$round $b_rps $b_p50 $b_p99 $b_bad" >> "$BENCH_OUT/batch.rounds"
  printf 'round %d: batch of 100: %8.0f events/s p50 %6.2f ms p99 %6.2f ms non-2xx %d\n' \
    "$round" "$(echo "$b_rps * 100" | bc)" "$b_p50" "$b_p99" "$b_bad"
done

col() { awk -v c="$1" '{print $c}' "$2" | median; }
n_rps=$(col 2 "$BENCH_OUT/ingest.rounds"); s_rps=$(col 5 "$BENCH_OUT/ingest.rounds")
echo
echo "== ingestion, medians of $ROUNDS rounds x ${SECONDS_PER_RUN}s, $CONNECTIONS connections, $(nproc) cores (load generator included) =="
printf 'nginx fixed 202 (ceiling)     %8.0f req/s    p50 %6.2f ms  p99 %6.2f ms\n' "$n_rps" "$(col 3 "$BENCH_OUT/ingest.rounds")" "$(col 4 "$BENCH_OUT/ingest.rounds")"
printf 'POST /api/events              %8.0f events/s p50 %6.2f ms  p99 %6.2f ms  (%.2f x ceiling)\n' \
  "$s_rps" "$(col 6 "$BENCH_OUT/ingest.rounds")" "$(col 7 "$BENCH_OUT/ingest.rounds")" "$(echo "$s_rps / $n_rps" | bc -l)"
printf 'POST /api/events/batch (100)  %8.0f events/s p50 %6.2f ms  p99 %6.2f ms\n' \
  "$(echo "$(col 2 "$BENCH_OUT/batch.rounds") * 100" | bc)" "$(col 3 "$BENCH_OUT/batch.rounds")" "$(col 4 "$BENCH_OUT/batch.rounds")"
printf 'server RSS after the runs     %8s MB (peak %s MB)\n' "$(rss_mb "$server_pid")" "$(peak_rss_mb "$server_pid")"
echo "backlog left in Redis: $("$BENCH_ROOT/tools/dev.sh" redis-cli xlen 'et:{0}:stream') events (the flusher drains it)"
