#!/usr/bin/env bash
# Erasing a user's data (DELETE /api/users/{userId}/events): how long it takes with the
# user's events among many others', and what the lock it shares with the flusher costs a
# flush batch.
#
#   bench/erase.sh        OTHERS=1000000 STORED=10000 UNFLUSHED=1000 BACKLOG=100000 ROUNDS=5 LOCK_SECONDS=10
#
# On a private stack (bench/lib/stack.sh) with the flusher off, so that what waits in
# Redis stays there:
#   1. OTHERS events of 100,000 other users go into PostgreSQL directly (SQL, over the last
#      three days' partitions), and BACKLOG events of other users wait in the Redis stream
#      (sent through POST /api/events/batch).
#   2. Each round adds STORED events of the user to PostgreSQL (SQL) and UNFLUSHED to the
#      stream (through the API, mixed into batches with 10 others' events each), then
#      times the DELETE (curl's total time) and checks that it answered exactly those
#      counts. The reference, in the same round: the user's STORED rows inserted again and
#      removed by one plain `delete from events where user_id = …` (psql's \timing), the
#      least the PostgreSQL part can take. Medians over ROUNDS.
#   3. The flusher's lock: pgbench runs a flush-shaped transaction (begin, 200 rows into a
#      table like `events`, the mark moved, commit) with and without the erasure lock taken
#      shared (begin, the lock and the savepoint in one pipeline, as the flusher sends
#      them), LOCK_SECONDS each, alternating, ROUNDS times; the medians' ratio is the cost
#      of the lock for the smallest useful batches (the default batch is 20,000 events).
#
# Results: printed, and bench/out/erase/ (rounds, server log, summary.txt).
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
# shellcheck source=lib/stack.sh
source "$(dirname "$0")/lib/stack.sh"

OTHERS=${OTHERS:-1000000}
STORED=${STORED:-10000}
UNFLUSHED=${UNFLUSHED:-1000}
BACKLOG=${BACKLOG:-100000}
ROUNDS=${ROUNDS:-5}
LOCK_SECONDS=${LOCK_SECONDS:-10}
OUT="$BENCH_OUT/erase"
mkdir -p "$OUT"
: > "$OUT/rounds.txt"

if [[ ${SKIP_SETUP:-0} != 1 ]]; then "$BENCH_ROOT/tools/dev.sh" setup >/dev/null; fi
eval "$("$BENCH_ROOT/tools/dev.sh" env)"
export TRACKER_SERVER_BIN=${TRACKER_SERVER_BIN:-$BENCH_ROOT/build/release/event-tracker}
trap stack_stop EXIT
stack_start "$OUT/server.log" --flusher=false --backlog-high-water=0
psql_run() { psql "$STACK_PG_DSN" -X -q -v ON_ERROR_STOP=1 "$@"; }
USER_ID=987654321
load_before=$(cut -d" " -f1-3 /proc/loadavg)

# send_events N_USER N_OTHERS: the user's events spread evenly among the others', 11 per batch.
send_events() {
  /usr/bin/python3 - "$STACK_URL" "$USER_ID" "$1" "$2" <<'PY'
import http.client, json, sys, urllib.parse
url, user, mine, others = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
events = []
step = max(1, others // max(mine, 1))
o = 0
for i in range(mine):
    events.append(user)
    events.extend(1 + (o + k) % 100000 for k in range(min(step, others - o)))
    o += min(step, others - o)
events.extend(1 + (o + k) % 100000 for k in range(others - o))
parts = urllib.parse.urlsplit(url)
conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
for at in range(0, len(events), 500):
    body = {"events": [{"eventType": "CLICK", "userId": u, "sessionId": f"erase-bench-{u % 97}",
                        "metadata": {"componentId": 1002, "elementId": "element-1"}} for u in events[at:at + 500]]}
    conn.request("POST", "/api/events/batch", json.dumps(body), {"Content-Type": "application/json"})
    answer = conn.getresponse()
    data = answer.read()
    if answer.status != 202 or json.loads(data)["accepted"] != len(body["events"]):
        sys.exit(f"batch refused: {answer.status} {data[:200]!r}")
PY
}

insert_user_rows() {
  psql_run -c "insert into events (id, event_type, user_id, session_id, component_id, metadata, server_time)
    select gen_random_uuid(), 'CLICK', $USER_ID, 'erase-bench', 1002, '{}', now() - (i % 259200) * interval '1 second'
    from generate_series(1, $STORED) i"
}

echo "private stack: server $STACK_URL, database ${STACK_PG_DSN##*dbname=}"
t0=$(date +%s.%N)
psql_run -c "select ensure_event_partitions((now() at time zone 'UTC')::date - 4, 12)" >/dev/null
psql_run -c "insert into events (id, event_type, user_id, session_id, component_id, metadata, server_time)
  select gen_random_uuid(), 'CLICK', 1 + i % 100000, 's' || (i % 5000), 1000 + i % 1000, '{}',
         now() - (i % 259200) * interval '1 second'
  from generate_series(1, $OTHERS) i"
psql_run -c "vacuum analyze events" >/dev/null
send_events 0 "$BACKLOG"
printf 'set up: %s events of others in PostgreSQL, %s in Redis, in %.0f s\n' "$OTHERS" "$BACKLOG" \
  "$(echo "$(date +%s.%N) - $t0" | bc)"

for round in $(seq 1 "$ROUNDS"); do
  insert_user_rows
  send_events "$UNFLUSHED" $((UNFLUSHED * 10))
  answer=$(curl -fs -X DELETE -w '\n%{time_total}' "$STACK_URL/api/users/$USER_ID/events")
  seconds=$(tail -1 <<< "$answer")
  body=$(head -1 <<< "$answer")
  expected="{\"userId\":$USER_ID,\"eventsDeleted\":{\"stored\":$STORED,\"unflushed\":$UNFLUSHED,\"rejected\":0}"
  [[ $body == "$expected"* ]] || { echo "round $round: unexpected answer $body" >&2; exit 1; }
  insert_user_rows
  plain=$(psql_run -c '\timing on' -c "delete from events where user_id = $USER_ID" | awk '/^Time:/ { print $2 }')
  echo "$round $(echo "$seconds * 1000" | bc -l) $plain" | tee -a "$OUT/rounds.txt"
done
erase_ms=$(awk '{ print $2 }' "$OUT/rounds.txt" | median)
plain_ms=$(awk '{ print $3 }' "$OUT/rounds.txt" | median)

# The lock's cost to a flush batch, with pgbench: the same transaction with and without it.
psql_run -c "create table bench_batch (like events including all)" \
         -c "create table bench_mark (id int primary key, last_ms bigint)" -c "insert into bench_mark values (1, 0)"
cat > "$OUT/with_lock.sql" <<'SQL'
\startpipeline
begin;
select pg_advisory_xact_lock_shared(hashtext('event-tracker erasure'));
savepoint batch;
\endpipeline
insert into bench_batch (id, event_type, user_id, session_id, component_id, metadata, server_time)
  select gen_random_uuid(), 'CLICK', i, 's', 1002, '{}', now() from generate_series(1, 200) i;
update bench_mark set last_ms = last_ms + 1 where id = 1;
commit;
SQL
grep -v -e advisory -e savepoint "$OUT/with_lock.sql" > "$OUT/without_lock.sql"
: > "$OUT/lock_rounds.txt"
for round in $(seq 1 "$ROUNDS"); do
  for variant in with_lock without_lock; do
    tps=$(pgbench -n -M extended -c 1 -T "$LOCK_SECONDS" -f "$OUT/$variant.sql" "$STACK_PG_DSN" 2>/dev/null |
          awk '/^tps/ { print $3; exit }')
    echo "$variant $round $tps" | tee -a "$OUT/lock_rounds.txt"
  done
  psql_run -c "truncate bench_batch"
done
with_tps=$(awk '$1 == "with_lock" { print $3 }' "$OUT/lock_rounds.txt" | median)
without_tps=$(awk '$1 == "without_lock" { print $3 }' "$OUT/lock_rounds.txt" | median)

{
  echo "load average before: $load_before"
  printf 'erase a user: %s stored + %s unflushed events among %s stored and %s+ waiting: median %.0f ms over %s rounds\n' \
    "$STORED" "$UNFLUSHED" "$OTHERS" "$BACKLOG" "$erase_ms" "$ROUNDS"
  printf 'reference, plain delete of the %s stored rows: median %.0f ms (ratio %.1fx)\n' \
    "$STORED" "$plain_ms" "$(echo "$erase_ms / $plain_ms" | bc -l)"
  printf 'flush-shaped transaction of 200 rows: %.0f tps with the lock, %.0f without (ratio %.3f)\n' \
    "$with_tps" "$without_tps" "$(echo "$with_tps / $without_tps" | bc -l)"
} | tee "$OUT/summary.txt"
