#include "app/search_ranking_upkeep.hpp"

#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace tracker::app {

namespace asio = boost::asio;

SearchRankingUpkeep::SearchRankingUpkeep(ports::RankingUpkeep& ranking, SearchRankingUpkeepOptions options,
                                         metrics::Registry& metrics)
    : ranking_(ranking),
      options_(options),
      posts_applied_(metrics.counter("tracker_search_ranking_posts_applied_total",
                                     "Changed posts the search ranking has taken in")),
      task_("search ranking: upkeep", options_.interval,
            metrics.counter("tracker_search_ranking_upkeep_failures_total",
                            "Rounds of the search ranking's upkeep that failed (tried again later)")) {}

asio::awaitable<std::size_t> SearchRankingUpkeep::catch_up() {
  const std::size_t batch = std::max<std::size_t>(options_.batch, 1);
  std::size_t total = 0;
  for (;;) {
    std::size_t applied = co_await ranking_.apply_changes(batch);
    posts_applied_.inc(applied);
    total += applied;
    // A short batch: nothing more is waiting, or only posts being changed right now.
    if (applied < batch || task_.stopped()) co_return total;
  }
}

asio::awaitable<void> SearchRankingUpkeep::run() {
  co_await task_.run([this]() -> asio::awaitable<void> { co_await catch_up(); });
}

void SearchRankingUpkeep::stop() { task_.stop(); }

}  // namespace tracker::app
