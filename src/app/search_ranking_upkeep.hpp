#pragma once
#include "app/periodic_task.hpp"
#include "metrics/metrics.hpp"
#include "ports/ranking_upkeep.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>

namespace tracker::app {

struct SearchRankingUpkeepOptions {
  // How far the search ranking may lag behind like counts: a toggle's change is taken in
  // within about this long.
  std::chrono::milliseconds interval{1000};
  std::size_t batch = 200;  // posts per call of the upkeep
};

// Keeps the search ranking following posts (sql/functions/apply_post_ranking.sql): every interval,
// takes in every post changed meanwhile, in batches. Several servers may run it at once.
class SearchRankingUpkeep {
 public:
  SearchRankingUpkeep(ports::RankingUpkeep& ranking, SearchRankingUpkeepOptions options,
                      metrics::Registry& metrics);

  // Runs until stop() (called on the same executor). A failed round is logged, counted
  // and tried again after the interval.
  boost::asio::awaitable<void> run();
  void stop();
  // Takes in everything changed so far; returns the number of posts.
  boost::asio::awaitable<std::size_t> catch_up();

 private:
  ports::RankingUpkeep& ranking_;
  SearchRankingUpkeepOptions options_;
  metrics::Counter& posts_applied_;
  PeriodicTask task_;
};

}  // namespace tracker::app
