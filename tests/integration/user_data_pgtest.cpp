// Erasing a user's data in a real PostgreSQL (postgres/user_data_archive.hpp) and its lock
// against flush batches (postgres/event_archive.hpp): the user's events, refused rows and
// likes go, other users' stay, the posts' like counts stay, the erasure is recorded with
// its counts; an erasure not committed changes nothing; an erasure waits for a batch that
// is open and a batch waits for an erasure that is open, and the mark an erasure reads is
// the one of every batch committed before it. Users, posts and the backlog source are the
// test's own.
#include "pg_support.hpp"

#include "metrics/metrics.hpp"
#include "ports/errors.hpp"
#include "postgres/event_archive.hpp"
#include "postgres/pool.hpp"
#include "postgres/user_data_archive.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <random>

namespace {

using namespace std::chrono_literals;
using tracker::pgtest::await;
using tracker::pgtest::execute;
namespace ports = tracker::ports;
namespace asio = boost::asio;

std::int64_t random_user() {
  return 8'000'000'000 + static_cast<std::int64_t>(std::random_device{}() % 1'000'000'000);
}

std::string uuid(std::int64_t user, int n) {
  char text[40];
  std::snprintf(text, sizeof text, "01900000-0000-7000-8000-%012llx",
                static_cast<unsigned long long>((user % 1'000'000) * 1000 + n));
  return text;
}

// An event's COPY row, as the backlog holds it (domain/event_record.hpp).
std::string row(std::int64_t user, int n) {
  return uuid(user, n) + "\tCLICK\t" + std::to_string(user) + "\tpgtest-erase\t1002\t\\N\t\\N\t\\N\t{}\t\\N\t" +
         "2026-03-02T10:00:00.000Z";
}

class UserDataTest : public ::testing::Test {
 protected:
  UserDataTest()
      : options_{.dsn = tracker::pgtest::dsn(), .statement_timeout = 10s},
        pool_(io_.get_executor(), options_, 2, 16, metrics_),
        archive_(pool_, 10s),
        user_(random_user()),
        other_(user_ + 1),
        source_("pgtest-erase@" + std::to_string(::getpid()) + "-" + std::to_string(user_)) {
    for (auto [user, events] : {std::pair{user_, 5}, std::pair{other_, 3}}) {
      await(io_, execute("insert into events (id, event_type, user_id, session_id, component_id, server_time)"
                         " select gen_random_uuid(), 'CLICK', $1::bigint, 'pgtest-erase', 1002,"
                         " '2026-03-02 10:00:00+00'::timestamptz from generate_series(1, $2::int)",
                         {std::to_string(user), std::to_string(events)}));
      await(io_, execute("insert into events_rejected (stream_id, record, error) values ($1, $2, 'test')",
                         {source_ + "/" + std::to_string(user), row(user, 99)}));
    }
    post_ = await(io_, execute("insert into posts (user_id, content, like_count) values ($1::bigint, 'erase', 2)"
                               " returning id",
                               {std::to_string(other_)}))
                .as_int64(0, 0);
    for (auto user : {user_, other_}) {
      await(io_, execute("insert into likes (user_id, post_id) values ($1::bigint, $2::bigint)",
                         {std::to_string(user), std::to_string(post_)}));
    }
  }
  ~UserDataTest() override {
    for (auto user : {user_, other_}) {
      await(io_, execute("delete from events where user_id = $1::bigint", {std::to_string(user)}));
      await(io_, execute("delete from user_deletions where user_id = $1::bigint", {std::to_string(user)}));
      await(io_, execute("delete from events_rejected where stream_id = $1", {source_ + "/" + std::to_string(user)}));
    }
    await(io_, execute("delete from posts where id = $1::bigint", {std::to_string(post_)}));
    await(io_, execute("delete from stream_watermark where stream = $1", {source_}));
  }

  std::int64_t count(const std::string& sql, std::int64_t user) {
    return await(io_, execute(sql, {std::to_string(user)})).as_int64(0, 0);
  }
  // Runs the io_context (stopped by await() when it ran out of work) until `done` or `limit`.
  template <class Done>
  void run_until(Done done, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_for(20ms);
    }
  }
  std::int64_t events_of(std::int64_t user) { return count("select count(*) from events where user_id = $1::bigint", user); }

  asio::io_context io_;
  tracker::metrics::Registry metrics_;
  tracker::postgres::ConnectionOptions options_;
  tracker::postgres::Pool pool_;
  tracker::postgres::UserDataArchive archive_;
  std::int64_t user_, other_, post_ = 0;
  std::string source_;
};

TEST_F(UserDataTest, RemovesTheUsersRowsOnlyAndRecordsTheCounts) {
  auto erasure = await(io_, archive_.begin_erasure(source_, 0));
  EXPECT_EQ(erasure->stored_up_to(), (ports::BacklogPosition{}));  // nothing stored from this source
  ports::UserErasure erased{.user_id = user_, .unflushed_events = 4, .recent_keywords = 2};
  await(io_, [&]() -> asio::awaitable<int> {
    co_await erasure->erase_stored(erased);
    co_await erasure->commit(erased);
    co_return 0;
  }());
  erasure.reset();
  EXPECT_EQ(erased.stored_events, 5);
  EXPECT_EQ(erased.rejected_events, 1);
  EXPECT_EQ(erased.likes, 1);
  EXPECT_EQ(events_of(user_), 0);
  EXPECT_EQ(events_of(other_), 3);
  EXPECT_EQ(count("select count(*) from likes where user_id = $1::bigint", user_), 0);
  EXPECT_EQ(count("select count(*) from likes where user_id = $1::bigint", other_), 1);
  EXPECT_EQ(count("select like_count from posts where id = $1::bigint", post_), 2);  // an aggregate: stays
  EXPECT_EQ(await(io_, execute("select count(*) from events_rejected where stream_id like $1", {source_ + "/%"}))
                .as_int64(0, 0),
            1);
  auto record = await(io_, execute("select events_stored, events_unflushed, events_rejected, recent_keywords, likes"
                                   " from user_deletions where user_id = $1::bigint",
                                   {std::to_string(user_)}));
  ASSERT_EQ(record.rows(), 1);
  EXPECT_EQ(record.as_int64(0, 0), 5);
  EXPECT_EQ(record.as_int64(0, 1), 4);
  EXPECT_EQ(record.as_int64(0, 2), 1);
  EXPECT_EQ(record.as_int64(0, 3), 2);
  EXPECT_EQ(record.as_int64(0, 4), 1);
}

TEST_F(UserDataTest, AnErasureNotCommittedChangesNothing) {
  auto erasure = await(io_, archive_.begin_erasure(source_, 0));
  ports::UserErasure erased{.user_id = user_};
  await(io_, [&]() -> asio::awaitable<int> {
    co_await erasure->erase_stored(erased);
    co_return 0;
  }());
  EXPECT_EQ(erased.stored_events, 5);
  erasure.reset();  // e.g. the Redis step failed
  EXPECT_EQ(events_of(user_), 5);
  EXPECT_EQ(count("select count(*) from likes where user_id = $1::bigint", user_), 1);
  EXPECT_EQ(count("select count(*) from user_deletions where user_id = $1::bigint", user_), 0);
  // The lock went with the transaction: the next erasure begins at once.
  auto next = await(io_, archive_.begin_erasure(source_, 0));
  EXPECT_TRUE(next);
}

TEST_F(UserDataTest, AnErasureAndAFlushBatchWaitForEachOther) {
  tracker::postgres::EventArchive flusher(io_.get_executor(), options_, metrics_);
  // A batch is open (it has read the backlog, say): the erasure waits for its commit, and
  // then sees the mark the batch moved.
  await(io_, [&]() -> asio::awaitable<int> {
    co_await flusher.begin_batch(source_);
    co_return 0;
  }());
  std::unique_ptr<ports::ArchiveErasure> erasure;
  asio::co_spawn(io_, archive_.begin_erasure(source_, 0),
                 [&](std::exception_ptr error, std::unique_ptr<ports::ArchiveErasure> begun) {
                   EXPECT_FALSE(error);
                   erasure = std::move(begun);
                 });
  run_until([&] { return erasure != nullptr; }, 300ms);
  EXPECT_FALSE(erasure) << "the erasure began while a flush batch was open";
  std::vector<ports::BacklogEntry> entries(1);
  entries[0].position = {1'700'000'000'000, 7};
  entries[0].records = {row(other_, 1)};
  await(io_, [&]() -> asio::awaitable<int> {
    co_await flusher.store_events(source_, entries);
    co_return 0;
  }());
  run_until([&] { return erasure != nullptr; }, 5s);
  ASSERT_TRUE(erasure);
  EXPECT_EQ(erasure->stored_up_to(), (ports::BacklogPosition{1'700'000'000'000, 7}));
  EXPECT_EQ(events_of(other_), 4);

  // The erasure is open: the next batch waits for it before it may read the backlog.
  bool batch_open = false;
  asio::co_spawn(io_, flusher.begin_batch(source_), [&](std::exception_ptr error) {
    EXPECT_FALSE(error);
    batch_open = true;
  });
  run_until([&] { return batch_open; }, 300ms);
  EXPECT_FALSE(batch_open) << "a flush batch began while an erasure was open";
  ports::UserErasure erased{.user_id = user_};
  bool committed = false;
  asio::co_spawn(io_, [&]() -> asio::awaitable<void> {
    co_await erasure->erase_stored(erased);
    co_await erasure->commit(erased);
  }, [&](std::exception_ptr error) {
    if (error) {
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "the erasure failed: " << e.what();
      }
    }
    committed = true;
  });
  run_until([&] { return batch_open && committed; }, 5s);
  EXPECT_TRUE(batch_open);
  EXPECT_TRUE(committed);
  EXPECT_EQ(erased.stored_events, 5);
  await(io_, [&]() -> asio::awaitable<int> {
    co_await flusher.end_batch();
    co_return 0;
  }());
  await(io_, execute("delete from events where id = $1::uuid", {uuid(other_, 1)}));
}

}  // namespace
