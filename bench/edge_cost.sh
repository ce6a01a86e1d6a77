#!/usr/bin/env bash
# Server CPU that CORS and gzip add to one single-event request (bench/edge_bench.cpp):
# the real ingest route over an in-memory store, cases interleaved at random, REPETITIONS
# repetitions each; prints the median time per request of each case, its ratio to the
# router without CORS ("before") and the difference.
#
#   bench/edge_cost.sh             (build/release/bench/micro_bench, built by the release preset)
#   REPETITIONS=30 bench/edge_cost.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
BIN=${MICRO_BENCH_BIN:-$ROOT/build/release/bench/micro_bench}
REPETITIONS=${REPETITIONS:-20}
[[ -x $BIN ]] || { echo "edge_cost: $BIN not built (cmake --build --preset release)" >&2; exit 1; }

"$BIN" --benchmark_filter='^single_event/' --benchmark_repetitions="$REPETITIONS" \
  --benchmark_enable_random_interleaving=true --benchmark_min_time=0.2 \
  --benchmark_report_aggregates_only=true --benchmark_format=csv 2>/dev/null |
  awk -F, '
    $1 ~ /_median"?$/ {
      name = $1; gsub(/"/, "", name); sub(/^single_event\//, "", name); sub(/_median$/, "", name)
      ns[name] = $4; order[++n] = name
    }
    END {
      base = ns["before"]
      printf "%-10s %12s %8s %10s\n", "case", "median ns", "ratio", "delta ns"
      for (i = 1; i <= n; i++) {
        c = order[i]
        printf "%-10s %12.0f %7.3fx %+10.0f\n", c, ns[c], ns[c] / base, ns[c] - base
      }
    }'
