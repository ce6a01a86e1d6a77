#include "app/search_ranking_upkeep.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace tracker::app {

namespace asio = boost::asio;

SearchRankingUpkeep::SearchRankingUpkeep(ports::RankingUpkeep& ranking, SearchRankingUpkeepOptions options,
                                         metrics::Registry& metrics)
    : ranking_(ranking),
      options_(options),
      posts_applied_(metrics.counter("tracker_search_ranking_posts_applied_total",
                                     "Changed posts the search ranking has taken in")),
      failures_(metrics.counter("tracker_search_ranking_upkeep_failures_total",
                                "Rounds of the search ranking's upkeep that failed (tried again later)")) {}

asio::awaitable<std::size_t> SearchRankingUpkeep::catch_up() {
  const std::size_t batch = std::max<std::size_t>(options_.batch, 1);
  std::size_t total = 0;
  for (;;) {
    std::size_t applied = co_await ranking_.apply_changes(batch);
    posts_applied_.inc(applied);
    total += applied;
    // A short batch: nothing more is waiting, or only posts being changed right now.
    if (applied < batch || stopped_) co_return total;
  }
}

asio::awaitable<void> SearchRankingUpkeep::run() {
  timer_ = std::make_unique<asio::steady_timer>(co_await asio::this_coro::executor);
  while (!stopped_) {
    std::exception_ptr failure;
    try {
      co_await catch_up();
    } catch (...) {
      failure = std::current_exception();
    }
    if (failure) {
      failures_.inc();
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& error) {
        spdlog::warn("search ranking: upkeep failed ({}); trying again in {} ms", error.what(),
                     options_.interval.count());
      }
    }
    if (stopped_) break;
    timer_->expires_after(options_.interval);
    boost::system::error_code ignored;
    co_await timer_->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
}

void SearchRankingUpkeep::stop() {
  stopped_ = true;
  if (timer_) timer_->cancel();
}

}  // namespace tracker::app
