#!/usr/bin/env bash
# What the memory allocator costs single-event ingestion: the release server as built (with
# mimalloc, CMake option TRACKER_MIMALLOC), the same sources built without it (glibc's
# malloc; built once into bench/out/glibc/) and that build with jemalloc preloaded
# (LD_PRELOAD, Debian's libjemalloc2), alternating round by round on a private stack
# (bench/lib/stack.sh) with keys on and flusher off; prints medians and ratios to glibc.
#
#   bench/allocator_cost.sh
#   ROUNDS=5 SECONDS_PER_RUN=8 CONNECTIONS=64 bench/allocator_cost.sh
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/stack.sh"
ROUNDS=${ROUNDS:-5}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-8}
CONNECTIONS=${CONNECTIONS:-64}
declare -A LIBRARY=([glibc]="" [mimalloc]="" [jemalloc]=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2)
VARIANTS=${VARIANTS:-glibc mimalloc jemalloc}

[[ ${SKIP_SETUP:-0} == 1 ]] || "$BENCH_ROOT/tools/dev.sh" setup >/dev/null  # SKIP_SETUP=1: no build
eval "$("$BENCH_ROOT/tools/dev.sh" env)"
STACK_ROOT=$BENCH_ROOT
SERVER=$BENCH_ROOT/build/release/event-tracker
export STACK_KEYS_BIN=$SERVER
# glibc's malloc: the working tree's sources, configured without mimalloc (rebuilt when
# they change; ninja builds only what did).
GLIBC_SERVER=$BENCH_OUT/glibc/event-tracker
cmake -S "$BENCH_ROOT" -B "$BENCH_OUT/glibc" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTRACKER_MIMALLOC=OFF \
  -DTRACKER_BUILD_TESTS=OFF -DTRACKER_BUILD_BENCH=OFF > "$BENCH_OUT/glibc.log" 2>&1 &&
  cmake --build "$BENCH_OUT/glibc" -j2 --target event-tracker >> "$BENCH_OUT/glibc.log" 2>&1 ||
  { echo "allocator_cost: the glibc build failed: $BENCH_OUT/glibc.log" >&2; exit 1; }
for variant in $VARIANTS; do
  [[ -z ${LIBRARY[$variant]} || -e ${LIBRARY[$variant]} ]] ||
    { echo "allocator_cost: ${LIBRARY[$variant]} missing (apt-get install libjemalloc2)" >&2; exit 1; }
done
# The server started through a wrapper that execs it (same process id, so its CPU time is
# read as usual) with the allocator preloaded.
wrapper=$BENCH_OUT/allocator_server.sh
cat > "$wrapper" <<WRAP
#!/bin/sh
[ -n "\$BENCH_PRELOAD" ] && export LD_PRELOAD="\$BENCH_PRELOAD"
exec "\$BENCH_SERVER" "\$@"
WRAP
chmod +x "$wrapper"
export TRACKER_SERVER_BIN=$wrapper

trap stack_stop EXIT
out="$BENCH_OUT/allocator_cost.txt"
: > "$out"
for round in $(seq 1 "$ROUNDS"); do
  for variant in $VARIANTS; do
    server=$GLIBC_SERVER
    [[ $variant == mimalloc ]] && server=$SERVER
    BENCH_SERVER=$server BENCH_PRELOAD=${LIBRARY[$variant]} stack_start "$BENCH_OUT/allocator_cost_server.log" --flusher=false \
      --backlog-high-water=0
    read -r rate redis_us server_us < <(stack_ingest_cost 0 "$SECONDS_PER_RUN" "$CONNECTIONS")
    echo "$variant single $rate $redis_us $server_us $(rss_mb "$STACK_PID")" >> "$out"
    printf 'round %d %-9s %8s events/s  server %6s us/event  Redis %6s us/event\n' "$round" "$variant" \
      "$rate" "$server_us" "$redis_us"
    stack_stop
  done
done

col() { median_where "$out" "$1" single "$2"; }
echo "== single events by allocator: medians of $ROUNDS rounds x ${SECONDS_PER_RUN}s, $CONNECTIONS connections," \
     "$(nproc) cores shared with wrk, load average $(cut -d' ' -f1-3 /proc/loadavg) =="
printf '%-9s %10s %17s %8s %10s\n' allocator "events/s" "server us/event" ratio "RSS MB"
for variant in $VARIANTS; do
  printf '%-9s %10.0f %17.2f %8.3f %10.1f\n' "$variant" "$(col "$variant" 3)" "$(col "$variant" 5)" \
    "$(awk -v a="$(col "$variant" 5)" -v b="$(col glibc 5)" 'BEGIN { print a / b }')" "$(col "$variant" 6)"
done
