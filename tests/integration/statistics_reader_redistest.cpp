// The live counters' minute index against a real Redis (TRACKER_REDIS_HOST / _PORT):
// events stored by the ingest script (EventStore), snapshots taken and dropped by
// CounterSource, per-minute counts read by StatisticsReader, which looks up only the
// minutes each hash lists in its index.
#include "domain/event_id.hpp"
#include "domain/time_format.hpp"
#include "metrics/metrics.hpp"
#include "redis/connection.hpp"
#include "redis/counter_source.hpp"
#include "redis/event_store.hpp"
#include "redis/keys.hpp"
#include "redis/statistics_reader.hpp"
#include "redis_support.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace ports = tracker::ports;
namespace domain = tracker::domain;
namespace keys = tracker::redis::keys;
using namespace std::chrono_literals;
using domain::kMinuteMs;
using tracker::redis::Connection;
using tracker::redis::Reply;

using tracker::testing::now_ms;
using tracker::testing::options;

// A component no other run uses, so that the counts read are this test's only.
std::int64_t unique_component() { return tracker::testing::unique_number(700'000'000); }

struct Fixture {
  tracker::metrics::Registry& metrics;
  Connection& redis;
  tracker::redis::EventStore& store;
  tracker::redis::CounterSource& counters;
  tracker::redis::StatisticsReader& reader;
  domain::EventIdGenerator ids;
  const std::vector<std::string> none{};  // no snapshots to skip

  asio::awaitable<void> click(std::int64_t component, std::int64_t event_time_ms) {
    domain::Event event;
    event.server_time_ms = now_ms();
    event.id = ids.next(event.server_time_ms);
    event.type = domain::EventType::Click;
    event.session_id = "minute-index-test";
    event.component_id = component;
    event.event_time_ms = event_time_ms;
    std::vector<domain::Event> events{event};
    auto stored = co_await store.append(events);
    EXPECT_EQ(stored.size(), 1u);
  }

  std::uint64_t snapshot_reads(const char* result) {
    return metrics
        .counter("tracker_statistics_snapshot_reads_total", "", std::string("result=\"") + result + "\"")
        .value();
  }

  asio::awaitable<std::vector<std::string>> members(std::string key) {
    const std::string_view command[] = {"SMEMBERS", key};
    Reply reply = co_await redis.execute(command, 2s);
    std::vector<std::string> out;
    for (auto& element : reply.elements) out.push_back(element.text);
    std::sort(out.begin(), out.end());
    co_return out;
  }

  asio::awaitable<std::int64_t> exists(std::string key) {
    const std::string_view command[] = {"EXISTS", key};
    Reply reply = co_await redis.execute(command, 2s);
    co_return reply.as_int();
  }
};

// The counts of one component per minute over [from, to) from the live hash and every
// snapshot (what the statistics service adds to PostgreSQL's part before the ledger).
std::int64_t sum_at(const ports::LiveReading& reading, std::size_t index) {
  std::int64_t sum = index < reading.live.size() ? reading.live[index] : 0;
  for (const auto& snapshot : reading.snapshots) sum += index < snapshot.values.size() ? snapshot.values[index] : 0;
  return sum;
}

template <class Body>
void with_redis(Body body) {
  asio::io_context io;
  tracker::metrics::Registry metrics;
  auto connection = Connection::create(io.get_executor(), options(), metrics);
  tracker::redis::EventStore store(connection, {}, metrics);
  tracker::redis::CounterSource counters(connection);
  tracker::redis::StatisticsReader reader(connection, metrics);
  connection->start();
  std::exception_ptr error;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer timer(co_await asio::this_coro::executor);
        auto deadline = std::chrono::steady_clock::now() + 3s;
        while (!connection->connected()) {
          if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("redis did not connect");
          timer.expires_after(10ms);
          co_await timer.async_wait(asio::use_awaitable);
        }
        Fixture fixture{metrics, *connection, store, counters, reader, {}};
        co_await body(fixture);
      },
      [&](std::exception_ptr e) {
        error = e;
        connection->stop();
      });
  io.run();
  if (error) std::rethrow_exception(error);
}

TEST(MinuteIndex, LateEventInAnOldMinuteIsCountedAndSnapshotsTakeTheIndexAlong) {
  with_redis([](Fixture& t) -> asio::awaitable<void> {
    const std::int64_t component = unique_component();
    const ports::CounterKey key{"CLICK", component, 0, ""};
    const std::int64_t now = now_ms();
    const std::int64_t current = domain::bucket_start(now, kMinuteMs);
    const std::int64_t late = current - 180 * kMinuteMs;  // three hours ago
    const std::int64_t from = current - 24 * 60 * kMinuteMs;
    const std::int64_t to = current + 10 * kMinuteMs;
    auto index_of = [&](std::int64_t minute) { return static_cast<std::size_t>((minute - from) / kMinuteMs); };

    co_await t.click(component, now);
    co_await t.click(component, now);
    co_await t.click(component, late);
    auto listed = co_await t.members(keys::live_minute_index(keys::shard_tag(0)));
    EXPECT_NE(std::find(listed.begin(), listed.end(), std::to_string(current)), listed.end());
    EXPECT_NE(std::find(listed.begin(), listed.end(), std::to_string(late)), listed.end());

    auto reading = co_await t.reader.buckets(key, from, to, kMinuteMs, t.none);
    EXPECT_EQ(reading.live.size(), static_cast<std::size_t>((to - from) / kMinuteMs));
    EXPECT_EQ(sum_at(reading, index_of(current)), 2);
    EXPECT_EQ(sum_at(reading, index_of(late)), 1);
    std::int64_t total = 0;
    for (std::size_t i = 0; i < reading.live.size(); ++i) total += sum_at(reading, i);
    EXPECT_EQ(total, 3);

    // A range that leaves out the late minute does not count it.
    auto recent = co_await t.reader.buckets(key, late + kMinuteMs, to, kMinuteMs, t.none);
    std::int64_t recent_total = 0;
    for (std::size_t i = 0; i < recent.live.size(); ++i) recent_total += sum_at(recent, i);
    EXPECT_EQ(recent_total, 2);

    // The snapshot renames the index with the hash; the counts are then read from it.
    auto flush_id = co_await t.counters.take_snapshot();
    EXPECT_TRUE(flush_id.has_value());
    if (!flush_id) co_return;
    {
      auto found = co_await t.exists(keys::live_minute_index(keys::shard_tag(0)));
      EXPECT_EQ(found, 0);
    }
    auto frozen = co_await t.members(keys::snapshot_minute_index(keys::shard_tag(0), *flush_id));
    EXPECT_EQ(frozen, listed);
    co_await t.click(component, now);  // goes to the fresh live hash and index
    auto after = co_await t.reader.buckets(key, from, to, kMinuteMs, t.none);
    auto snapshot = std::find_if(after.snapshots.begin(), after.snapshots.end(),
                                 [&](const ports::LiveReading::Snapshot& s) { return s.flush_id == *flush_id; });
    EXPECT_NE(snapshot, after.snapshots.end());
    if (snapshot != after.snapshots.end()) {
      EXPECT_EQ(snapshot->values[index_of(current)], 2);
      EXPECT_EQ(snapshot->values[index_of(late)], 1);
    }
    EXPECT_EQ(after.live[index_of(current)], 1);
    EXPECT_EQ(sum_at(after, index_of(current)), 3);
    auto live_listed = co_await t.members(keys::live_minute_index(keys::shard_tag(0)));
    EXPECT_EQ(live_listed.size(), 1u);
    if (live_listed.empty()) co_return;
    EXPECT_EQ(live_listed.front(), std::to_string(current));

    // The snapshot read by the flusher holds the late minute too.
    auto deltas = co_await t.counters.read_snapshot(*flush_id);
    bool late_delta = std::any_of(deltas.deltas.begin(), deltas.deltas.end(), [&](const ports::CounterDelta& d) {
      return d.component_id == component && !d.post_id && d.bucket_ms == late && d.delta == 1;
    });
    EXPECT_TRUE(late_delta);

    // Dropping the snapshot leaves neither its hashes nor its index behind.
    co_await t.counters.drop_snapshot(*flush_id);
    {
      auto found = co_await t.exists(keys::snapshot_minute_index(keys::shard_tag(0), *flush_id));
      EXPECT_EQ(found, 0);
    }
    {
      auto found = co_await t.exists(keys::snapshot_minutes(keys::shard_tag(0), *flush_id));
      EXPECT_EQ(found, 0);
    }
    {
      auto found = co_await t.exists(keys::snapshot_totals(keys::shard_tag(0), *flush_id));
      EXPECT_EQ(found, 0);
    }
    auto open = co_await t.counters.open_snapshots();
    EXPECT_EQ(std::find(open.begin(), open.end(), *flush_id), open.end());

    // Clean up what this test left live.
    if (auto last = co_await t.counters.take_snapshot()) co_await t.counters.drop_snapshot(*last);
  });
}

TEST(MinuteIndex, AMinuteHashWithoutIndexIsReadInFull) {
  // As a server that kept no index left it (before an upgrade): every minute of the range
  // is looked up.
  with_redis([](Fixture& t) -> asio::awaitable<void> {
    if (auto earlier = co_await t.counters.take_snapshot()) co_await t.counters.drop_snapshot(*earlier);
    const std::int64_t component = unique_component() + 1;
    const ports::CounterKey key{"CLICK", component, 0, ""};
    const std::int64_t current = domain::bucket_start(now_ms(), kMinuteMs);
    const std::int64_t late = current - 90 * kMinuteMs;
    std::string field = "CLICK|" + std::to_string(component) + "|*|*|" + std::to_string(late);
    const std::string live_minutes = keys::live_minutes(keys::shard_tag(0));
    const std::string_view increment[] = {"HINCRBY", live_minutes, field, "4"};
    co_await t.redis.execute(increment, 2s);
    {
      auto found = co_await t.exists(keys::live_minute_index(keys::shard_tag(0)));
      EXPECT_EQ(found, 0);
    }

    const std::int64_t from = current - 120 * kMinuteMs;
    auto reading = co_await t.reader.buckets(key, from, current + kMinuteMs, kMinuteMs, t.none);
    EXPECT_EQ(reading.live[static_cast<std::size_t>((late - from) / kMinuteMs)], 4);

    // Taken as a snapshot without an index, and read from there the same way.
    auto flush_id = co_await t.counters.take_snapshot();
    EXPECT_TRUE(flush_id.has_value());
    if (!flush_id) co_return;
    auto frozen = co_await t.reader.buckets(key, from, current + kMinuteMs, kMinuteMs, t.none);
    std::int64_t total = 0;
    for (const auto& snapshot : frozen.snapshots) {
      if (snapshot.flush_id == *flush_id) total += snapshot.values[static_cast<std::size_t>((late - from) / kMinuteMs)];
    }
    EXPECT_EQ(total, 4);
    co_await t.counters.drop_snapshot(*flush_id);
    {
      auto found = co_await t.exists(keys::snapshot_minutes(keys::shard_tag(0), *flush_id));
      EXPECT_EQ(found, 0);
    }
  });
}

// A snapshot is read from Redis once per series shape; later reads of the same shape take
// the remembered values (the script leaves the snapshot out), which are what Redis holds.
TEST(SnapshotMemo, ASnapshotIsReadOnceAndRememberedUntilItIsDropped) {
  with_redis([](Fixture& t) -> asio::awaitable<void> {
    if (auto earlier = co_await t.counters.take_snapshot()) co_await t.counters.drop_snapshot(*earlier);
    const std::int64_t component = unique_component() + 2;
    const ports::CounterKey key{"CLICK", component, 0, ""};
    const std::int64_t now = now_ms();
    const std::int64_t current = domain::bucket_start(now, kMinuteMs);
    const std::int64_t from = current - 60 * kMinuteMs, to = current + kMinuteMs;
    const auto at_current = static_cast<std::size_t>((current - from) / kMinuteMs);
    co_await t.click(component, now);
    co_await t.click(component, now);
    auto flush_id = co_await t.counters.take_snapshot();
    EXPECT_TRUE(flush_id.has_value());
    if (!flush_id) co_return;
    co_await t.click(component, now);  // live

    auto snapshot_of = [&](const ports::LiveReading& reading) -> std::optional<std::vector<std::int64_t>> {
      for (const auto& snapshot : reading.snapshots) {
        if (snapshot.flush_id == *flush_id) return snapshot.values;
      }
      return std::nullopt;
    };
    const std::vector<ports::CounterKey> keys_asked(1, key);
    std::uint64_t read_before = t.snapshot_reads("read"), remembered_before = t.snapshot_reads("remembered");
    // Other runs' snapshots may be listed too, and may come and go: each is read once per
    // series shape and remembered after that. Totals reads are not remembered.
    auto first = co_await t.reader.buckets(key, from, to, kMinuteMs, t.none);
    auto first_totals = co_await t.reader.totals(keys_asked, t.none);
    EXPECT_EQ(t.snapshot_reads("read") - read_before, first.snapshots.size() + first_totals.snapshots.size());
    EXPECT_EQ(t.snapshot_reads("remembered"), remembered_before);
    auto second = co_await t.reader.buckets(key, from, to, kMinuteMs, t.none);
    auto second_totals = co_await t.reader.totals(keys_asked, t.none);
    std::size_t remembered = 0;
    for (const auto& snapshot : second.snapshots) {
      remembered += std::any_of(first.snapshots.begin(), first.snapshots.end(),
                                [&](const auto& s) { return s.flush_id == snapshot.flush_id; });
    }
    EXPECT_GE(remembered, 1u);  // this test's snapshot at least
    EXPECT_EQ(t.snapshot_reads("remembered") - remembered_before, remembered);
    EXPECT_EQ(t.snapshot_reads("read") - read_before, first.snapshots.size() + first_totals.snapshots.size() +
                                                          second.snapshots.size() - remembered +
                                                          second_totals.snapshots.size());

    auto check_series = [&](const ports::LiveReading& reading) {
      auto values = snapshot_of(reading);
      ASSERT_TRUE(values.has_value());
      EXPECT_EQ((*values)[at_current], 2);
      EXPECT_EQ(reading.live[at_current], 1);
    };
    check_series(first);
    check_series(second);
    EXPECT_EQ(snapshot_of(first), snapshot_of(second));
    auto check_totals = [&](const ports::LiveReading& reading) {
      auto values = snapshot_of(reading);
      ASSERT_TRUE(values.has_value());
      EXPECT_EQ(*values, std::vector<std::int64_t>{2});
      EXPECT_EQ(reading.live, std::vector<std::int64_t>{1});
    };
    check_totals(first_totals);
    check_totals(second_totals);
    // Another range is another shape: read from Redis.
    std::uint64_t read_so_far = t.snapshot_reads("read");
    auto other = co_await t.reader.buckets(key, from - kMinuteMs, to, kMinuteMs, t.none);
    EXPECT_EQ(t.snapshot_reads("read") - read_so_far, other.snapshots.size());
    auto other_values = snapshot_of(other);
    EXPECT_TRUE(other_values.has_value());
    if (other_values) {
      EXPECT_EQ((*other_values)[at_current + 1], 2);
    }

    // Once dropped, the snapshot is neither listed nor remembered.
    co_await t.counters.drop_snapshot(*flush_id);
    auto after = co_await t.reader.buckets(key, from, to, kMinuteMs, t.none);
    EXPECT_FALSE(snapshot_of(after).has_value());
    EXPECT_EQ(after.live[at_current], 1);

    if (auto last = co_await t.counters.take_snapshot()) co_await t.counters.drop_snapshot(*last);
  });
}

// Snapshots the caller already has in its PostgreSQL reading are left out of the answer,
// whichever kind of read; the others are read as usual.
TEST(SnapshotMemo, SnapshotsToSkipAreLeftOut) {
  with_redis([](Fixture& t) -> asio::awaitable<void> {
    if (auto earlier = co_await t.counters.take_snapshot()) co_await t.counters.drop_snapshot(*earlier);
    const std::int64_t component = unique_component() + 3;
    const ports::CounterKey key{"CLICK", component, 0, ""};
    const std::vector<ports::CounterKey> keys_asked(1, key);
    const std::int64_t now = now_ms();
    const std::int64_t current = domain::bucket_start(now, kMinuteMs);
    co_await t.click(component, now);
    auto applied = co_await t.counters.take_snapshot();
    co_await t.click(component, now);
    co_await t.click(component, now);
    auto pending = co_await t.counters.take_snapshot();
    EXPECT_TRUE(applied && pending);
    if (!applied || !pending) co_return;
    const std::vector<std::string> skip{*applied};
    auto has = [](const ports::LiveReading& reading, const std::string& flush_id) {
      return std::any_of(reading.snapshots.begin(), reading.snapshots.end(),
                         [&](const auto& s) { return s.flush_id == flush_id; });
    };
    std::uint64_t skipped_before = t.snapshot_reads("skipped");
    auto totals = co_await t.reader.totals(keys_asked, skip);
    EXPECT_FALSE(has(totals, *applied));
    EXPECT_TRUE(has(totals, *pending));
    auto series = co_await t.reader.buckets(key, current - kMinuteMs, current + kMinuteMs, kMinuteMs, skip);
    EXPECT_FALSE(has(series, *applied));
    EXPECT_TRUE(has(series, *pending));
    for (const auto& snapshot : totals.snapshots) {
      if (snapshot.flush_id == *pending) {
        EXPECT_EQ(snapshot.values, std::vector<std::int64_t>{2});
      }
    }
    EXPECT_EQ(t.snapshot_reads("skipped") - skipped_before, 2u);
    // Without the skip, both are there.
    auto all = co_await t.reader.totals(keys_asked, t.none);
    EXPECT_TRUE(has(all, *applied));
    EXPECT_TRUE(has(all, *pending));

    co_await t.counters.drop_snapshot(*applied);
    co_await t.counters.drop_snapshot(*pending);
  });
}

}  // namespace
