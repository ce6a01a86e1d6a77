#pragma once
#include "app/ingest_service.hpp"
#include "app/periodic_task.hpp"
#include "domain/ranking.hpp"
#include "domain/statistics_query.hpp"
#include "metrics/metrics.hpp"
#include "ports/hourly_rankings.hpp"

#include <boost/asio/awaitable.hpp>

#include <array>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

namespace tracker::app {

struct RankingBoardOptions {
  std::chrono::milliseconds refresh_interval{1000};
  std::size_t max_limit = 100;  // the most members a reader may ask for
};

struct Standing {
  std::vector<domain::Ranked> members;  // best first, positive counts only
  std::int64_t as_of_ms = 0;            // when the hourly rankings were read
};

// Window rankings (top posts per event type, popular keywords over 1 h / 24 h / 7 d),
// computed off the request path. A window sums up to 169 hourly rankings; summing them
// per request made one reading cost Redis 20-400 ms. Here one task keeps a copy of every
// hour, fetches again only the hours whose version changed (in practice the current
// one), keeps each window's sum of whole hours up to date, and publishes every
// window's best members after each refresh. Readers on any thread take the latest
// published standing, so a ranking is at most about one refresh interval old.
class RankingBoard {
 public:
  static constexpr std::array<std::string_view, 4> kRankings = {"LIKE", "PAGE_VIEW", "CLICK", "keywords"};

  RankingBoard(ports::HourlyRankings& source, RankingBoardOptions options, metrics::Registry& metrics,
               Clock clock = system_now_ms);

  // Refreshes every refresh_interval until stop() (called on the same executor). A failed
  // refresh is logged, counted and tried again at the next interval.
  boost::asio::awaitable<void> run();
  void stop();
  // Reads the hours that changed and publishes every window's standing.
  boost::asio::awaitable<void> refresh();

  // Safe from any thread. nullopt before the first refresh has completed.
  std::optional<Standing> top(std::string_view ranking, domain::Window window, std::size_t limit) const;

 private:
  static constexpr std::size_t kWindows = 3;
  struct Hour {
    std::int64_t version = 0;
    std::vector<domain::Ranked> members;
  };
  struct Ranking {
    std::map<std::int64_t, Hour> hours;
    std::array<domain::RankingSum, kWindows> whole_hours;  // per window, without the current hour
  };
  struct Published {
    std::int64_t as_of_ms = 0;
    std::map<std::pair<std::string, std::size_t>, std::vector<domain::Ranked>, std::less<>> standings;
  };

  void rebuild_sums(Ranking& ranking) const;
  void change_hour(Ranking& ranking, std::int64_t hour_ms, Hour fresh);
  bool in_whole_hours(std::size_t window, std::int64_t hour_ms) const;

  ports::HourlyRankings& source_;
  RankingBoardOptions options_;
  Clock clock_;
  metrics::Counter& refreshes_;
  metrics::Counter& hours_fetched_;
  std::map<std::string, Ranking, std::less<>> rankings_;
  std::int64_t current_hour_ = 0;
  PeriodicTask task_;

  mutable std::mutex published_mutex_;
  std::shared_ptr<const Published> published_;
};

}  // namespace tracker::app
