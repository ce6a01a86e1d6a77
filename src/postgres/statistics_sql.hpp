#pragma once
#include <string_view>

// The statements the statistics API runs against PostgreSQL, in one place so that the
// query-plan test (tests/integration/statistics_plans_pgtest.cpp) explains exactly what
// CounterArchive executes. Table names are unqualified: they resolve through search_path.
// CounterArchive runs them as prepared statements (parsed once per connection; planning
// was most of their cost), so PostgreSQL may use a generic plan, which the test checks too.
namespace tracker::postgres::statistics_sql {

// All-time counts of some query shapes, in the order asked, with the statement's
// snapshot. $1..$4: text[] event types, bigint[] components, bigint[] posts, text[]
// keywords (0 / '' = any). One primary-key lookup of event_totals per shape.
inline constexpr std::string_view kTotals =
    "select pg_current_snapshot()::text, array("
    "  select coalesce(t.count, 0) from unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[])"
    "    with ordinality as k(event_type, component_id, post_id, keyword, i)"
    "  left join event_totals t using (event_type, component_id, post_id, keyword) order by k.i)::text";

// Counts of one query shape per bucket of $4 ms over [$2, $3) ms, as two arrays, bucket
// numbers (from $2) and counts, with the statement's snapshot. $1 event type, $5
// component, $6 post, $7 keyword (0 / '' = any): rows are query shapes, so the key is
// matched exactly and the read is one range of event_stats' primary key. A bucket number
// may repeat: the caller adds up its counts.
//
// kBucketRows answers one element per row (per minute), for minute buckets: grouping in
// PostgreSQL would cost more than the read. kBuckets groups, for wider buckets, where a
// long range has many more rows than buckets. Both compute with date_part() (float8):
// extract() is numeric, which made the statement several times slower.
inline constexpr std::string_view kBucketRows =
    "select pg_current_snapshot()::text,"
    " coalesce(array_agg(((date_part('epoch', bucket) * 1000)::bigint - $2::bigint) / $4::bigint)::text, '{}'),"
    " coalesce(array_agg(count)::text, '{}')"
    " from event_stats where event_type = $1 and component_id = $5 and post_id = $6 and keyword = $7"
    "  and bucket >= to_timestamp($2::bigint / 1000.0) and bucket < to_timestamp($3::bigint / 1000.0)";

inline constexpr std::string_view kBuckets =
    "select pg_current_snapshot()::text, coalesce(array_agg(b)::text, '{}'), coalesce(array_agg(c)::text, '{}')"
    " from (select ((date_part('epoch', bucket) * 1000)::bigint - $2::bigint) / $4::bigint as b, sum(count) as c"
    "  from event_stats where event_type = $1 and component_id = $5 and post_id = $6 and keyword = $7"
    "   and bucket >= to_timestamp($2::bigint / 1000.0) and bucket < to_timestamp($3::bigint / 1000.0)"
    "  group by 1) x";

// Which of the flush ids $1 (text[]) were applied in a transaction visible in the
// snapshot $2 (pg_snapshot text).
inline constexpr std::string_view kAppliedIn =
    "select flush_id from flush_ledger where flush_id = any($1::text[]) "
    "and pg_visible_in_snapshot(applied_xid, $2::pg_snapshot)";

}  // namespace tracker::postgres::statistics_sql
