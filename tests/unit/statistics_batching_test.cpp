// BatchingCounterArchive (app/batching_counter_archive.hpp) over an in-memory archive whose
// statements finish when the test says so: concurrent reads share a statement, each gets
// its own keys' values and the statement's start, a lone read is not held back, at most
// max_in_flight statements run, failures reach every read of their statement.
#include "app/batching_counter_archive.hpp"
#include "ports/errors.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <deque>
#include <optional>

namespace {

namespace asio = boost::asio;
namespace ports = tracker::ports;
using namespace std::chrono_literals;
using tracker::app::ArchiveBatchOptions;
using tracker::app::BatchingCounterArchive;
using tracker::metrics::Registry;
using TimePoint = std::chrono::steady_clock::time_point;

// Each totals() statement waits until release() lets it finish (in order), or fails.
class GatedArchive final : public ports::CounterArchive {
 public:
  explicit GatedArchive(asio::io_context& io) : io_(io) {}

  asio::awaitable<ports::ArchiveReading> totals(std::span<const ports::CounterKey> keys) override {
    statements.emplace_back(keys.begin(), keys.end());
    auto gate = std::make_shared<asio::steady_timer>(io_, TimePoint::max());
    gates_.push_back(gate);
    boost::system::error_code released;
    co_await gate->async_wait(asio::redirect_error(asio::use_awaitable, released));
    if (fail_next) {
      fail_next = false;
      throw ports::StoreUnavailable("postgres is down");
    }
    ports::ArchiveReading reading;
    for (const auto& key : keys) reading.values.push_back(key.component_id * 100 + key.post_id);
    reading.snapshot = "snapshot-" + std::to_string(statements.size());
    co_return reading;
  }
  asio::awaitable<ports::ArchiveReading> buckets(const ports::CounterKey&, std::int64_t, std::int64_t,
                                                 std::int64_t) override {
    ++buckets_calls;
    co_return ports::ArchiveReading{};
  }
  asio::awaitable<std::vector<std::string>> applied_in(const std::string&, std::span<const std::string> ids) override {
    co_return std::vector<std::string>(ids.begin(), ids.end());
  }

  // Lets the oldest waiting statement finish.
  void release() {
    ASSERT_FALSE(gates_.empty());
    gates_.front()->cancel();
    gates_.pop_front();
  }
  std::size_t waiting() const { return gates_.size(); }

  std::vector<std::vector<ports::CounterKey>> statements;
  bool fail_next = false;
  int buckets_calls = 0;

 private:
  asio::io_context& io_;
  std::deque<std::shared_ptr<asio::steady_timer>> gates_;
};

struct Outcome {
  std::optional<ports::ArchiveReading> reading;
  bool failed = false;
};

struct BatchingTest : ::testing::Test {
  asio::io_context io;
  GatedArchive inner{io};
  Registry metrics;
  TimePoint now{std::chrono::hours(1000)};
  std::deque<Outcome> outcomes;  // a deque: references stay valid while it grows

  BatchingCounterArchive batching(ArchiveBatchOptions options = {}) {
    return BatchingCounterArchive(io.get_executor(), inner, metrics, options, [this] { return now; });
  }
  // Starts a read of `keys`; its outcome lands in the returned slot.
  Outcome& read(BatchingCounterArchive& archive, std::vector<ports::CounterKey> keys) {
    Outcome& outcome = outcomes.emplace_back();
    asio::co_spawn(
        io,
        [&archive, &outcome, keys = std::move(keys)]() -> asio::awaitable<void> {
          try {
            outcome.reading = co_await archive.totals(keys);
          } catch (const ports::StoreError&) {
            outcome.failed = true;
          }
        },
        asio::detached);
    return outcome;
  }
  void settle() {
    io.restart();
    io.poll();
  }
};

ports::CounterKey key(std::int64_t component, std::int64_t post = 0) { return {"CLICK", component, post, ""}; }

TEST_F(BatchingTest, ReadsOfOneTurnShareAStatementAndEachGetsItsOwnValues) {
  auto archive = batching();
  Outcome& a = read(archive, {key(1)});
  Outcome& b = read(archive, {key(2), key(3, 7)});
  Outcome& c = read(archive, {key(4)});
  settle();
  ASSERT_EQ(inner.statements.size(), 1u);
  EXPECT_EQ(inner.statements[0].size(), 4u);
  TimePoint sent = now;
  now += 5ms;
  inner.release();
  settle();
  ASSERT_TRUE(a.reading && b.reading && c.reading);
  EXPECT_EQ(a.reading->values, std::vector<std::int64_t>{100});
  EXPECT_EQ(b.reading->values, (std::vector<std::int64_t>{200, 307}));
  EXPECT_EQ(c.reading->values, std::vector<std::int64_t>{400});
  EXPECT_EQ(a.reading->snapshot, "snapshot-1");
  EXPECT_EQ(c.reading->snapshot, "snapshot-1");
  ASSERT_TRUE(b.reading->read_started);
  EXPECT_EQ(*b.reading->read_started, sent);  // when the statement started, for the read span
}

TEST_F(BatchingTest, ALoneReadIsSentAtOnce) {
  auto archive = batching();
  Outcome& a = read(archive, {key(1)});
  settle();
  EXPECT_EQ(inner.statements.size(), 1u);
  inner.release();
  settle();
  ASSERT_TRUE(a.reading);
  Outcome& b = read(archive, {key(2)});
  settle();
  EXPECT_EQ(inner.statements.size(), 2u);
  inner.release();
  settle();
  ASSERT_TRUE(b.reading);
  EXPECT_EQ(b.reading->snapshot, "snapshot-2");
}

TEST_F(BatchingTest, ReadsWaitingForAFreeStatementGoTogether) {
  ArchiveBatchOptions options;
  options.max_in_flight = 2;
  auto archive = batching(options);
  read(archive, {key(1)});
  settle();
  read(archive, {key(2)});
  settle();
  EXPECT_EQ(inner.statements.size(), 2u);  // two running
  Outcome& c = read(archive, {key(3)});
  settle();
  Outcome& d = read(archive, {key(4)});
  settle();
  Outcome& e = read(archive, {key(5)});
  settle();
  EXPECT_EQ(inner.statements.size(), 2u);  // the others wait
  inner.release();
  settle();
  ASSERT_EQ(inner.statements.size(), 3u);
  EXPECT_EQ(inner.statements[2].size(), 3u);  // c, d and e in one statement
  inner.release();
  inner.release();
  settle();
  ASSERT_TRUE(c.reading && d.reading && e.reading);
  EXPECT_EQ(d.reading->values, std::vector<std::int64_t>{400});
  EXPECT_EQ(e.reading->snapshot, "snapshot-3");
  EXPECT_EQ(metrics.counter("tracker_statistics_total_batches_total", "").value(), 3u);
  EXPECT_EQ(metrics.counter("tracker_statistics_total_reads_total", "").value(), 5u);
}

TEST_F(BatchingTest, StatementsHoldAtMostMaxKeys) {
  ArchiveBatchOptions options;
  options.max_in_flight = 1;
  options.max_keys = 3;
  auto archive = batching(options);
  std::vector<Outcome*> reads;
  for (std::int64_t component = 1; component <= 7; ++component) reads.push_back(&read(archive, {key(component)}));
  settle();
  while (inner.waiting() > 0) {
    inner.release();
    settle();
  }
  ASSERT_EQ(inner.statements.size(), 3u);
  EXPECT_EQ(inner.statements[0].size(), 3u);
  EXPECT_EQ(inner.statements[1].size(), 3u);
  EXPECT_EQ(inner.statements[2].size(), 1u);
  for (std::size_t i = 0; i < reads.size(); ++i) {
    ASSERT_TRUE(reads[i]->reading);
    EXPECT_EQ(reads[i]->reading->values, std::vector<std::int64_t>{static_cast<std::int64_t>(i + 1) * 100});
  }
}

TEST_F(BatchingTest, AFailedStatementFailsItsReadsOnly) {
  auto archive = batching();
  Outcome& a = read(archive, {key(1)});
  Outcome& b = read(archive, {key(2)});
  settle();
  inner.fail_next = true;
  inner.release();
  settle();
  EXPECT_TRUE(a.failed);
  EXPECT_TRUE(b.failed);
  Outcome& c = read(archive, {key(3)});
  settle();
  inner.release();
  settle();
  ASSERT_TRUE(c.reading);
  EXPECT_EQ(c.reading->values, std::vector<std::int64_t>{300});
}

TEST_F(BatchingTest, BucketsAndLedgerPassThrough) {
  auto archive = batching();
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await archive.buckets(key(1), 0, 60'000, 60'000);
        std::vector<std::string> ids{"f1"};
        auto applied = co_await archive.applied_in("s", ids);
        EXPECT_EQ(applied, ids);
      },
      asio::detached);
  settle();
  EXPECT_EQ(inner.buckets_calls, 1);
  EXPECT_TRUE(inner.statements.empty());
}

}  // namespace
