#!/usr/bin/env bash
# What the client edge costs single-event ingestion in total: this build with API keys, a
# CORS Origin on every request and both rate limits on (per write key and per client
# address, in Redis, set high enough never to refuse; "edge"), the same without rate limits
# ("keys"), against this build with none of them ("off") and a build from before the edge
# (BASELINE_REF, built once into bench/out/baseline/; "before"), alternating round by round on a private stack (bench/lib/stack.sh), flusher off so that
# the rounds measure the request path; prints the medians and the ratios edge / before.
#
#   bench/edge_total_cost.sh
#   ROUNDS=5 SECONDS_PER_RUN=8 CONNECTIONS=64 BASELINE_REF=<commit> bench/edge_total_cost.sh
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/stack.sh"
ROUNDS=${ROUNDS:-5}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-8}
CONNECTIONS=${CONNECTIONS:-64}
# edge: everything on; keys: keys and CORS, no rate limits; off: this build with none of
# them (--auth=off, no limits, no Origin); before: the baseline build.
VARIANTS=${VARIANTS:-edge keys off before}
# The last commit before the router's gates, keys, CORS and rate limits.
BASELINE_REF=${BASELINE_REF:-1972254}

[[ ${SKIP_SETUP:-0} == 1 ]] || "$BENCH_ROOT/tools/dev.sh" setup >/dev/null  # SKIP_SETUP=1: no build
eval "$("$BENCH_ROOT/tools/dev.sh" env)"
STACK_ROOT=$BENCH_ROOT
CURRENT_BIN=$BENCH_ROOT/build/release/event-tracker
export STACK_KEYS_BIN=$CURRENT_BIN

# The baseline: its own checkout and build folder, kept between runs (same commit, no work).
baseline_dir=$BENCH_OUT/baseline
baseline_commit=$(git -C "$BENCH_ROOT" rev-parse "$BASELINE_REF^{commit}")
BASELINE_BIN=$baseline_dir/build/event-tracker
if [[ ! -x $BASELINE_BIN || $(cat "$baseline_dir/commit" 2>/dev/null) != "$baseline_commit" ]]; then
  echo "building the baseline $baseline_commit in $baseline_dir (once)" >&2
  rm -rf "$baseline_dir" && mkdir -p "$baseline_dir/src"
  git -C "$BENCH_ROOT" archive "$baseline_commit" | tar -x -C "$baseline_dir/src"
  cmake -S "$baseline_dir/src" -B "$baseline_dir/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DTRACKER_BUILD_TESTS=OFF -DTRACKER_BUILD_BENCH=OFF > "$baseline_dir/configure.log" 2>&1
  cmake --build "$baseline_dir/build" -j2 --target event-tracker > "$baseline_dir/build.log" 2>&1 ||
    { echo "baseline build failed: $baseline_dir/build.log" >&2; exit 1; }
  echo "$baseline_commit" > "$baseline_dir/commit"
fi

trap stack_stop EXIT
out="$BENCH_OUT/edge_total_cost.txt"
: > "$out"
for round in $(seq 1 "$ROUNDS"); do
  for variant in $VARIANTS; do
    if [[ $variant == edge ]]; then
      TRACKER_SERVER_BIN=$CURRENT_BIN
      flags=(--auth=on --rate-limit-ip=1000000 --rate-limit-key=1000000 --rate-limit-store=redis)
      origin=https://shop.example
    elif [[ $variant == keys ]]; then
      TRACKER_SERVER_BIN=$CURRENT_BIN
      flags=(--auth=on --rate-limit-ip=0 --rate-limit-key=0)
      origin=https://shop.example
    elif [[ $variant == off ]]; then
      TRACKER_SERVER_BIN=$CURRENT_BIN
      flags=(--auth=off --rate-limit-ip=0 --rate-limit-key=0)
      origin=""
    else
      TRACKER_SERVER_BIN=$BASELINE_BIN
      flags=()
      origin=""
    fi
    export TRACKER_SERVER_BIN
    stack_start "$BENCH_OUT/edge_total_cost_server.log" --flusher=false --backlog-high-water=0 "${flags[@]}"
    read -r rate redis_us server_us < <(ORIGIN=$origin stack_ingest_cost 0 "$SECONDS_PER_RUN" "$CONNECTIONS")
    echo "$variant single $rate $redis_us $server_us" >> "$out"
    printf 'round %d %-6s %8s events/s  server %6s us/event  Redis %6s us/event\n' "$round" "$variant" \
      "$rate" "$server_us" "$redis_us"
    stack_stop
  done
done

col() { median_where "$out" "$1" single "$2"; }
echo "== single events, edge (keys + CORS + rate limits) vs before ($baseline_commit): medians of $ROUNDS" \
     "rounds x ${SECONDS_PER_RUN}s, $CONNECTIONS connections, $(nproc) cores shared with wrk," \
     "load average $(cut -d' ' -f1-3 /proc/loadavg) =="
printf '%-7s %10s %17s %16s\n' build "events/s" "server us/event" "Redis us/event"
for variant in $VARIANTS; do
  printf '%-7s %10.0f %17.2f %16.2f\n' "$variant" "$(col "$variant" 3)" "$(col "$variant" 5)" "$(col "$variant" 4)"
done
ratio() {  # VARIANT REFERENCE
  awk -v v="$1" -v w="$2" -v r="$(col "$1" 3)" -v s="$(col "$2" 3)" -v a="$(col "$1" 5)" \
      -v b="$(col "$2" 5)" -v c="$(col "$1" 4)" -v d="$(col "$2" 4)" \
    'BEGIN { printf "%s / %s: events/s %.3f, server CPU per event %.3f (%+.2f us), Redis CPU per event %.3f\n",
             v, w, r / s, a / b, a - b, c / d }'
}
has() { [[ " $VARIANTS " == *" $1 "* ]]; }
for variant in $VARIANTS; do
  if [[ $variant == off || $variant == before ]]; then continue; fi
  if has off; then ratio "$variant" off; fi
  if has before; then ratio "$variant" before; fi
done
if has off && has before; then ratio off before; fi
