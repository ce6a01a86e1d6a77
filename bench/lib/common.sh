# shellcheck shell=bash
# Helpers shared by the benchmark scripts: medians, RSS, a spare nginx as the HTTP ceiling.
BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
BENCH_OUT="${BENCH_ROOT}/bench/out"
mkdir -p "$BENCH_OUT"

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# median_where FILE A B COLUMN: the median of COLUMN over the lines whose first two fields
# are A and B (rounds written as "variant batch value...").
median_where() { awk -v a="$2" -v b="$3" -v c="$4" '$1 == a && $2 == b { print $c }' "$1" | median; }

# batch_label 0 -> single, N -> batchN (the BATCH of bench/lib/events.lua).
batch_label() { if [[ $1 == 0 ]]; then echo single; else echo "batch$1"; fi; }

# CPU seconds a process has used (utime + stime; /proc counts 10 ms ticks).
cpu_seconds() { awk '{ printf "%.3f", ($14 + $15) / 100 }' "/proc/$1/stat"; }

rss_mb() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
peak_rss_mb() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

# wrk_run URL SECONDS CONNECTIONS [env...] -> prints "rps p50_ms p99_ms non2xx"
wrk_run() {
  local url=$1 seconds=$2 connections=$3; shift 3
  env "$@" wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "${BENCH_ROOT}/bench/lib/events.lua" "$url" \
    > "$BENCH_OUT/wrk.last" 2>&1
  awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /Requests\/sec/ { rps = $2 }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    /Non-2xx/ { bad = $5 }
    END { printf "%s %.2f %.2f %d\n", rps, p50, p99, bad + 0 }' "$BENCH_OUT/wrk.last"
}

# A throwaway nginx answering every request with a fixed 202: the most this machine's
# HTTP stack can do with the same client, the ceiling the server is compared to.
nginx_ceiling_start() {
  local port=$1 dir="$BENCH_OUT/nginx"
  mkdir -p "$dir"
  cat > "$dir/nginx.conf" <<CONF
worker_processes auto;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_buffer_size 64k;
  server {
    listen 127.0.0.1:$port reuseport;
    location / { default_type application/json; return 202 '{"eventId":"01a214c1-0337-7044-aeff-ca965097db54"}'; }
  }
}
CONF
  nginx -c "$dir/nginx.conf" -p "$dir"
}
nginx_ceiling_stop() { local dir="$BENCH_OUT/nginx"; [[ -f $dir/nginx.pid ]] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null; sleep 0.3; }

wait_http() {
  for _ in $(seq 1 100); do curl -fs -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "no answer from $1" >&2; return 1
}
