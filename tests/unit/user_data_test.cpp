// UserDataService (app/user_data.hpp) over ports that answer fixed counts and fail at a
// chosen step: the steps run in their order (the archive's erasure before the backlog's,
// the commit last), the backlog is erased only past the archive's mark, and a failure at
// any step propagates with nothing committed, and with the backlog untouched when it comes
// from the archive's part.
#include "app/user_data.hpp"
#include "ports/errors.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace ports = tracker::ports;
using tracker::app::UserDataService;

enum class Step { source, begin, erase_stored, erase_unflushed, commit, none };

struct Log {
  Step failing = Step::none;
  std::vector<std::string> calls;
  std::optional<ports::BacklogPosition> erased_past;
  std::optional<ports::UserErasure> committed;
  bool erasure_closed = false;

  void enter(Step step, const char* name) {
    calls.emplace_back(name);
    if (step == failing) throw ports::StoreUnavailable(std::string(name) + " failed");
  }
};

class FakeErasure final : public ports::ArchiveErasure {
 public:
  explicit FakeErasure(Log& log) : log_(log) {}
  ~FakeErasure() override { log_.erasure_closed = true; }
  ports::BacklogPosition stored_up_to() const override { return {1700, 3}; }
  asio::awaitable<void> erase_stored(ports::UserErasure& erasure) override {
    log_.enter(Step::erase_stored, "erase_stored");
    erasure.stored_events = 10;
    erasure.rejected_events = 1;
    erasure.likes = 2;
    co_return;
  }
  asio::awaitable<void> commit(const ports::UserErasure& erasure) override {
    log_.enter(Step::commit, "commit");
    log_.committed = erasure;
    co_return;
  }

 private:
  Log& log_;
};

class FakeArchive final : public ports::UserDataArchive {
 public:
  explicit FakeArchive(Log& log) : log_(log) {}
  asio::awaitable<std::unique_ptr<ports::ArchiveErasure>> begin_erasure(const std::string& source,
                                                                        std::uint32_t shard) override {
    log_.enter(Step::begin, "begin");
    EXPECT_EQ(source, "et:stream@test");
    EXPECT_EQ(shard, 5u);  // the user's, as the backlog side names it
    co_return std::make_unique<FakeErasure>(log_);
  }

 private:
  Log& log_;
};

class FakeBacklog final : public ports::UnflushedUserData {
 public:
  explicit FakeBacklog(Log& log) : log_(log) {}
  asio::awaitable<std::string> backlog_source() override {
    log_.enter(Step::source, "source");
    co_return "et:stream@test";
  }
  std::uint32_t shard_of(std::int64_t user_id) const override { return user_id == 42 ? 5 : 0; }
  asio::awaitable<ports::UnflushedErasure> erase_user(std::int64_t user_id,
                                                      ports::BacklogPosition stored_up_to) override {
    log_.enter(Step::erase_unflushed, "erase_unflushed");
    EXPECT_EQ(user_id, 42);
    log_.erased_past = stored_up_to;
    co_return ports::UnflushedErasure{.events = 5, .recent_keywords = 3};
  }

 private:
  Log& log_;
};

// Runs an erasure of user 42; returns its result or the failure.
std::optional<ports::UserErasure> erase(Log& log, std::exception_ptr& failure) {
  asio::io_context io;
  FakeArchive archive(log);
  FakeBacklog backlog(log);
  UserDataService service(archive, backlog);
  std::optional<ports::UserErasure> result;
  asio::co_spawn(io, service.erase(42), [&](std::exception_ptr error, ports::UserErasure erased) {
    failure = error;
    if (!error) result = erased;
  });
  io.run();
  return result;
}

TEST(UserDataService, ErasesTheArchiveThenTheBacklogPastItsMarkThenCommitsTheCounts) {
  Log log;
  std::exception_ptr failure;
  auto erased = erase(log, failure);
  ASSERT_FALSE(failure);
  ASSERT_TRUE(erased);
  EXPECT_EQ(log.calls, (std::vector<std::string>{"source", "begin", "erase_stored", "erase_unflushed", "commit"}));
  ASSERT_TRUE(log.erased_past);
  EXPECT_EQ(*log.erased_past, (ports::BacklogPosition{1700, 3}));
  EXPECT_EQ(erased->user_id, 42);
  EXPECT_EQ(erased->stored_events, 10);
  EXPECT_EQ(erased->unflushed_events, 5);
  EXPECT_EQ(erased->rejected_events, 1);
  EXPECT_EQ(erased->recent_keywords, 3);
  EXPECT_EQ(erased->likes, 2);
  ASSERT_TRUE(log.committed);  // the record holds the backlog's counts too
  EXPECT_EQ(log.committed->unflushed_events, 5);
  EXPECT_EQ(log.committed->recent_keywords, 3);
  EXPECT_EQ(log.committed->stored_events, 10);
  EXPECT_TRUE(log.erasure_closed);
}

struct FailureCase {
  Step step;
  std::vector<std::string> calls;  // what ran, the failing step included
};

class UserDataServiceFailure : public ::testing::TestWithParam<FailureCase> {};

TEST_P(UserDataServiceFailure, PropagatesAndCommitsNothing) {
  Log log;
  log.failing = GetParam().step;
  std::exception_ptr failure;
  auto erased = erase(log, failure);
  EXPECT_FALSE(erased);
  ASSERT_TRUE(failure);
  EXPECT_THROW(std::rethrow_exception(failure), ports::StoreUnavailable);
  EXPECT_EQ(log.calls, GetParam().calls);
  if (GetParam().step != Step::commit) {
    EXPECT_FALSE(log.committed);
  }
  // An erasure begun is always closed (rolled back unless committed).
  if (log.calls.size() > 2) {
    EXPECT_TRUE(log.erasure_closed);
  }
}

INSTANTIATE_TEST_SUITE_P(
    EachStep, UserDataServiceFailure,
    ::testing::Values(FailureCase{Step::source, {"source"}},
                      FailureCase{Step::begin, {"source", "begin"}},
                      FailureCase{Step::erase_stored, {"source", "begin", "erase_stored"}},
                      FailureCase{Step::erase_unflushed, {"source", "begin", "erase_stored", "erase_unflushed"}},
                      FailureCase{Step::commit, {"source", "begin", "erase_stored", "erase_unflushed", "commit"}}));

}  // namespace
