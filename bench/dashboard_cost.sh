#!/usr/bin/env bash
# What an open dashboard costs the server: its CPU time with the page (GET / in a real
# headless Chromium, polling as a person's browser would) against without, in rounds that
# alternate which goes first, medians and their ratio. Two settings:
#   loaded  the release server (flusher on) under loadgen's event mix at RATE events/s
#   idle    no load at all: the page's polling alone, which a loaded machine's noise hides
#           (its CPU per second, divided by the loaded server's, is the share it costs)
#
#   bench/dashboard_cost.sh
#   ROUNDS=4 SECONDS_PER_RUN=20 IDLE_SECONDS=40 RATE=10000  (idle runs are longer: CPU time
#                                                          comes in 10 ms ticks)
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/stack.sh"
ROUNDS=${ROUNDS:-4}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-20}
RATE=${RATE:-10000}
IDLE_SECONDS=${IDLE_SECONDS:-40}

"$BENCH_ROOT/tools/dev.sh" setup >/dev/null
eval "$("$BENCH_ROOT/tools/dev.sh" env)"
STACK_ROOT=$BENCH_ROOT
LOADGEN=${LOADGEN:-$BENCH_ROOT/build/release/tools/loadgen/loadgen}
BROWSER_PID=""
BROWSER_DIR=""

browser_stop() {
  if [[ -n $BROWSER_PID ]]; then
    kill -- "-$BROWSER_PID" 2>/dev/null || true
    wait "$BROWSER_PID" 2>/dev/null || true
  fi
  [[ -n $BROWSER_DIR ]] && rm -rf "$BROWSER_DIR"
  BROWSER_PID="" BROWSER_DIR=""
}
trap 'browser_stop; stack_stop' EXIT

# The page open in a headless Chromium of its own (its own process group and profile).
browser_start() {
  BROWSER_DIR=$(mktemp -d /tmp/dashboard-cost.XXXXXX)
  setsid chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --user-data-dir="$BROWSER_DIR" "$STACK_URL/" > "$BENCH_OUT/dashboard_cost_browser.log" 2>&1 &
  BROWSER_PID=$!
  sleep 4  # loaded, first refresh done: the steady polling is what is measured
}

requests() { curl -fs "$STACK_URL/metrics" | awk '/^tracker_http_requests_total / { print $2 }'; }

# One run: prints "server_cpu_share_of_a_core requests_per_second".
measure() {
  local mode=$1 page=$2 cpu0 cpu1 req0 req1 seconds=$SECONDS_PER_RUN
  [[ $mode == idle ]] && seconds=$IDLE_SECONDS
  [[ $page == with ]] && browser_start
  cpu0=$(cpu_seconds "$STACK_PID"); req0=$(requests)
  if [[ $mode == loaded ]]; then
    "$LOADGEN" --url "$STACK_URL" --scenario events --rate "$RATE" --duration "$SECONDS_PER_RUN" --threads 2 \
      --connections 32 > "$BENCH_OUT/dashboard_cost_loadgen.log" 2>&1
  else
    sleep "$seconds"
  fi
  cpu1=$(cpu_seconds "$STACK_PID"); req1=$(requests)
  browser_stop
  awk -v c0="$cpu0" -v c1="$cpu1" -v r0="$req0" -v r1="$req1" -v s="$seconds" \
    'BEGIN { printf "%.4f %.1f\n", (c1 - c0) / s, (r1 - r0) / s }'
}

stack_start "$BENCH_OUT/dashboard_cost_server.log" --flusher=true
: > "$BENCH_OUT/dashboard_cost.txt"
for round in $(seq 1 "$ROUNDS"); do
  order=(without with)
  (( round % 2 == 0 )) && order=(with without)
  for mode in loaded idle; do
    for page in "${order[@]}"; do
      read -r cpu rps < <(measure "$mode" "$page")
      echo "$mode $page $cpu $rps" >> "$BENCH_OUT/dashboard_cost.txt"
      printf 'round %d %-6s %-7s page: server CPU %.4f cores, %8.1f requests/s\n' "$round" "$mode" "$page" "$cpu" "$rps"
    done
  done
done

col() { awk -v m="$1" -v p="$2" -v c="$3" '$1 == m && $2 == p { print $c }' "$BENCH_OUT/dashboard_cost.txt" | median; }
echo "== server CPU with the dashboard open vs without: medians of $ROUNDS rounds x ${SECONDS_PER_RUN}s, $(nproc) cores =="
for mode in loaded idle; do
  printf '%-6s without %.4f cores (%.0f req/s)  with %.4f cores (%.0f req/s)  ratio %.3f\n' "$mode" \
    "$(col "$mode" without 3)" "$(col "$mode" without 4)" "$(col "$mode" with 3)" "$(col "$mode" with 4)" \
    "$(awk -v a="$(col "$mode" with 3)" -v b="$(col "$mode" without 3)" 'BEGIN { print a / b }')"
done
# The loaded ratio mixes in the browser's own CPU (it shares the machine with the server and
# the load), so the page's share is taken from the idle runs.
awk -v idle_with="$(col idle with 3)" -v idle_without="$(col idle without 3)" -v loaded="$(col loaded without 3)" \
    -v rate="$(col loaded without 4)" 'BEGIN { page = idle_with - idle_without;
      printf "the page alone: %.4f cores = %.2f %% of the server'\''s CPU at %.0f events/s (asked: '"$RATE"')\n", page, 100 * page / loaded, rate }'
