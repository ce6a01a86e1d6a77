// Flushers of different Redis shards against a real PostgreSQL (TRACKER_PG_DSN, migrated):
// each shard has its own writer lock and its own mark, so flushers of different shards
// write at once, a second flusher of a shard waits, and takes the shard over when the
// first one's connection (a dead server's) is gone.
#include "pg_support.hpp"

#include "metrics/metrics.hpp"
#include "ports/errors.hpp"
#include "postgres/event_archive.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <thread>
#include <random>

namespace {

using namespace std::chrono_literals;
using tracker::pgtest::await;
using tracker::pgtest::execute;
namespace ports = tracker::ports;
namespace asio = boost::asio;
using tracker::postgres::EventArchive;

std::int64_t random_user() {
  return 9'000'000'000 + static_cast<std::int64_t>(std::random_device{}() % 1'000'000'000);
}

std::string uuid(std::int64_t user, int n) {
  char text[40];
  std::snprintf(text, sizeof text, "01900000-0000-7000-9000-%012llx",
                static_cast<unsigned long long>((user % 1'000'000) * 1000 + n));
  return text;
}

// An event's COPY row, as the backlog holds it (domain/event_record.hpp).
std::string row(std::int64_t user, int n) {
  return uuid(user, n) + "\tCLICK\t" + std::to_string(user) + "\tpgtest-shards\t1003\t\\N\t\\N\t\\N\t{}\t\\N\t" +
         "2026-03-02T10:00:00.000Z";
}

class ShardFlushers : public ::testing::Test {
 protected:
  ShardFlushers()
      : options_{.dsn = tracker::pgtest::dsn(), .statement_timeout = 10s},
        user_(random_user()),
        source_("pgtest-shards@" + std::to_string(::getpid()) + "-" + std::to_string(user_)) {}
  ~ShardFlushers() override {
    await(io_, execute("delete from events where user_id = $1::bigint", {std::to_string(user_)}));
    await(io_, execute("delete from stream_watermark where stream = $1", {source_}));
  }

  std::unique_ptr<EventArchive> archive(std::uint32_t shard) {
    return std::make_unique<EventArchive>(io_.get_executor(), options_, metrics_, shard);
  }
  ports::BacklogPosition mark(EventArchive& archive) { return await(io_, archive.stored_up_to(source_)); }
  void store(EventArchive& archive, ports::BacklogPosition position, int n) {
    std::vector<ports::BacklogEntry> entries(1);
    entries[0].position = position;
    entries[0].records = {row(user_, n)};
    await(io_, [&]() -> asio::awaitable<int> {
      co_await archive.begin_batch(source_);
      co_await archive.store_events(source_, entries);
      co_return 0;
    }());
  }
  std::string stream_id(int n) {
    return std::string(
        await(io_, execute("select stream_id from events where id = $1::uuid", {uuid(user_, n)})).text(0, 0));
  }

  asio::io_context io_;
  tracker::metrics::Registry metrics_;
  tracker::postgres::ConnectionOptions options_;
  std::int64_t user_;
  std::string source_;
};

TEST_F(ShardFlushers, EachShardHasItsOwnLockAndMark) {
  auto first = archive(0);
  auto second = archive(1);
  EXPECT_EQ(mark(*first), (ports::BacklogPosition{}));
  EXPECT_EQ(mark(*second), (ports::BacklogPosition{}));  // shard 1 is not shard 0's: no wait

  // Another flusher of shard 0 (another server's) waits while the first holds it.
  auto standby = archive(0);
  try {
    mark(*standby);
    ADD_FAILURE() << "two flushers hold shard 0";
  } catch (const ports::Overloaded& busy) {
    EXPECT_EQ(busy.reason(), "flusher_lock");
  }

  // Both shards' flushers write; their marks move apart (stream ids of two shards are
  // never compared).
  store(*first, {2'000, 5}, 1);
  store(*second, {1'000, 1}, 2);
  EXPECT_EQ(mark(*first), (ports::BacklogPosition{2'000, 5}));
  EXPECT_EQ(mark(*second), (ports::BacklogPosition{1'000, 1}));
  EXPECT_EQ(stream_id(1), "2000-5/0");
  EXPECT_EQ(stream_id(2), "1:1000-1/0");  // the shard named: entry ids of shards may meet

  // The first server dies (its connection with it): the standby takes shard 0 over, from
  // the mark the first one left.
  // PostgreSQL frees its lock once its backend has seen the connection close, a moment
  // later: the standby tries again, as a flusher does.
  first.reset();
  std::optional<ports::BacklogPosition> taken_over;
  for (int attempt = 0; attempt < 100 && !taken_over; ++attempt) {
    try {
      taken_over = mark(*standby);
    } catch (const ports::Overloaded&) {
      std::this_thread::sleep_for(50ms);
    }
  }
  EXPECT_EQ(taken_over, (ports::BacklogPosition{2'000, 5}));
  store(*standby, {2'000, 6}, 3);
  EXPECT_EQ(mark(*standby), (ports::BacklogPosition{2'000, 6}));
  EXPECT_EQ(mark(*second), (ports::BacklogPosition{1'000, 1}));
}

// The marks kept before shards (rows without a shard) are shard 0's.
TEST_F(ShardFlushers, AMarkFromBeforeShardsIsShardZeros) {
  await(io_, execute("insert into stream_watermark (stream, last_ms, last_seq) values ($1, 3000, 2)", {source_}));
  auto zero = archive(0);
  auto one = archive(1);
  EXPECT_EQ(mark(*zero), (ports::BacklogPosition{3'000, 2}));
  EXPECT_EQ(mark(*one), (ports::BacklogPosition{}));
}

}  // namespace
