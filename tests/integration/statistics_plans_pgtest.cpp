// Query plans of the statistics statements (src/postgres/statistics_sql.hpp, exactly what
// CounterArchive runs) against realistically sized tables: in a temporary schema, copies
// of event_stats, event_totals and flush_ledger (LIKE ... INCLUDING ALL, so the indexes of
// the migrations) hold ~300,000 rows, are analyzed, and every statement is explained with
// the parameters the server sends, both as planned for them and as a generic plan (the
// server runs them as prepared statements). Each one must read its table through the primary key
// (an Index Scan, or a Bitmap Heap Scan over a Bitmap Index Scan of it): no sequential
// scan, and no other index (e.g. event_stats_bucket_idx for a 24-hour series).
#include "postgres/connection.hpp"
#include "postgres/counter_archive.hpp"
#include "postgres/statistics_sql.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
namespace sql = tracker::postgres::statistics_sql;
using namespace std::chrono_literals;
using tracker::postgres::Connection;
using tracker::postgres::ConnectionOptions;
using tracker::postgres::Result;
using Params = std::vector<std::optional<std::string>>;

constexpr std::int64_t kMinuteMs = 60'000;
constexpr std::int64_t kDayMs = 24 * 60 * kMinuteMs;

std::string dsn() {
  const char* env = std::getenv("TRACKER_PG_DSN");
  return env != nullptr && *env != '\0' ? env : "host=127.0.0.1 port=55432 user=tracker dbname=tracker";
}

template <class Body>
void run(Body body) {
  asio::io_context io;
  std::exception_ptr error;
  asio::co_spawn(io, body(), [&](std::exception_ptr e) { error = e; });
  io.run();
  if (error) std::rethrow_exception(error);
}

// One plan node, flattened: its type, the table it reads, the index it uses.
struct Node {
  std::string type;
  std::string relation;
  std::string index;
};

void flatten(const json::object& plan, std::vector<Node>& out) {
  Node node;
  node.type = json::value_to<std::string>(plan.at("Node Type"));
  if (auto* relation = plan.if_contains("Relation Name")) node.relation = json::value_to<std::string>(*relation);
  if (auto* index = plan.if_contains("Index Name")) node.index = json::value_to<std::string>(*index);
  out.push_back(node);
  if (auto* children = plan.if_contains("Plans")) {
    for (const auto& child : children->as_array()) flatten(child.as_object(), out);
  }
}

std::string describe(const std::vector<Node>& nodes) {
  std::string text;
  for (const auto& node : nodes) {
    text += "  " + node.type;
    if (!node.relation.empty()) text += " on " + node.relation;
    if (!node.index.empty()) text += " using " + node.index;
    text += '\n';
  }
  return text;
}

// ~300,000 rows in the shapes the flusher writes: per-minute "any" rows per type over 7
// days, per-component rows every 5 minutes, per-post and per-keyword rows scattered over
// the week, all-time totals summed from them, and a ledger of past flushes.
constexpr const char* kFill[] = {
    "create table event_stats (like public.event_stats including all)",
    "create table event_totals (like public.event_totals including all)",
    "create table flush_ledger (like public.flush_ledger including all)",
    // $1 = the current minute (ms).
    "insert into event_stats (bucket, event_type, component_id, post_id, keyword, count) "
    "select to_timestamp(($1::bigint - m * 60000) / 1000.0), t, 0, 0, '', 1 + (m * 7 + length(t)) % 50 "
    "from unnest(array['PAGE_VIEW','CLICK','SEARCH','LIKE']) t, generate_series(0, 10079) m",
    "insert into event_stats (bucket, event_type, component_id, post_id, keyword, count) "
    "select to_timestamp(($1::bigint - m * 300000) / 1000.0), t, c, 0, '', 1 + (m + c) % 9 "
    "from unnest(array['PAGE_VIEW','CLICK','SEARCH','LIKE']) t, generate_series(1001, 1010) c, "
    "generate_series(0, 2015) m",
    "insert into event_stats (bucket, event_type, component_id, post_id, keyword, count) "
    "select to_timestamp(($1::bigint - (g * 7919 % 10080) * 60000) / 1000.0), "
    "(array['PAGE_VIEW','CLICK','LIKE'])[1 + g % 3], 1001 + g % 10, 1 + g::bigint * 104729 % 50000, '', 1 "
    "from generate_series(1, 100000) g on conflict do nothing",
    "insert into event_stats (bucket, event_type, component_id, post_id, keyword, count) "
    "select to_timestamp(($1::bigint - (g * 7919 % 10080) * 60000) / 1000.0), "
    "'SEARCH', 1001 + g % 10, 0, 'keyword-' || (g * 31 % 500), 1 "
    "from generate_series(1, 20000) g on conflict do nothing",
    "insert into event_totals (event_type, component_id, post_id, keyword, count) "
    "select event_type, component_id, post_id, keyword, sum(count) from event_stats "
    "group by event_type, component_id, post_id, keyword",
    "insert into flush_ledger (flush_id, kind, rows, applied_xid) "
    "select 'flush-' || g, 'counters', 100, pg_current_xact_id() from generate_series(1, 50000) g",
    "analyze event_stats",
    "analyze event_totals",
    "analyze flush_ledger",
};

class StatisticsPlans : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    schema_ = "statistics_plans_" + std::to_string(::getpid());
    now_minute_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count() / kMinuteMs * kMinuteMs;
    // Statement texts are built before each co_await: GCC 12 mishandles temporaries inside
    // a co_await expression (arrays, initializer lists, chained string concatenations).
    run([&]() -> asio::awaitable<void> {
      auto db = co_await connect();
      const std::string drop = "drop schema if exists " + schema_ + " cascade";
      const std::string create = "create schema " + schema_;
      const std::string use = "set search_path = " + schema_;
      co_await db->execute(drop);
      co_await db->execute(create);
      co_await db->execute(use);
      std::string text;
      Params params;
      for (std::size_t i = 0; i < std::size(kFill); ++i) {
        text = kFill[i];
        params.clear();
        if (text.find("$1") != std::string::npos) params.push_back(std::to_string(now_minute_ms_));
        co_await db->execute(text, params, 60s);
      }
      Result sizes = co_await db->execute(
          "select (select count(*) from event_stats), (select count(*) from event_totals), "
          "(select count(*) from flush_ledger)");
      rows_ = sizes.as_int64(0, 0) + sizes.as_int64(0, 1) + sizes.as_int64(0, 2);
      // The primary-key index of each big table, by name as EXPLAIN reports it.
      Params schema;
      schema.push_back(schema_);
      Result keys = co_await db->execute(
          "select r.relname, i.relname from pg_constraint k join pg_class r on r.oid = k.conrelid "
          "join pg_class i on i.oid = k.conindid join pg_namespace n on n.oid = r.relnamespace "
          "where n.nspname = $1 and k.contype = 'p'",
          schema);
      for (int row = 0; row < keys.rows(); ++row) {
        primary_keys_[std::string(keys.text(row, 0))] = std::string(keys.text(row, 1));
      }
    });
  }

  static void TearDownTestSuite() {
    run([&]() -> asio::awaitable<void> {
      auto db = co_await connect();
      const std::string drop = "drop schema if exists " + schema_ + " cascade";
      co_await db->execute(drop);
    });
  }

  static asio::awaitable<std::unique_ptr<Connection>> connect() {
    ConnectionOptions options{.dsn = dsn()};
    auto executor = co_await asio::this_coro::executor;
    co_return co_await Connection::connect(executor, std::move(options));
  }
  // Unqualified table names are then the schema's copies.
  static asio::awaitable<void> use_schema(Connection& db) {
    const std::string use = "set search_path = " + schema_ + ", public";
    co_await db.execute(use);
  }

  // The plan of `statement` with `params`, as the server would run it (an unnamed
  // statement, planned for these values), and the statement's own first row.
  static std::vector<Node> plan_of(std::string_view statement, const Params& params) {
    std::vector<Node> nodes;
    run([&]() -> asio::awaitable<void> {
      auto db = co_await connect();
      co_await use_schema(*db);
      const std::string explain = "explain (format json) " + std::string(statement);
      Result plan = co_await db->execute(explain, params);
      json::value parsed = json::parse(plan.text(0, 0));
      flatten(parsed.as_array().at(0).as_object().at("Plan").as_object(), nodes);
    });
    return nodes;
  }

  // The generic plan of `statement`, which PostgreSQL may settle on for a prepared
  // statement (CounterArchive prepares them): planned without the parameters' values.
  static std::vector<Node> generic_plan_of(std::string_view statement, const Params& params) {
    std::vector<Node> nodes;
    run([&]() -> asio::awaitable<void> {
      auto db = co_await connect();
      co_await use_schema(*db);
      const std::string prepare = "prepare statement_under_test as " + std::string(statement);
      co_await db->execute(prepare);
      co_await db->execute("set plan_cache_mode = force_generic_plan");
      std::string explain = "explain (format json) execute statement_under_test(";
      for (std::size_t i = 0; i < params.size(); ++i) {
        if (i) explain += ", ";
        explain += db_literal(params[i]);
      }
      explain += ")";
      Result plan = co_await db->execute(explain);
      json::value parsed = json::parse(plan.text(0, 0));
      flatten(parsed.as_array().at(0).as_object().at("Plan").as_object(), nodes);
    });
    return nodes;
  }

  static std::string db_literal(const std::optional<std::string>& value) {
    if (!value) return "null";
    std::string out = "'";
    for (char c : *value) {
      if (c == '\'') out += '\'';
      out += c;
    }
    return out + "'";
  }

  // Both plans PostgreSQL may run the statement with read `table` through its primary key.
  static void expect_primary_key_reads(std::string_view statement, const Params& params, const std::string& table) {
    {
      SCOPED_TRACE("custom plan");
      expect_primary_key_reads(plan_of(statement, params), table);
    }
    {
      SCOPED_TRACE("generic plan");
      expect_primary_key_reads(generic_plan_of(statement, params), table);
    }
  }

  static std::string first_row(std::string_view statement, const Params& params, int column) {
    std::string value;
    run([&]() -> asio::awaitable<void> {
      auto db = co_await connect();
      co_await use_schema(*db);
      Result result = co_await db->execute(statement, params);
      if (result.rows() > 0) value = std::string(result.text(0, column));
    });
    return value;
  }

  // Every read of a big table goes through `table`'s primary key, which is used at least
  // once; nothing scans a big table sequentially or through another index.
  static void expect_primary_key_reads(const std::vector<Node>& nodes, const std::string& table) {
    std::set<std::string> allowed;
    for (const auto& [name, index] : primary_keys_) allowed.insert(index);
    bool used = false;
    for (const auto& node : nodes) {
      if (primary_keys_.contains(node.relation)) {
        EXPECT_NE(node.type, "Seq Scan") << "sequential scan of " << node.relation << ":\n" << describe(nodes);
      }
      if (!node.index.empty()) {
        EXPECT_TRUE(allowed.contains(node.index)) << "index " << node.index << " is not a primary key:\n"
                                                  << describe(nodes);
        used = used || node.index == primary_keys_.at(table);
      }
    }
    EXPECT_TRUE(used) << "no read through " << primary_keys_.at(table) << ":\n" << describe(nodes);
  }

  static Params buckets_params(const std::string& type, std::int64_t component, std::int64_t post,
                               const std::string& keyword, std::int64_t from_ms, std::int64_t to_ms,
                               std::int64_t width_ms) {
    // The order of CounterArchive::buckets.
    return {type, std::to_string(from_ms), std::to_string(to_ms), std::to_string(width_ms),
            std::to_string(component), std::to_string(post), keyword};
  }

  // The checks, one per statement and parameter shape; one test runs them all, so that
  // the tables are filled once per process (ctest runs every test in its own).
  static void tables_are_realistically_sized() {
    EXPECT_GE(rows_, 250'000);
    EXPECT_EQ(primary_keys_.size(), 3u);
    EXPECT_TRUE(primary_keys_.contains("event_stats"));
    EXPECT_TRUE(primary_keys_.contains("event_totals"));
    EXPECT_TRUE(primary_keys_.contains("flush_ledger"));
  }

  static void count_of_one_key_is_a_primary_key_lookup() {
    // GET /api/statistics?eventType=LIKE&componentId=1002&postId=...: one (type, comp, post) shape.
    std::string post = first_row(
        "select post_id from event_totals where event_type = 'LIKE' and component_id = 1002 and post_id > 0 limit 1",
        {}, 0);
    ASSERT_FALSE(post.empty());
    const std::string types[] = {"LIKE"}, components[] = {"1002"}, posts[] = {post}, keywords[] = {""};
    const Params params{tracker::postgres::text_array(types), tracker::postgres::text_array(components),
                        tracker::postgres::text_array(posts), tracker::postgres::text_array(keywords)};
    EXPECT_NE(first_row(sql::kTotals, params, 1), "{0}");  // the key exists
    expect_primary_key_reads(sql::kTotals, params, "event_totals");
  }

  static void summary_totals_of_all_types_are_primary_key_lookups() {
    // GET /api/statistics/summary: the "any" shape of all eight types in one statement.
    const std::vector<std::string> types = {"PAGE_VIEW", "SEARCH", "CLICK", "LIKE", "UNLIKE", "SCROLL", "COMMENT", "SHARE"};
    const std::vector<std::string> zeros(types.size(), "0"), empty(types.size(), "");
    const Params params{tracker::postgres::text_array(types), tracker::postgres::text_array(zeros),
                        tracker::postgres::text_array(zeros), tracker::postgres::text_array(empty)};
    expect_primary_key_reads(sql::kTotals, params, "event_totals");
  }

  static void day_of_minutes_is_one_primary_key_range() {
    // GET /api/statistics/series?eventType=PAGE_VIEW&interval=minute (the last 24 hours):
    // 1,440 of the 10,080 rows of the "any" shape; event_stats_bucket_idx would read every
    // shape's rows of those minutes instead.
    std::int64_t to = now_minute_ms_ + kMinuteMs, from = to - kDayMs;
    Params params = buckets_params("PAGE_VIEW", 0, 0, "", from, to, kMinuteMs);
    EXPECT_NE(first_row(sql::kBucketRows, params, 1), "{}");
    expect_primary_key_reads(sql::kBucketRows, params, "event_stats");
  }

  static void day_of_minutes_of_one_component_is_one_primary_key_range() {
    std::int64_t to = now_minute_ms_ + kMinuteMs, from = to - kDayMs;
    Params params = buckets_params("CLICK", 1005, 0, "", from, to, kMinuteMs);
    EXPECT_NE(first_row(sql::kBucketRows, params, 1), "{}");
    expect_primary_key_reads(sql::kBucketRows, params, "event_stats");
  }

  static void count_in_a_range_is_one_primary_key_range() {
    // GET /api/statistics?eventType=SEARCH&componentId=1003&keyword=...&from=...&to=...: one
    // bucket as wide as the range (a week).
    std::string keyword = first_row(
        "select keyword from event_stats where event_type = 'SEARCH' and component_id = 1003 and keyword <> '' limit 1",
        {}, 0);
    ASSERT_FALSE(keyword.empty());
    std::int64_t to = now_minute_ms_ + kMinuteMs, from = to - 7 * kDayMs;
    Params params = buckets_params("SEARCH", 1003, 0, keyword, from, to, to - from);
    EXPECT_NE(first_row(sql::kBuckets, params, 1), "{}");
    expect_primary_key_reads(sql::kBuckets, params, "event_stats");
  }

  static void hours_of_one_post_are_one_primary_key_range() {
    std::string post = first_row(
        "select post_id from event_stats where event_type = 'LIKE' and component_id = 1004 and post_id > 0 limit 1",
        {}, 0);
    ASSERT_FALSE(post.empty());
    std::int64_t hour = 60 * kMinuteMs;
    std::int64_t to = (now_minute_ms_ / hour + 1) * hour, from = to - 7 * kDayMs;
    Params params = buckets_params("LIKE", 1004, std::stoll(post), "", from, to, hour);
    EXPECT_NE(first_row(sql::kBuckets, params, 1), "{}");
    expect_primary_key_reads(sql::kBuckets, params, "event_stats");
  }

  static void ledger_lookup_is_a_primary_key_lookup() {
    // A read that met snapshots in Redis asks which of them PostgreSQL already applied.
    std::string snapshot = first_row("select pg_current_snapshot()::text", {}, 0);
    const std::string ids[] = {"flush-17", "flush-none-1", "flush-none-2"};
    const Params params{tracker::postgres::text_array(ids), snapshot};
    EXPECT_EQ(first_row(sql::kAppliedIn, params, 0), "flush-17");
    expect_primary_key_reads(sql::kAppliedIn, params, "flush_ledger");
  }

  static inline std::string schema_;
  static inline std::int64_t now_minute_ms_ = 0;
  static inline std::int64_t rows_ = 0;
  static inline std::map<std::string, std::string> primary_keys_;  // table -> its primary-key index
};

// One test: ctest runs each test in its own process, and filling the tables takes seconds.
TEST_F(StatisticsPlans, EveryStatisticsStatementReadsThroughThePrimaryKey) {
  const std::pair<const char*, void (*)()> checks[] = {
      {"tables_are_realistically_sized", &tables_are_realistically_sized},
      {"count_of_one_key_is_a_primary_key_lookup", &count_of_one_key_is_a_primary_key_lookup},
      {"summary_totals_of_all_types_are_primary_key_lookups", &summary_totals_of_all_types_are_primary_key_lookups},
      {"day_of_minutes_is_one_primary_key_range", &day_of_minutes_is_one_primary_key_range},
      {"day_of_minutes_of_one_component_is_one_primary_key_range", &day_of_minutes_of_one_component_is_one_primary_key_range},
      {"count_in_a_range_is_one_primary_key_range", &count_in_a_range_is_one_primary_key_range},
      {"hours_of_one_post_are_one_primary_key_range", &hours_of_one_post_are_one_primary_key_range},
      {"ledger_lookup_is_a_primary_key_lookup", &ledger_lookup_is_a_primary_key_lookup},
  };
  for (const auto& [name, check] : checks) {
    SCOPED_TRACE(name);
    check();
  }
}

}  // namespace
