#!/usr/bin/env bash
# The 2M-post data set from an empty database, ROUNDS times: each round creates a database
# of its own, applies the migrations, runs tools/seed_dataset.sh (100,000 users, posts in
# stages 100k -> 500k -> 1M -> 2M) and drops the database. Prints each round's stage times
# and total, then the median and the slowest total against the 30 s goal ("every time":
# the slowest round is the one that counts).
#
#   bench/seed_dataset.sh        ROUNDS=3 SKIP_SETUP=1
#
# Uses the development PostgreSQL (tools/dev.sh env); the rounds' databases are named
# seed_bench_<pid>_<round>. Run it on a quiet machine: the seeding uses both cores.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
ROUNDS=${ROUNDS:-3}
GOAL_S=30
OUT="$BENCH_OUT/seed_dataset"
mkdir -p "$OUT"

[[ -n ${SKIP_SETUP:-} ]] || "$BENCH_ROOT/tools/dev.sh" setup >/dev/null
eval "$("$BENCH_ROOT/tools/dev.sh" env)"
ADMIN_DSN=$TRACKER_PG_DSN
database=""
drop_database() {
  [[ -n $database ]] || return 0
  psql -X -q "$ADMIN_DSN" -c "drop database if exists $database" >/dev/null 2>&1 || true
  database=""
}
trap drop_database EXIT

: > "$OUT/totals"
for round in $(seq 1 "$ROUNDS"); do
  database="seed_bench_$$_$round"
  psql -X -q -v ON_ERROR_STOP=1 "$ADMIN_DSN" -c "create database $database" >/dev/null
  dsn="host=127.0.0.1 port=$TRACKER_PG_PORT user=tracker dbname=$database"
  TRACKER_PG_DSN=$dsn "$BENCH_ROOT/tools/dev.sh" migrate >/dev/null 2>&1
  load=$(cut -d' ' -f1 /proc/loadavg)
  TRACKER_PG_DSN=$dsn "$BENCH_ROOT/tools/seed_dataset.sh" > "$OUT/round$round.log"
  total=$(awk '$1 == "total" { print $2 }' "$OUT/round$round.log")
  stages=$(awk '$1 ~ /^[0-9]+$|^ranking$|^statistics$|^vacuum$/ { printf "%s %s  ", $1, $2 }' "$OUT/round$round.log")
  printf 'round %d: total %6.2f s   (%s)  load average %s\n' "$round" "$total" "$stages" "$load"
  echo "$total" >> "$OUT/totals"
  drop_database
done

median_s=$(median < "$OUT/totals")
slowest_s=$(sort -g "$OUT/totals" | tail -1)
echo "== the 2M-post data set from an empty database, $ROUNDS rounds =="
printf 'median %.2f s, slowest %.2f s; goal <= %d s every time: slowest / goal = %.2fx\n' \
  "$median_s" "$slowest_s" "$GOAL_S" "$(bc -l <<<"$slowest_s / $GOAL_S")"
