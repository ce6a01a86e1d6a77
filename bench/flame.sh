#!/usr/bin/env bash
# A flame graph of the server's CPU during single-event ingestion: wrk with
# bench/lib/events.lua (64 connections, keys on) against a private stack (bench/lib/stack.sh),
# `perf record` of the server process for SAMPLE_SECONDS in the middle of the run, folded
# and drawn by Brendan Gregg's FlameGraph scripts (FLAMEGRAPH_DIR: a clone of
# https://github.com/brendangregg/FlameGraph).
#
#   FLAMEGRAPH_DIR=~/FlameGraph bench/flame.sh docs/flame-single-event.svg
#   SERVER_BIN=bench/out/glibc/event-tracker TITLE="glibc malloc" bench/flame.sh /tmp/before.svg
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/stack.sh"
OUT_SVG=${1:?usage: bench/flame.sh OUT.svg}
FLAMEGRAPH_DIR=${FLAMEGRAPH_DIR:?set FLAMEGRAPH_DIR to a clone of https://github.com/brendangregg/FlameGraph}
SAMPLE_SECONDS=${SAMPLE_SECONDS:-6}
CONNECTIONS=${CONNECTIONS:-64}
TITLE=${TITLE:-single-event ingestion, server CPU}
command -v perf >/dev/null || { echo "flame: perf not found (Debian: linux-perf)" >&2; exit 1; }

eval "$("$BENCH_ROOT/tools/dev.sh" env)"
STACK_ROOT=$BENCH_ROOT
export STACK_KEYS_BIN=$BENCH_ROOT/build/release/event-tracker
export TRACKER_SERVER_BIN=${SERVER_BIN:-$STACK_KEYS_BIN}
trap stack_stop EXIT
stack_start "$BENCH_OUT/flame_server.log" --flusher=false --backlog-high-water=0
BATCH=0 wrk -t2 -c"$CONNECTIONS" -d"$((SAMPLE_SECONDS + 6))s" -s "$BENCH_ROOT/bench/lib/events.lua" "$STACK_URL" \
  > "$BENCH_OUT/flame_wrk.txt" 2>&1 &
wrk_pid=$!
sleep 3
# DWARF unwinding: the release build keeps no frame pointers.
perf record -F 499 --call-graph dwarf,16384 -p "$STACK_PID" -o "$BENCH_OUT/flame.perf" -- sleep "$SAMPLE_SECONDS" \
  > /dev/null 2>&1
wait "$wrk_pid"
perf script -i "$BENCH_OUT/flame.perf" 2>/dev/null | "$FLAMEGRAPH_DIR/stackcollapse-perf.pl" > "$BENCH_OUT/flame.folded"
"$FLAMEGRAPH_DIR/flamegraph.pl" --title "$TITLE" --width 1400 "$BENCH_OUT/flame.folded" > "$OUT_SVG"
echo "flame: $OUT_SVG ($(wc -l < "$BENCH_OUT/flame.folded") distinct stacks); wrk: $(grep Requests/sec "$BENCH_OUT/flame_wrk.txt")"
