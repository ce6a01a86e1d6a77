// CachedCounterArchive (app/cached_counter_archive.hpp) with an in-memory archive and a
// manual clock: readings reused for max_age and no longer, keyed by what was asked, a
// bounded number of them, ledger answers cached per (snapshot, flush id); and the
// statistics service counting a reused reading's age against its read span.
#include "app/cached_counter_archive.hpp"
#include "app/statistics_service.hpp"
#include "domain/time_format.hpp"
#include "ports/errors.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>

namespace {

namespace asio = boost::asio;
namespace ports = tracker::ports;
namespace domain = tracker::domain;
using namespace std::chrono_literals;
using tracker::app::ArchiveCacheOptions;
using tracker::app::CachedCounterArchive;
using tracker::app::StatisticsService;
using tracker::metrics::Registry;
using TimePoint = std::chrono::steady_clock::time_point;

template <class T>
T run(asio::awaitable<T> body) {
  asio::io_context io;
  std::optional<T> out;
  std::exception_ptr error;
  asio::co_spawn(io, std::move(body), [&](std::exception_ptr e, T value) {
    error = e;
    if (!e) out = std::move(value);
  });
  io.run();
  if (error) std::rethrow_exception(error);
  return std::move(*out);
}

struct ManualClock {
  TimePoint now{std::chrono::hours(1000)};
  tracker::app::SteadyClock function() {
    return [this] { return now; };
  }
};

// PostgreSQL in memory: counts per key, a snapshot name per read, the flushes applied in
// each snapshot; every call is recorded.
class MemoryArchive final : public ports::CounterArchive {
 public:
  asio::awaitable<ports::ArchiveReading> totals(std::span<const ports::CounterKey> keys) override {
    ++totals_calls;
    ports::ArchiveReading reading;
    for (const auto& key : keys) reading.values.push_back(count_of(key));
    reading.snapshot = "snapshot-" + std::to_string(++reads);
    reading.read_started = started_at;
    if (clock) clock->now += read_takes;
    co_return reading;
  }
  asio::awaitable<ports::ArchiveReading> buckets(const ports::CounterKey& key, std::int64_t from_ms,
                                                 std::int64_t to_ms, std::int64_t width_ms) override {
    ++buckets_calls;
    if (buckets_pause.count() > 0) {
      // Suspends for real, so that other requests run while this read is under way.
      asio::steady_timer pause(co_await asio::this_coro::executor, buckets_pause);
      co_await pause.async_wait(asio::use_awaitable);
    }
    if (buckets_fail) throw ports::StoreUnavailable("postgres is down");
    ports::ArchiveReading reading;
    reading.values.assign(static_cast<std::size_t>((to_ms - from_ms) / width_ms), count_of(key));
    reading.snapshot = "snapshot-" + std::to_string(++reads);
    co_return reading;
  }
  asio::awaitable<std::vector<std::string>> applied_in(const std::string& snapshot,
                                                       std::span<const std::string> flush_ids) override {
    ledger_queries.emplace_back(snapshot, std::vector<std::string>(flush_ids.begin(), flush_ids.end()));
    std::vector<std::string> out;
    for (const auto& id : flush_ids) {
      if (std::find(applied.begin(), applied.end(), id) != applied.end()) out.push_back(id);
    }
    co_return out;
  }
  std::int64_t count_of(const ports::CounterKey& key) const {
    return key.component_id * 10 + static_cast<std::int64_t>(key.keyword.size());
  }

  int totals_calls = 0;
  int buckets_calls = 0;
  std::chrono::milliseconds buckets_pause{0};
  bool buckets_fail = false;
  int reads = 0;
  std::vector<std::string> applied;  // flush ids visible in every snapshot
  std::vector<std::pair<std::string, std::vector<std::string>>> ledger_queries;
  ManualClock* clock = nullptr;
  std::chrono::milliseconds read_takes{0};
  std::optional<TimePoint> started_at;  // as a batching archive sets it
};

struct CacheTest : ::testing::Test {
  ManualClock clock;
  MemoryArchive archive;
  Registry metrics;

  // The tests speak of half a second of reuse, whatever the default.
  static ArchiveCacheOptions half_second() {
    ArchiveCacheOptions options;
    options.max_age = 500ms;
    return options;
  }
  CachedCounterArchive cache(ArchiveCacheOptions options = half_second()) {
    return CachedCounterArchive(archive, metrics, options, clock.function());
  }
  ports::ArchiveReading totals(CachedCounterArchive& cache, std::vector<ports::CounterKey> keys) {
    return run(cache.totals(keys));
  }
  std::uint64_t metric(const std::string& labels) {
    return metrics.counter("tracker_statistics_archive_cache_total", "", labels).value();
  }
};

TEST_F(CacheTest, AReadingIsReusedUntilItIsMaxAgeOld) {
  ArchiveCacheOptions options;
  options.max_age = 500ms;
  auto cached = cache(options);
  const ports::CounterKey key{"CLICK", 7, 0, ""};
  TimePoint first_read = clock.now;
  auto first = totals(cached, {key});
  EXPECT_EQ(archive.totals_calls, 1);
  EXPECT_EQ(first.values, std::vector<std::int64_t>{70});
  ASSERT_TRUE(first.read_started);
  EXPECT_EQ(*first.read_started, first_read);

  clock.now += 499ms;
  auto second = totals(cached, {key});
  EXPECT_EQ(archive.totals_calls, 1);
  EXPECT_EQ(second.snapshot, first.snapshot);
  ASSERT_TRUE(second.read_started);
  EXPECT_EQ(*second.read_started, first_read);  // the original read's start, not this request's

  clock.now += 1ms;  // 500 ms old: read again
  auto third = totals(cached, {key});
  EXPECT_EQ(archive.totals_calls, 2);
  EXPECT_NE(third.snapshot, first.snapshot);
  EXPECT_EQ(*third.read_started, clock.now);
  EXPECT_EQ(metric("kind=\"reading\",result=\"hit\""), 1u);
  EXPECT_EQ(metric("kind=\"reading\",result=\"miss\""), 2u);
}

TEST_F(CacheTest, AReadingStartedLaterByTheArchiveBelowAgesFromThere) {
  auto cached = cache();
  archive.started_at = clock.now + 20ms;  // a batched statement that left after this request asked
  auto first = totals(cached, {{"CLICK", 7, 0, ""}});
  ASSERT_TRUE(first.read_started);
  EXPECT_EQ(*first.read_started, clock.now + 20ms);
  clock.now += 510ms;  // 490 ms after the statement started: still fresh
  totals(cached, {{"CLICK", 7, 0, ""}});
  EXPECT_EQ(archive.totals_calls, 1);
  clock.now += 10ms;
  totals(cached, {{"CLICK", 7, 0, ""}});
  EXPECT_EQ(archive.totals_calls, 2);
}

// Requests for one key that arrive while it is being read wait for that read.
TEST_F(CacheTest, ConcurrentMissesOfOneKeyShareOneRead) {
  auto cached = cache();
  archive.buckets_pause = 50ms;
  // Named: the requests keep a reference to their key until they finish.
  const ports::CounterKey key{"CLICK", 7, 0, ""};
  const ports::CounterKey other{"CLICK", 8, 0, ""};
  asio::io_context io;
  std::vector<ports::ArchiveReading> readings;
  int failures = 0;
  auto ask = [&](const ports::CounterKey& asked) {
    asio::co_spawn(io, cached.buckets(asked, 0, 3 * domain::kMinuteMs, domain::kMinuteMs),
                   [&](std::exception_ptr error, ports::ArchiveReading reading) {
                     if (error) ++failures;
                     else readings.push_back(std::move(reading));
                   });
  };
  for (int i = 0; i < 5; ++i) ask(key);
  ask(other);  // another key is read on its own
  io.run();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(archive.buckets_calls, 2);
  ASSERT_EQ(readings.size(), 6u);
  int of_key = 0;
  for (const auto& reading : readings) {
    if (reading.values == std::vector<std::int64_t>(3, 70)) {
      ++of_key;
      EXPECT_EQ(reading.snapshot, readings.front().snapshot);
      ASSERT_TRUE(reading.read_started);
      EXPECT_EQ(*reading.read_started, clock.now);
    }
  }
  EXPECT_EQ(of_key, 5);
  EXPECT_EQ(metric("kind=\"reading\",result=\"miss\""), 2u);
  EXPECT_EQ(metric("kind=\"reading\",result=\"joined\""), 4u);
  EXPECT_EQ(cached.readings_held(), 2u);
}

// A failed read fails the requests that waited for it, and is not remembered.
TEST_F(CacheTest, AFailedSharedReadFailsItsWaitersAndIsNotKept) {
  auto cached = cache();
  archive.buckets_pause = 50ms;
  archive.buckets_fail = true;
  const ports::CounterKey key{"CLICK", 7, 0, ""};
  asio::io_context io;
  int failures = 0;
  for (int i = 0; i < 3; ++i) {
    asio::co_spawn(io, cached.buckets(key, 0, domain::kMinuteMs, domain::kMinuteMs),
                   [&](std::exception_ptr error, ports::ArchiveReading) {
                     if (error) ++failures;
                   });
  }
  io.run();
  EXPECT_EQ(failures, 3);
  EXPECT_EQ(archive.buckets_calls, 1);
  EXPECT_EQ(cached.readings_held(), 0u);
  archive.buckets_fail = false;
  auto reading = run(cached.buckets(key, 0, domain::kMinuteMs, domain::kMinuteMs));
  EXPECT_EQ(reading.values, std::vector<std::int64_t>{70});
  EXPECT_EQ(archive.buckets_calls, 2);
}

TEST_F(CacheTest, ReadingsAreKeyedByEverythingAsked) {
  auto cached = cache();
  totals(cached, {{"CLICK", 7, 0, ""}});
  totals(cached, {{"CLICK", 7, 0, ""}, {"LIKE", 7, 0, ""}});
  totals(cached, {{"CLICK", 7, 1, ""}});
  totals(cached, {{"CLICK", 7, 0, "a"}});
  // A keyword holding the separators cannot pass for another key.
  totals(cached, {{"CLICK", 7, 0, "1:a\x1f" "b"}});
  totals(cached, {{"CLICK", 7, 0, "1:a"}});
  EXPECT_EQ(archive.totals_calls, 6);
  totals(cached, {{"CLICK", 7, 0, ""}, {"LIKE", 7, 0, ""}});
  EXPECT_EQ(archive.totals_calls, 6);

  const ports::CounterKey key{"CLICK", 3, 0, ""};
  run(cached.buckets(key, 0, 600'000, 60'000));
  run(cached.buckets(key, 0, 600'000, 60'000));
  EXPECT_EQ(archive.buckets_calls, 1);
  run(cached.buckets(key, 60'000, 600'000, 60'000));
  run(cached.buckets(key, 0, 660'000, 60'000));
  run(cached.buckets(key, 0, 600'000, 600'000));
  auto other = run(cached.buckets({"LIKE", 3, 0, ""}, 0, 600'000, 60'000));
  EXPECT_EQ(archive.buckets_calls, 5);
  EXPECT_EQ(other.values.size(), 10u);
}

TEST_F(CacheTest, ZeroMaxAgeCachesNothing) {
  ArchiveCacheOptions options;
  options.max_age = 0ms;
  auto cached = cache(options);
  auto first = totals(cached, {{"CLICK", 7, 0, ""}});
  totals(cached, {{"CLICK", 7, 0, ""}});
  EXPECT_EQ(archive.totals_calls, 2);
  EXPECT_FALSE(first.read_started);
  std::vector<std::string> ids{"f1"};
  run(cached.applied_in("s", ids));
  run(cached.applied_in("s", ids));
  EXPECT_EQ(archive.ledger_queries.size(), 2u);
  EXPECT_EQ(cached.readings_held(), 0u);
}

TEST_F(CacheTest, HoldsAtMostMaxReadingsDroppingTheOldest) {
  ArchiveCacheOptions options = half_second();
  options.max_readings = 3;
  auto cached = cache(options);
  for (std::int64_t component = 1; component <= 5; ++component) {
    totals(cached, {{"CLICK", component, 0, ""}});
    clock.now += 1ms;
    EXPECT_LE(cached.readings_held(), 3u);
  }
  EXPECT_EQ(archive.totals_calls, 5);
  totals(cached, {{"CLICK", 5, 0, ""}});  // among the last three
  totals(cached, {{"CLICK", 3, 0, ""}});
  EXPECT_EQ(archive.totals_calls, 5);
  totals(cached, {{"CLICK", 1, 0, ""}});  // dropped first
  EXPECT_EQ(archive.totals_calls, 6);
}

TEST_F(CacheTest, ExpiredReadingsAreDropped) {
  auto cached = cache();
  for (std::int64_t component = 1; component <= 100; ++component) totals(cached, {{"CLICK", component, 0, ""}});
  EXPECT_EQ(cached.readings_held(), 100u);
  clock.now += 600ms;
  totals(cached, {{"CLICK", 1000, 0, ""}});
  EXPECT_EQ(cached.readings_held(), 1u);
}

TEST_F(CacheTest, ARereadKeyKeepsItsNewReading) {
  auto cached = cache();
  totals(cached, {{"CLICK", 1, 0, ""}});
  clock.now += 500ms;
  auto fresh = totals(cached, {{"CLICK", 1, 0, ""}});  // expired: read again
  clock.now += 100ms;  // the first insertion is long expired; the new one is 100 ms old
  totals(cached, {{"CLICK", 2, 0, ""}});
  auto again = totals(cached, {{"CLICK", 1, 0, ""}});
  EXPECT_EQ(archive.totals_calls, 3);
  EXPECT_EQ(again.snapshot, fresh.snapshot);
}

TEST_F(CacheTest, LedgerAnswersAreKeptPerSnapshotAndFlush) {
  ArchiveCacheOptions options = half_second();
  options.max_ledger_answers = 4;
  auto cached = cache(options);
  archive.applied = {"f1"};
  std::vector<std::string> two{"f1", "f2"};
  auto applied = run(cached.applied_in("s1", two));
  EXPECT_EQ(applied, std::vector<std::string>{"f1"});
  archive.applied = {"f1", "f2", "f3"};  // f2 applied later: not visible in s1, whose answer stands
  std::vector<std::string> three{"f1", "f2", "f3"};
  applied = run(cached.applied_in("s1", three));
  EXPECT_EQ(applied, (std::vector<std::string>{"f1", "f3"}));
  ASSERT_EQ(archive.ledger_queries.size(), 2u);
  EXPECT_EQ(archive.ledger_queries[1].second, std::vector<std::string>{"f3"});  // only the unknown one
  EXPECT_EQ(cached.known_applied("s1"), (std::vector<std::string>{"f1", "f3"}));
  applied = run(cached.applied_in("s2", two));
  EXPECT_EQ(applied, two);
  EXPECT_EQ(archive.ledger_queries.size(), 3u);
  EXPECT_LE(cached.ledger_answers_held(), 4u);
  // The oldest answer (s1, f1) was dropped to stay within the bound: no longer known,
  // and asked again.
  EXPECT_EQ(cached.known_applied("s1"), std::vector<std::string>{"f3"});
  EXPECT_EQ(cached.known_applied("s2"), two);
  EXPECT_TRUE(cached.known_applied("s3").empty());
  run(cached.applied_in("s1", two));
  ASSERT_EQ(archive.ledger_queries.size(), 4u);
  EXPECT_EQ(archive.ledger_queries[3].second, std::vector<std::string>{"f1"});
  EXPECT_EQ(metric("kind=\"ledger\",result=\"hit\""), 3u);
  EXPECT_EQ(metric("kind=\"ledger\",result=\"miss\""), 6u);
}

// Redis in memory: live counts and the snapshots still held, the read taking some time.
class MemoryLive final : public ports::LiveCounters {
 public:
  asio::awaitable<ports::LiveReading> totals(std::span<const ports::CounterKey> keys,
                                             std::span<const std::string> skip) override {
    ++reads;
    clock.now += read_takes;
    skipped.assign(skip.begin(), skip.end());
    ports::LiveReading reading;
    reading.live.assign(keys.size(), live);
    for (const auto& [id, value] : snapshots) {
      if (std::find(skip.begin(), skip.end(), id) != skip.end()) continue;  // as Redis leaves them out
      reading.snapshots.push_back({id, std::vector<std::int64_t>(keys.size(), value)});
    }
    co_return reading;
  }
  asio::awaitable<ports::LiveReading> buckets(const ports::CounterKey&, std::int64_t from_ms, std::int64_t to_ms,
                                              std::int64_t width_ms, std::span<const std::string>) override {
    ++reads;
    clock.now += read_takes;
    ports::LiveReading reading;
    reading.live.assign(static_cast<std::size_t>((to_ms - from_ms + width_ms - 1) / width_ms), 0);
    co_return reading;
  }
  explicit MemoryLive(ManualClock& clock) : clock(clock) {}
  ManualClock& clock;
  int reads = 0;
  std::vector<std::string> skipped;  // what the last totals read was told to skip
  std::int64_t live = 0;
  std::vector<std::pair<std::string, std::int64_t>> snapshots;
  std::chrono::milliseconds read_takes{0};
};

class NoTrends final : public ports::Trends {
 public:
  asio::awaitable<std::int64_t> unique_users(const std::string&, const std::string&) override {
    throw std::logic_error("not used here");
  }
  asio::awaitable<std::vector<std::int64_t>> events_in_minute(const std::vector<std::string>&, std::int64_t) override {
    throw std::logic_error("not used here");
  }
  asio::awaitable<std::int64_t> backlog() override { throw std::logic_error("not used here"); }
};

class NoRankings final : public ports::HourlyRankings {
 public:
  asio::awaitable<std::vector<ports::RankingHourVersion>> versions() override { throw std::logic_error("not used here"); }
  asio::awaitable<std::vector<std::vector<domain::Ranked>>> members(std::span<const ports::RankingHour>) override {
    throw std::logic_error("not used here");
  }
  asio::awaitable<void> forget(std::span<const ports::RankingHour>) override { throw std::logic_error("not used here"); }
};

// Counts only: the ranking board is never refreshed here.
struct NoRankingBoard {
  NoRankings hours;
  tracker::metrics::Registry metrics;
  tracker::app::RankingBoard board{hours, {}, metrics};
};

// A statistics service over the test's cached archive (500 ms) and an in-memory Redis, at
// a fixed time.
struct Service {
  explicit Service(CacheTest& test, tracker::app::StatisticsOptions options = {})
      : live(test.clock),
        cached(test.cache()),
        statistics(cached, live, trends, rankings.board, options, [] { return std::int64_t{1'800'000'000'000}; },
                   test.clock.function()) {}
  MemoryLive live;
  NoTrends trends;
  NoRankingBoard rankings;
  CachedCounterArchive cached;
  StatisticsService statistics;
};

domain::CountQuery all_time(std::int64_t component) {
  domain::CountQuery query;
  query.filter.type = domain::EventType::Click;
  query.filter.component_id = component;
  return query;
}

TEST_F(CacheTest, AReusedReadingsAgeCountsAgainstTheReadSpan) {
  tracker::app::StatisticsOptions options;
  options.max_read_span = 1500ms;
  Service service(*this, options);
  MemoryLive& live = service.live;
  StatisticsService& statistics = service.statistics;
  live.live = 5;
  EXPECT_EQ(run(statistics.count(all_time(7))), 75);
  EXPECT_EQ(archive.totals_calls, 1);

  // 400 ms later the reading is reused, but Redis then takes 1.2 s: 1.6 s after the
  // reading was taken (1.2 s after this request started), too long. The second attempt
  // reads PostgreSQL again.
  clock.now += 400ms;
  live.read_takes = 1200ms;
  EXPECT_EQ(run(statistics.count(all_time(7))), 75);
  EXPECT_EQ(archive.totals_calls, 2);
  EXPECT_EQ(live.reads, 3);

  // A fresh reading with the same slow Redis is within the span.
  clock.now += 600ms;
  EXPECT_EQ(run(statistics.count(all_time(7))), 75);
  EXPECT_EQ(archive.totals_calls, 3);
  EXPECT_EQ(live.reads, 4);

  // A slow PostgreSQL read counts too: 1 s in PostgreSQL, then 0.6 s in Redis.
  clock.now += 600ms;
  archive.clock = &clock;
  archive.read_takes = 1000ms;
  live.read_takes = 600ms;
  EXPECT_THROW(run(statistics.count(all_time(7))), ports::StoreTimeout);
}

TEST_F(CacheTest, SnapshotsAreAddedUnlessTheReusedReadingHasThem) {
  Service service(*this);
  MemoryLive& live = service.live;
  StatisticsService& statistics = service.statistics;
  live.live = 1;
  live.snapshots = {{"f1", 2}, {"f2", 4}};
  archive.applied = {"f1"};
  EXPECT_EQ(run(statistics.count(all_time(7))), 70 + 1 + 4);
  EXPECT_TRUE(live.skipped.empty());  // nothing known of that reading yet
  // Reused reading and ledger answers: the same sum, and no second PostgreSQL query. The
  // snapshot known to be in the reading is not read from Redis again.
  clock.now += 100ms;
  EXPECT_EQ(run(statistics.count(all_time(7))), 70 + 1 + 4);
  EXPECT_EQ(live.skipped, std::vector<std::string>{"f1"});
  EXPECT_EQ(archive.totals_calls, 1);
  EXPECT_EQ(archive.ledger_queries.size(), 1u);
}

TEST_F(CacheTest, AnEmptyRangeReadsNothingAndDividesByNothing) {
  // The domain's parsers never produce one; the service must still not divide by its width.
  Service service(*this);
  MemoryLive& live = service.live;
  StatisticsService& statistics = service.statistics;
  domain::CountQuery query = all_time(7);
  query.range = domain::MinuteRange{0, 0};
  EXPECT_EQ(run(statistics.count(query)), 0);
  domain::SeriesQuery series;
  series.filter = query.filter;
  series.from_ms = series.to_ms = 1'800'000'000'000;
  EXPECT_TRUE(run(statistics.series(series)).empty());
  EXPECT_EQ(archive.buckets_calls, 0);
  EXPECT_EQ(live.reads, 0);
}

}  // namespace
