#!/usr/bin/env bash
# The native load generator (tools/loadgen) against wrk, side by side: the same
# connections, threads and request bodies (bench/lib/events.lua's event mix, which
# loadgen's "events" scenario reproduces byte for byte), first against nginx answering a
# fixed 202 (the ceiling of this machine's HTTP stack) and then against the server (its own
# Redis and database, flusher on). Rounds alternate the two clients; medians are printed,
# with the ratio loadgen / wrk and the CPU time each client spent per request.
#   bench/loadgen_vs_wrk.sh      (ROUNDS=3 SECONDS_PER_RUN=5 CONNECTIONS=64 THREADS=2;
#                                 SKIP_SETUP=1 skips tools/dev.sh setup)
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
# shellcheck source=lib/stack.sh
source "$(dirname "$0")/lib/stack.sh"
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
# Own folder: the nginx of bench/ingest.sh keeps its files in bench/out/nginx.
BENCH_OUT="$BENCH_OUT/loadgen_vs_wrk"
mkdir -p "$BENCH_OUT"

if [[ ${SKIP_SETUP:-0} != 1 ]]; then "$BENCH_ROOT/tools/dev.sh" setup >/dev/null; fi
eval "$("$BENCH_ROOT/tools/dev.sh" env)"
LOADGEN="$BENCH_ROOT/build/release/tools/loadgen/loadgen"
[[ -x $LOADGEN ]] || { echo "no $LOADGEN (cmake --build build/release --target loadgen)" >&2; exit 1; }

nginx_port=$(free_port)
nginx_ceiling_start "$nginx_port"
trap 'nginx_ceiling_stop; stack_stop' EXIT
stack_start "$BENCH_OUT/server.log"

# run_wrk URL -> "rps p99_ms errors cpu_us_per_request"
run_wrk() {
  local cpu
  /usr/bin/time -o "$BENCH_OUT/cpu.last" -f '%U %S' wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" \
    --latency -s "$BENCH_ROOT/bench/lib/events.lua" "$1" > "$BENCH_OUT/wrk.last" 2>&1
  cpu=$(tail -1 "$BENCH_OUT/cpu.last")
  awk -v cpu="$cpu" '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /Requests\/sec/ { rps = $2 } /^ +99%/ { p99 = ms($2) }
    /Non-2xx/ { bad += $5 }
    /Socket errors/ { gsub(/,/, ""); bad += $4 + $6 + $8 + $10 }
    /requests in/ { n = $1 }
    END { split(cpu, c, " "); printf "%s %.2f %d %.2f\n", rps, p99, bad, (c[1] + c[2]) * 1e6 / (n > 0 ? n : 1) }' "$BENCH_OUT/wrk.last"
}

# run_loadgen URL -> "rps p99_ms errors cpu_us_per_request"
run_loadgen() {
  local cpu
  /usr/bin/time -o "$BENCH_OUT/cpu.last" -f '%U %S' "$LOADGEN" --url "$1" --scenario events \
    --connections "$CONNECTIONS" --threads "$THREADS" --duration "$SECONDS_PER_RUN" > "$BENCH_OUT/loadgen.last" 2>/dev/null
  cpu=$(tail -1 "$BENCH_OUT/cpu.last")
  /usr/bin/python3 - "$BENCH_OUT/loadgen.last" "$cpu" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
user, system = map(float, sys.argv[2].split())
print(f"{s['rate']:.2f} {s['latency_ms']['p99']:.2f} {s['errors']} {(user + system) * 1e6 / max(1, s['requests']):.2f}")
PY
}

"$LOADGEN" --url "$STACK_URL" --connections "$CONNECTIONS" --threads "$THREADS" --duration 2 >/dev/null  # warm-up
: > "$BENCH_OUT/rounds"
for round in $(seq 1 "$ROUNDS"); do
  for target in nginx server; do
    if [[ $target == nginx ]]; then url="http://127.0.0.1:$nginx_port/api/events"; else url="$STACK_URL/api/events"; fi
    # Alternate which client goes first, so neither always meets a warmer or busier machine.
    if ((round % 2)); then order="wrk loadgen"; else order="loadgen wrk"; fi
    for client in $order; do
      read -r rps p99 bad cpu < <("run_$client" "$url")
      echo "$round $target $client $rps $p99 $bad $cpu" >> "$BENCH_OUT/rounds"
      printf 'round %d  %-6s %-8s %9.0f req/s  p99 %7.2f ms  errors %d  client CPU %6.2f us/request\n' \
        "$round" "$target" "$client" "$rps" "$p99" "$bad" "$cpu"
    done
  done
done

med() { awk -v t="$1" -v c="$2" -v col="$3" '$2 == t && $3 == c { print $col }' "$BENCH_OUT/rounds" | median; }
echo
echo "== loadgen vs wrk: medians of $ROUNDS rounds x ${SECONDS_PER_RUN}s, $CONNECTIONS connections, $THREADS threads each, $(nproc) cores shared with the target =="
printf '%-28s %12s %12s %8s %14s %14s %16s\n' target "wrk req/s" "loadgen" ratio "wrk p99 ms" "loadgen p99" "CPU us/req w/l"
for target in nginx server; do
  w=$(med "$target" wrk 4); l=$(med "$target" loadgen 4)
  label=$([[ $target == nginx ]] && echo "nginx fixed 202 (ceiling)" || echo "server POST /api/events")
  printf '%-28s %12.0f %12.0f %7.2fx %14.2f %14.2f %8.2f/%-7.2f\n' "$label" "$w" "$l" "$(echo "$l / $w" | bc -l)" \
    "$(med "$target" wrk 5)" "$(med "$target" loadgen 5)" "$(med "$target" wrk 7)" "$(med "$target" loadgen 7)"
done
errors=$(awk '{ s += $6 } END { print s + 0 }' "$BENCH_OUT/rounds")
echo "non-2xx answers over all runs: $errors"
