// The ranking board against a real Redis: hourly rankings written as lua/ingest.lua
// writes them (sorted set + version bump), read back through redis::HourlyRankings, and
// every window compared with a sum computed from scratch. The board's clock sits in
// 2001, so the hours of these tests never meet real data in the same Redis.
#include "app/ranking_board.hpp"
#include "domain/time_format.hpp"
#include "metrics/metrics.hpp"
#include "redis/hourly_rankings.hpp"
#include "redis/keys.hpp"
#include "redis_support.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace {

namespace asio = boost::asio;
using tracker::app::RankingBoard;
using tracker::domain::kHourMs;
using tracker::domain::Ranked;
using tracker::domain::Window;
using tracker::redis::Connection;
using tracker::testing::options;
using tracker::testing::with_connection;
namespace keys = tracker::redis::keys;

// 2001-09-09T01:00:00Z, plus a per-process offset so parallel runs keep apart.
const std::int64_t kBaseHour = 1'000'000'800'000 / kHourMs * kHourMs + (::getpid() % 1000) * 400 * kHourMs;

// Hour contents by hour, as the test believes Redis holds them.
using Truth = std::map<std::int64_t, std::map<std::string, std::int64_t>>;

class Rankings {
 public:
  Rankings(Connection& redis, std::string ranking) : redis_(redis), ranking_(std::move(ranking)) {}

  // What ingest.lua does for one member of one hour.
  asio::awaitable<void> add(std::int64_t hour, const std::string& member, std::int64_t n) {
    std::string key = keys::ranking_hour(tag_, ranking_, hour);
    std::string by = std::to_string(n);
    const std::string_view incr[] = {"ZINCRBY", key, by, member};
    co_await redis_.execute(incr);
    const std::string_view bump[] = {"HINCRBY", versions_, key, "1"};
    co_await redis_.execute(bump);
    truth_[hour][member] += n;
  }

  asio::awaitable<void> remove_hour(std::int64_t hour) {
    std::string key = keys::ranking_hour(tag_, ranking_, hour);
    const std::string_view del[] = {"DEL", key};
    co_await redis_.execute(del);
    const std::string_view hdel[] = {"HDEL", versions_, key};
    co_await redis_.execute(hdel);
    truth_.erase(hour);
  }

  asio::awaitable<bool> has_version(std::int64_t hour) {
    std::string key = keys::ranking_hour(tag_, ranking_, hour);
    const std::string_view exists[] = {"HEXISTS", versions_, key};
    co_return (co_await redis_.execute(exists)).integer == 1;
  }

  // The best `limit` members summed over the window's hours ending with `current`.
  std::vector<Ranked> expected(std::int64_t current, Window window, std::size_t limit) const {
    std::int64_t hours = window == Window::Hour ? 1 : window == Window::Day ? 24 : 168;
    std::map<std::string, std::int64_t> sum;
    for (const auto& [hour, members] : truth_) {
      if (hour > current || hour < current - hours * kHourMs) continue;
      for (const auto& [member, n] : members) sum[member] += n;
    }
    std::vector<Ranked> all;
    for (const auto& [member, n] : sum) {
      if (n > 0) all.push_back({member, n});
    }
    std::sort(all.begin(), all.end(), tracker::domain::ranks_before);
    if (all.size() > limit) all.resize(limit);
    return all;
  }

  asio::awaitable<void> clean(std::int64_t from_hour, std::int64_t to_hour) {
    for (std::int64_t hour = from_hour; hour <= to_hour; hour += kHourMs) co_await remove_hour(hour);
  }

 private:
  const std::string tag_ = keys::shard_tag(0);
  const std::string versions_ = keys::ranking_versions(tag_);
  Connection& redis_;
  std::string ranking_;
  Truth truth_;
};

struct Board {
  explicit Board(Connection& redis)
      : source(redis.shared_from_this(), std::chrono::milliseconds(2000)),
        board(source, {}, metrics, [this] { return now_ms; }) {}

  std::uint64_t fetched() { return metrics.counter("tracker_ranking_hourly_reads_total", "").value(); }

  std::int64_t now_ms = kBaseHour + 30 * 60'000;
  tracker::metrics::Registry metrics;
  tracker::redis::HourlyRankings source;
  RankingBoard board;
};

void expect_windows(const Board& board, const Rankings& truth, const std::string& ranking, std::int64_t current) {
  for (Window window : {Window::Hour, Window::Day, Window::Week}) {
    auto standing = board.board.top(ranking, window, 100);
    ASSERT_TRUE(standing.has_value());
    EXPECT_EQ(standing->members, truth.expected(current, window, 100))
        << ranking << " window " << tracker::domain::to_string(window);
  }
}

TEST(RankingBoard, WindowsSumTheirHoursAndOnlyChangedHoursAreFetchedAgain) {
  with_connection(options(), [](Connection& redis) -> asio::awaitable<void> {
    Rankings likes(redis, "LIKE");
    Rankings keywords(redis, "keywords");
    co_await likes.clean(kBaseHour - 300 * kHourMs, kBaseHour + 2 * kHourMs);
    co_await keywords.clean(kBaseHour - 300 * kHourMs, kBaseHour + 2 * kHourMs);
    Board board(redis);
    EXPECT_FALSE(board.board.top("LIKE", Window::Day, 10).has_value());

    std::mt19937 random(7);
    std::vector<std::int64_t> hours;
    for (int back : {0, 1, 2, 5, 23, 24, 25, 100, 167, 168, 169, 250}) hours.push_back(kBaseHour - back * kHourMs);
    for (std::int64_t hour : hours) {
      for (int i = 0; i < 60; ++i) {
        std::int64_t n = static_cast<std::int64_t>(random() % 9) - 1;  // some UNLIKEs
        if (n == 0) continue;
        co_await likes.add(hour, std::to_string(1 + random() % 80), n);
        co_await keywords.add(hour, "kw" + std::to_string(random() % 50), 1);
      }
    }
    co_await board.board.refresh();
    expect_windows(board, likes, "LIKE", kBaseHour);
    expect_windows(board, keywords, "keywords", kBaseHour);
    // 169 and 250 hours back are outside every window: skipped, and their versions forgotten.
    EXPECT_EQ(board.fetched(), 2u * 10);
    EXPECT_FALSE(co_await likes.has_version(kBaseHour - 250 * kHourMs));
    EXPECT_FALSE(co_await likes.has_version(kBaseHour - 169 * kHourMs));

    // A late event in a past hour and new events in the current one: two hours read again.
    co_await likes.add(kBaseHour - 23 * kHourMs, "500", 1000);
    co_await likes.add(kBaseHour, "501", 3);
    co_await board.board.refresh();
    EXPECT_EQ(board.fetched(), 2u * 10 + 2);
    expect_windows(board, likes, "LIKE", kBaseHour);
    EXPECT_EQ(board.board.top("LIKE", Window::Day, 1)->members.front(), (Ranked{"500", 1000}));
    EXPECT_EQ(board.board.top("LIKE", Window::Hour, 5)->members.size(), 5u);  // the limit

    // Nothing changed: nothing is read again.
    co_await board.board.refresh();
    EXPECT_EQ(board.fetched(), 2u * 10 + 2);

    // The next hour: every window moves by one hour.
    board.now_ms += kHourMs;
    co_await likes.add(kBaseHour + kHourMs, "502", 2);
    co_await board.board.refresh();
    expect_windows(board, likes, "LIKE", kBaseHour + kHourMs);
    expect_windows(board, keywords, "keywords", kBaseHour + kHourMs);

    // A ranking hour that is gone from Redis is gone from the windows.
    co_await likes.remove_hour(kBaseHour - 23 * kHourMs);
    co_await board.board.refresh();
    expect_windows(board, likes, "LIKE", kBaseHour + kHourMs);
    EXPECT_EQ(board.board.top("LIKE", Window::Day, 100)->as_of_ms, board.now_ms);

    co_await likes.clean(kBaseHour - 300 * kHourMs, kBaseHour + 2 * kHourMs);
    co_await keywords.clean(kBaseHour - 300 * kHourMs, kBaseHour + 2 * kHourMs);
  });
}

}  // namespace
