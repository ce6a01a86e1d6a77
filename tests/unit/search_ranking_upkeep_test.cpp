// SearchRankingUpkeep (app/search_ranking_upkeep.hpp) over a scripted upkeep port: a round
// calls the port until a batch comes back short, a failed round is counted and the next
// interval tries again, stop() ends the loop.
#include "app/search_ranking_upkeep.hpp"
#include "ports/errors.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <deque>
#include <optional>

namespace {

namespace asio = boost::asio;
namespace ports = tracker::ports;
using namespace std::chrono_literals;
using tracker::app::SearchRankingUpkeep;
using tracker::app::SearchRankingUpkeepOptions;

// Answers each call with the next scripted count (nullopt: a failure), then 0.
class ScriptedUpkeep final : public ports::RankingUpkeep {
 public:
  std::deque<std::optional<std::size_t>> answers;
  std::vector<std::size_t> limits;

  asio::awaitable<std::size_t> apply_changes(std::size_t limit) override {
    limits.push_back(limit);
    std::optional<std::size_t> answer = 0;
    if (!answers.empty()) {
      answer = answers.front();
      answers.pop_front();
    }
    if (!answer) throw ports::StoreUnavailable("postgres is down");
    co_return *answer;
  }
};

std::uint64_t counter(tracker::metrics::Registry& metrics, const char* name) { return metrics.counter(name, "").value(); }

TEST(SearchRankingUpkeep, ARoundTakesBatchesUntilOneComesBackShort) {
  asio::io_context io;
  tracker::metrics::Registry metrics;
  ScriptedUpkeep port;
  port.answers = {100, 100, 7, 50};
  SearchRankingUpkeep upkeep(port, SearchRankingUpkeepOptions{.interval = 10ms, .batch = 100}, metrics);
  std::size_t taken = 0;
  asio::co_spawn(io, upkeep.catch_up(), [&](std::exception_ptr error, std::size_t n) {
    EXPECT_FALSE(error);
    taken = n;
  });
  io.run();
  EXPECT_EQ(taken, 207u);
  EXPECT_EQ(port.limits, (std::vector<std::size_t>{100, 100, 100}));  // the 50 is the next round's
  EXPECT_EQ(counter(metrics, "tracker_search_ranking_posts_applied_total"), 207u);
}

TEST(SearchRankingUpkeep, AFailedRoundIsCountedAndTheNextIntervalTriesAgainUntilStopped) {
  asio::io_context io;
  tracker::metrics::Registry metrics;
  ScriptedUpkeep port;
  port.answers = {std::nullopt, 3};
  SearchRankingUpkeep upkeep(port, SearchRankingUpkeepOptions{.interval = 5ms, .batch = 100}, metrics);
  bool finished = false;
  asio::co_spawn(io, upkeep.run(), [&](std::exception_ptr error) {
    EXPECT_FALSE(error);
    finished = true;
  });
  // Stops the loop once the round after the failure has taken its posts in.
  asio::steady_timer watch(io);
  std::function<void()> check = [&] {
    if (counter(metrics, "tracker_search_ranking_posts_applied_total") == 3 || port.limits.size() > 50) {
      upkeep.stop();
      return;
    }
    watch.expires_after(1ms);
    watch.async_wait([&](boost::system::error_code) { check(); });
  };
  check();
  io.run_for(5s);
  EXPECT_TRUE(finished);
  EXPECT_EQ(counter(metrics, "tracker_search_ranking_upkeep_failures_total"), 1u);
  EXPECT_EQ(counter(metrics, "tracker_search_ranking_posts_applied_total"), 3u);
  EXPECT_GE(port.limits.size(), 2u);
}

}  // namespace
