#!/usr/bin/env bash
# What each index of `events` costs a COPY, and binary COPY against text COPY.
#
#   bench/events_write_cost.sh          ROWS=500000 ROUNDS=3 VARIANTS="current pk_only ..."
#
# ROWS events of one day (generated like the clients' mixed events: four types, 100,000
# users with one in ten anonymous, 50,000 sessions, 10,000 posts, 50 search keywords, a
# small JSONB metadata object, UUIDv7 ids in time order as the server makes them) are
# written once to a text and a binary COPY file. Each round then, for every variant in
# turn (variants alternate, so a noisy minute hits all of them), creates an empty table
# partitioned like `events` with one daily partition and the variant's key and indexes,
# and times one client-side `\copy ... from` of all the rows into it (psql, a fresh
# session, the table created outside the timed part). PostgreSQL's CPU is the COPY
# backend's own (utime + stime from /proc/self/stat, read through pg_read_file, so the
# role must be a superuser, as in the development cluster).
#
# Variants (the default runs all of them):
#   current          primary key (id, server_time) and the five B-tree indexes of
#                    sql/001_core.sql and sql/010_event_explorer_indexes.sql
#   no_type | no_post | no_user | no_time_id | no_session
#                    current without that one index
#   pk_only          the primary key alone
#   time_pk          the primary key reordered to (server_time, id), which also serves
#                    the explorer's newest-first listing, so (server_time, id) goes
#   brin_time        current with a BRIN on server_time instead of (server_time, id)
#   schema_014       time_pk without (event_type, server_time): sql/014_events_time_key.sql
#   binary           current, binary COPY
#   time_pk_binary   time_pk, binary COPY
#   schema_014_binary  schema_014, binary COPY
#
# Prints per variant: median seconds, rows/s, PostgreSQL CPU µs per row, and the ratio of
# its rows/s to `current` in the same run. Rounds: bench/out/events_write_cost/rounds.txt.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"

ROWS=${ROWS:-500000}
ROUNDS=${ROUNDS:-3}
VARIANTS=${VARIANTS:-"current no_type no_post no_user no_time_id no_session pk_only time_pk brin_time schema_014 binary time_pk_binary schema_014_binary"}
OUT="$BENCH_OUT/events_write_cost"
mkdir -p "$OUT"

eval "$("$BENCH_ROOT/tools/dev.sh" env)"
export PGOPTIONS="-c client_min_messages=warning"
PSQL=(psql "$TRACKER_PG_DSN" -X -q -v ON_ERROR_STOP=1)
SCHEMA=write_cost
TMP=$(mktemp -d /tmp/event-tracker-write-cost.XXXXXX)
chmod 755 "$TMP"
cleanup() {
  "${PSQL[@]}" -c "drop schema if exists $SCHEMA cascade" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT

echo "generating $ROWS events of one day ..."
"${PSQL[@]}" <<SQL
drop schema if exists $SCHEMA cascade;
create schema $SCHEMA;
create table $SCHEMA.source as
with g as (
  select i,
         timestamptz '2026-01-15 00:00:00+00' + (i::float8 * 86400 / $ROWS) * interval '1 second' as server_time,
         md5(i::text) as h,
         (array['CLICK', 'PAGE_VIEW', 'SEARCH', 'LIKE'])[1 + i % 4] as event_type
  from generate_series(0::bigint, $ROWS - 1) as i)
select
  -- UUIDv7: 48 bits of Unix milliseconds, version 7, 12 random bits, variant, 62 random bits.
  (lpad(to_hex((extract(epoch from server_time) * 1000)::bigint), 12, '0') || '7' || substr(h, 1, 3)
     || '8' || substr(h, 4, 15))::uuid as id,
  event_type,
  case when i % 10 = 0 then null else (hashint4(i::int) & 2147483647) % 100000 + 1 end::bigint as user_id,
  'sess-' || substr(md5(((hashint4((i * 7)::int) & 2147483647) % 50000)::text), 1, 20) as session_id,
  ((i * 7919) % 100 + 1)::bigint as component_id,
  'element-' || (i % 50 + 1) as element_id,
  case when event_type = 'SEARCH' then null else (i * 104729) % 10000 + 1 end::bigint as post_id,
  case when event_type = 'SEARCH' then 'keyword-' || ((i * 13) % 50 + 1) end as keyword,
  jsonb_build_object('page', '/posts/' || ((i * 104729) % 10000 + 1), 'ref', 'feed') as metadata,
  server_time - interval '150 milliseconds' as client_time,
  server_time,
  '1767225600000-' || (i / 100) || '/' || (i % 100) as stream_id
from g;
\copy (select * from $SCHEMA.source order by server_time) to '$TMP/rows.txt'
\copy (select * from $SCHEMA.source order by server_time) to '$TMP/rows.bin' with (format binary)
drop table $SCHEMA.source;
SQL

# The DDL of a variant: the table (with the key) and its indexes, before the COPY.
variant_ddl() {
  local variant=$1 key="primary key (id, server_time)"
  local type="create index on $SCHEMA.t (event_type, server_time);"
  local post="create index on $SCHEMA.t (post_id, server_time) where post_id is not null;"
  local user="create index on $SCHEMA.t (user_id, server_time) where user_id is not null;"
  local time_id="create index on $SCHEMA.t (server_time, id);"
  local session="create index on $SCHEMA.t (session_id, server_time);"
  case $variant in
    current | binary) ;;
    no_type) type="" ;;
    no_post) post="" ;;
    no_user) user="" ;;
    no_time_id) time_id="" ;;
    no_session) session="" ;;
    pk_only) type="" post="" user="" time_id="" session="" ;;
    time_pk | time_pk_binary) key="primary key (server_time, id)" time_id="" ;;
    schema_014 | schema_014_binary) key="primary key (server_time, id)" time_id="" type="" ;;
    brin_time) time_id="create index on $SCHEMA.t using brin (server_time);" ;;
    *) echo "unknown variant $variant" >&2; exit 2 ;;
  esac
  cat <<SQL
drop table if exists $SCHEMA.t;
create table $SCHEMA.t (like public.events including defaults, $key) partition by range (server_time);
create table $SCHEMA.t_p20260115 partition of $SCHEMA.t
  for values from ('2026-01-15 00:00:00+00') to ('2026-01-16 00:00:00+00');
$type $post $user $time_id $session
SQL
}

# One timed COPY: prints "seconds backend_cpu_seconds".
copy_round() {
  local variant=$1 file=$TMP/rows.txt format=""
  if [[ $variant == *binary ]]; then file=$TMP/rows.bin format="with (format binary)"; fi
  variant_ddl "$variant" | "${PSQL[@]}" >/dev/null
  "${PSQL[@]}" -At <<SQL | awk -F'|' 'NR == 1 { t0 = $1; c0 = $2 } NR == 2 { printf "%.3f %.3f\n", $1 - t0, $2 - c0 }'
checkpoint;
select extract(epoch from clock_timestamp()),
       (split_part(s, ' ', 12)::numeric + split_part(s, ' ', 13)::numeric) / 100
  from (select split_part(pg_read_file('/proc/self/stat'), ') ', 2) as s) p;  -- from field 3 (state) on
\copy $SCHEMA.t from '$file' $format
select extract(epoch from clock_timestamp()),
       (split_part(s, ' ', 12)::numeric + split_part(s, ' ', 13)::numeric) / 100
  from (select split_part(pg_read_file('/proc/self/stat'), ') ', 2) as s) p;
SQL
}

: >"$OUT/rounds.txt"
for round in $(seq 1 "$ROUNDS"); do
  for variant in $VARIANTS; do
    read -r seconds cpu < <(copy_round "$variant")
    echo "$variant $round $seconds $cpu" | tee -a "$OUT/rounds.txt"
  done
done
"${PSQL[@]}" -c "drop table if exists $SCHEMA.t" >/dev/null

col() { awk -v v="$1" -v c="$2" '$1 == v { print $c }' "$OUT/rounds.txt" | median; }
reference=$(col current 3)
{
  printf "%-16s %9s %10s %12s %9s\n" variant seconds rows/s "pg_cpu_us/row" vs_current
  for variant in $VARIANTS; do
    seconds=$(col "$variant" 3)
    cpu=$(col "$variant" 4)
    awk -v v="$variant" -v s="$seconds" -v c="$cpu" -v n="$ROWS" -v r="$reference" \
      'BEGIN { printf "%-16s %9.2f %10.0f %12.1f %8.2fx\n", v, s, n / s, c * 1e6 / n, r / s }'
  done
  echo "($ROWS rows, one daily partition, median of $ROUNDS rounds, variants alternating; seconds and CPU of the COPY alone)"
} | tee "$OUT/summary.txt"
