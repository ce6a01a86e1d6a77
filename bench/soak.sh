#!/usr/bin/env bash
# Soak: sustained open-loop load on the server (its own Redis and database, flusher on;
# bench/lib/stack.sh), sampled every --interval seconds.
#
#   bench/soak.sh [--minutes 10 | --long] [--rate R] [--max-seconds 20] [--connections 32]
#                 [--interval 10]
#
#   max       --max-seconds closed loop with 64 connections, to measure the maximum
#             (skipped when --rate is given)
#   soak      half that maximum (or --rate) events/s for --minutes (default 10; --long:
#             30), single events of the clients' mix via tools/loadgen --rate
#   drain     until pendingPersistence is 0 (at most 5 minutes), after each phase
#
# Every sample (bench/out/soak/soak.csv): elapsed time, phase, target and achieved rate,
# errors, latency p50/p99/max of the last interval (from the scheduled send time, so
# stalls count in full), server RSS, Redis used_memory, XLEN et:{0}:stream,
# pendingPersistence, the rows in PostgreSQL, the events acknowledged so far and the
# machine's 1-minute load average. bench/out/soak/soak.png plots them (gnuplot).
#
# Pass criteria, printed at the end (exit code 0 when all hold):
#   - no errors: every request of every phase answered 2xx
#   - flat memory: during the soak, the mean server RSS of the last third of the samples
#     is at most 10 % (or 8 MB) above that of the first third
#   - backlog back to zero: pendingPersistence 0 after the load
#   - exact counts: the rows in PostgreSQL equal the events the server acknowledged
#     (the run has a database of its own)
# Also reported, not judged: the backlog's median and maximum during the soak, and
# whether it (and so Redis memory) stays level or grows because the flusher falls behind.
# --interval is whole seconds. SKIP_SETUP=1 skips tools/dev.sh setup.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
# shellcheck source=lib/stack.sh
source "$(dirname "$0")/lib/stack.sh"

minutes=10
rate=""
max_seconds=20
connections=32
interval=10
while (($#)); do
  case $1 in
    --minutes) minutes=$2; shift 2 ;;
    --long) minutes=30; shift ;;
    --rate) rate=$2; shift 2 ;;
    --max-seconds) max_seconds=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    -h | --help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
phase_seconds=$(awk -v m="$minutes" 'BEGIN { s = m * 60; print (s < 1 ? 1 : s) }')

OUT="$BENCH_OUT/soak"
mkdir -p "$OUT"
if [[ ${SKIP_SETUP:-0} != 1 ]]; then "$BENCH_ROOT/tools/dev.sh" setup >/dev/null; fi
eval "$("$BENCH_ROOT/tools/dev.sh" env)"
LOADGEN="$BENCH_ROOT/build/release/tools/loadgen/loadgen"
[[ -x $LOADGEN ]] || { echo "no $LOADGEN (cmake --build build/release --target loadgen)" >&2; exit 1; }
command -v gnuplot >/dev/null || echo "gnuplot not found (Debian: gnuplot-nox); no plot" >&2

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
trap stack_stop EXIT
stack_start "$OUT/server.log" --flusher=true
run_id="soak-$(date -u +%Y%m%d%H%M%S)-$$"
started=$(date +%s.%N)
echo "server $STACK_URL (pid $STACK_PID), Redis port $STACK_REDIS_PORT, database ${STACK_PG_DSN##*dbname=}; session prefix $run_id-"
echo "load average (1, 5, 15 min) before: $load_before on $(nproc) cores"

redis() { redis-cli -h 127.0.0.1 -p "$STACK_REDIS_PORT" "$@"; }
CSV="$OUT/soak.csv"
ACKED="$OUT/acked_so_far"
echo 0 > "$ACKED"
echo "elapsed_s,phase,target_rate,rate,ok,errors,p50_ms,p99_ms,max_ms,server_rss_mb,redis_used_mb,stream_len,pending,pg_rows,acked,load1" > "$CSV"

# sample PHASE TARGET_RATE [LOADGEN_LINE]: appends one line to the CSV; the latency and
# rate columns come from the load generator's periodic line, if given. Each request
# carries one event, so the answered requests add up to the events acknowledged.
sample() {
  local phase=$1 target=$2 line=${3:-"{}"} now rss used xlen pending rows load
  now=$(awk -v s="$started" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f", n - s }')
  rss=$(rss_mb "$STACK_PID" 2>/dev/null || echo nan)
  used=$(redis info memory 2>/dev/null | awk -F: '/^used_memory:/ { printf "%.1f", $2 / 1048576 }')
  xlen=$(redis xlen 'et:{0}:stream' 2>/dev/null || echo nan)
  pending=$(stack_pending 2>/dev/null || echo nan)
  rows=$(psql -X -qtA "$STACK_PG_DSN" -c "select count(*) from events" 2>/dev/null || echo nan)
  load=$(cut -d' ' -f1 /proc/loadavg)
  /usr/bin/python3 - "$line" "$now" "$phase" "$target" "${rss:-nan}" "${used:-nan}" "${xlen:-nan}" "${pending:-nan}" \
    "${rows:-nan}" "$ACKED" "$load" >> "$CSV" <<'PY'
import json, sys
line, now, phase, target, rss, used, xlen, pending, rows, acked_file, load = sys.argv[1:]
try:
    d = json.loads(line)
except ValueError:
    d = {}
acked = int(open(acked_file).read()) + int(d.get("ok", 0))
open(acked_file, "w").write(str(acked))
lat = d.get("latency_ms", {})
cols = [now, phase, target, round(d["rate"], 1) if "rate" in d else "nan", d.get("ok", "nan"),
        d["non2xx"] + d["failed"] if "failed" in d else "nan", lat.get("p50", "nan"), lat.get("p99", "nan"),
        lat.get("max", "nan"), rss, used, xlen, pending, rows, acked, load]
print(",".join(str(c) for c in cols))
PY
}

# run_phase NAME RATE SECONDS [loadgen flags...]: one sample per periodic line of the load
# generator (every $interval s), then a one-line summary of the phase. The acknowledged
# count is set to the phase's exact total at its end (a last partial interval has no line).
run_phase() {
  local name=$1 target=$2 seconds=$3; shift 3
  local lines="$OUT/$name.intervals" summary="$OUT/$name.json" lg before
  : > "$lines"
  before=$(cat "$ACKED")
  "$LOADGEN" --url "$STACK_URL" --scenario events --session-prefix "$run_id-$name-" --connections "$connections" \
    --duration "$seconds" --interval "$interval" --timeout-ms 30000 "$@" > "$summary" 2> "$lines" &
  lg=$!
  tail --pid="$lg" -n +1 -F "$lines" 2>/dev/null | while read -r line; do sample "$name" "$target" "$line"; done
  wait "$lg" || { echo "loadgen failed in $name; see $lines" >&2; return 1; }
  /usr/bin/python3 - "$summary" "$name" "$before" "$ACKED" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
open(sys.argv[4], "w").write(str(int(sys.argv[3]) + s["events_acked"]))
l = s["latency_ms"]
print(f"{sys.argv[2]:>8}: {s['requests']} requests, {s['rate']:.0f}/s ({s['mode']}), errors {s['errors']}, "
      f"latency p50 {l['p50']} p90 {l['p90']} p99 {l['p99']} p99.9 {l['p99.9']} max {l['max']} ms")
PY
}

# drain NAME: samples every $interval s until pendingPersistence is 0 (at most 300 s).
drain() {
  local deadline=$((SECONDS + 300)) next=$((SECONDS + interval)) pending
  while ((SECONDS < deadline)); do
    pending=$(stack_pending 2>/dev/null || echo -1)
    if [[ $pending == 0 ]]; then sample "$1" nan; return 0; fi
    if ((SECONDS >= next)); then sample "$1" nan; next=$((SECONDS + interval)); fi
    sleep 1
  done
  sample "$1" nan
  return 1
}

phases=()
max_rate=""
if [[ -z $rate ]]; then
  echo "max: ${max_seconds} s closed loop, 64 connections"
  run_phase max nan "$max_seconds" --connections 64 --interval 5
  phases+=(max)
  max_rate=$(/usr/bin/python3 -c 'import json, sys; print(int(json.load(open(sys.argv[1]))["rate"]))' "$OUT/max.json")
  rate=$((max_rate / 2))
  echo "measured maximum $max_rate events/s; the soak runs at $rate events/s"
  drain drain-max || true
fi
echo "soak: $rate events/s for ${phase_seconds}s, $connections connections"
soak_from=$(awk -F, 'NR > 1 { t = $1 } END { print t + 0 }' "$CSV")
run_phase soak "$rate" "$phase_seconds" --rate "$rate"
phases+=(soak)
echo "draining the backlog ..."
drained=1
drain drain || drained=0
pending=$(stack_pending 2>/dev/null || echo unknown)
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# Data: every acknowledged event of every phase in PostgreSQL, nothing else.
acked=0; unknown=0; errors=0
for p in "${phases[@]}"; do
  read -r a u e < <(/usr/bin/python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); print(s["events_acked"], s["events_unknown"], s["errors"])' "$OUT/$p.json")
  acked=$((acked + a)); unknown=$((unknown + u)); errors=$((errors + e))
done
rows=$(psql -X -qtA "$STACK_PG_DSN" -c "select count(*) from events")
run_rows=$(psql -X -qtA "$STACK_PG_DSN" -c "select count(*) from events where left(session_id, ${#run_id} + 1) = '$run_id-'")

title="soak: ${max_rate:+closed-loop maximum $max_rate events/s, then }$rate events/s open loop for $minutes min"
title+="; $connections connections, $(nproc) cores, load average $load_before before, $load_after after"
if command -v gnuplot >/dev/null; then
  gnuplot <<GP 2>"$OUT/gnuplot.log" || echo "gnuplot failed; see $OUT/gnuplot.log"
set terminal pngcairo size 1200,1250 font ",10" noenhanced
set output "$OUT/soak.png"
set datafile separator ","
set datafile missing "nan"
set key top left
set grid
set xlabel "elapsed (s)"
set xrange [0:$(awk -F, 'NR > 1 { m = $1 } END { print m + 5 }' "$CSV")]
set object 1 rect from $soak_from, graph 0 to $(awk -F, '$2 == "soak" { t = $1 } END { print t + 0 }' "$CSV"), graph 1 behind fc rgb "#f0f0f0" fs solid noborder
set multiplot layout 5,1 title "$title"
set ylabel "events/s"
plot "$CSV" using 1:4 skip 1 with linespoints title "achieved rate", "" using 1:3 skip 1 with lines dt 2 title "target", "" using 1:6 skip 1 with impulses lw 3 title "errors"
set ylabel "ms"
set logscale y
plot "$CSV" using 1:7 skip 1 with linespoints title "latency p50", "" using 1:8 skip 1 with linespoints title "p99", "" using 1:9 skip 1 with lines title "max"
unset logscale y
set ylabel "MB"
plot "$CSV" using 1:10 skip 1 with linespoints title "server RSS", "" using 1:11 skip 1 with linespoints title "Redis used_memory"
set ylabel "events"
plot "$CSV" using 1:12 skip 1 with linespoints title "backlog: XLEN et:{0}:stream", "" using 1:13 skip 1 with linespoints title "pendingPersistence"
set ylabel "events"
set format y "%.0f"
plot "$CSV" using 1:15 skip 1 with lines lw 2 title "acknowledged so far", "" using 1:14 skip 1 with linespoints title "rows in PostgreSQL"
unset multiplot
GP
fi

echo
echo "== soak results ($(nproc) cores; samples in $CSV; plot $OUT/soak.png) =="
echo "load average (1, 5, 15 min): $load_before before, $load_after after"
[[ -n $max_rate ]] && echo "closed-loop maximum: $max_rate events/s; soak at $rate events/s"
failed=0
verdict() { if [[ $1 == 1 ]]; then echo "PASS $2"; else echo "FAIL $2"; failed=1; fi; }
verdict "$((errors == 0 && unknown == 0))" "errors: $errors non-2xx or unanswered requests over all phases"
# Mean of the first and the last third of the soak's samples, for column $1 of the CSV.
thirds() {
  awk -F, -v c="$1" '
    $2 == "soak" && $c != "nan" { v[++n] = $c }
    END {
      if (n < 3) { print "short", n; exit }
      k = int(n / 3); for (i = 1; i <= k; i++) { a += v[i]; b += v[n - k + i] }
      printf "%.1f %.1f %d\n", a / k, b / k, n }' "$CSV"
}
read -r a b n < <(thirds 10)
if [[ $a == short ]]; then
  echo "PASS flat memory: only $b samples, too few to judge"
else
  ok=$(awk -v a="$a" -v b="$b" 'BEGIN { print ((b - a) <= 8 || (a > 0 && (b - a) / a <= 0.10)) ? 1 : 0 }')
  rss_first=$(awk -F, '$2 == "soak" && $10 != "nan" { print $10; exit }' "$CSV")
  rss_last=$(awk -F, '$2 == "soak" && $10 != "nan" { v = $10 } END { print v }' "$CSV")
  verdict "$ok" "flat memory: server RSS $a -> $b MB, first vs last third of $n samples (limit +10 % or +8 MB); first $rss_first, last $rss_last MB"
  read -r ra rb _ < <(thirds 11)
  read -r xa xb _ < <(thirds 12)
  read -r xmed xmax < <(awk -F, '$2 == "soak" && $12 != "nan" { print $12 }' "$CSV" | sort -g |
    awk '{ a[NR] = $1 } END { m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; print m, a[NR] }')
  steady=$(awk -v a="$xa" -v b="$xb" 'BEGIN { print ((b - a) <= 10000 || (a > 0 && (b - a) / a <= 0.10)) ? 1 : 0 }')
  if ((steady)); then
    echo "PASS steady backlog: XLEN et:{0}:stream median $xmed, max $xmax; mean $xa -> $xb (first vs last third), Redis used_memory $ra -> $rb MB"
  else
    echo "WARN growing backlog: XLEN et:{0}:stream median $xmed, max $xmax; mean $xa -> $xb (first vs last third), Redis used_memory $ra -> $rb MB" \
         "(the flusher does not keep up with this rate; not a pass criterion)"
  fi
fi
verdict "$drained" "backlog back to zero: pendingPersistence $pending, XLEN et:{0}:stream $(redis xlen 'et:{0}:stream')"
verdict "$((rows == acked && run_rows == acked && unknown == 0))" "exact counts: PostgreSQL holds $rows events ($run_rows of the run's sessions), the server acknowledged $acked"
if ((failed)); then echo "FAIL: soak"; exit 1; fi
echo "PASS: soak"
