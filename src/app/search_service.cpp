#include "app/search_service.hpp"

#include "app/search_policy.hpp"
#include "app/server_events.hpp"
#include "ports/errors.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace tracker::app {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

namespace {
metrics::Counter& cache_counter(metrics::Registry& metrics, std::string_view result) {
  return metrics.counter("tracker_search_cache_total",
                         "Cached searches by outcome: hit, early_refresh (served, refreshed in the "
                         "background), stale (served expired while rebuilt), miss (built by this "
                         "request), waited (served after waiting for another request's build)",
                         "result=\"" + std::string(result) + "\"");
}
}  // namespace

SearchService::SearchService(ports::PostRepository& posts, ports::SearchCache& cache,
                             ports::RecentKeywords& recent, IngestService& ingest, metrics::Registry& metrics,
                             SearchOptions options, Random random)
    : posts_(posts),
      cache_(cache),
      recent_(recent),
      ingest_(ingest),
      options_(options),
      random_(std::move(random)),
      generator_(std::random_device{}()),
      db_queries_(metrics.counter("tracker_search_db_queries_total", "Hashtag searches sent to PostgreSQL")),
      hits_(cache_counter(metrics, "hit")),
      early_refreshes_(cache_counter(metrics, "early_refresh")),
      stale_served_(cache_counter(metrics, "stale")),
      misses_(cache_counter(metrics, "miss")),
      waited_(cache_counter(metrics, "waited")),
      wait_timeouts_(metrics.counter("tracker_search_wait_timeouts_total",
                                     "Searches answered 503 after waiting for another request's build")),
      rebuild_failures_(metrics.counter("tracker_search_rebuild_failures_total",
                                        "Cache rebuilds that failed (a stale copy is served if there is one)")) {}

double SearchService::random01() {
  if (random_) return random_();
  // (0, 1]: ln(0) would be -infinity.
  return 1.0 - std::uniform_real_distribution<double>(0.0, 1.0)(generator_);
}

asio::awaitable<domain::RenderedPosts> SearchService::search(const domain::SearchQuery& query) {
  domain::RenderedPosts posts;
  if (options_.ttl.count() <= 0) {
    posts = co_await query_database(query.keyword, query.limit);
  } else {
    // Two entries per keyword at most: up to 10 results (the default), or up to 50.
    std::size_t cached_limit = query.limit <= domain::kDefaultSearchLimit ? domain::kDefaultSearchLimit
                                                                          : domain::kMaxSearchLimit;
    posts = co_await cached(query.keyword, cached_limit);
    posts.truncate(query.limit);
  }
  domain::Event event = server_event(domain::EventType::Search, domain::kSearchComponentId, query.user_id,
                                     std::nullopt, query.keyword, ingest_.now_ms());
  co_await ingest_.record(std::move(event));
  co_return posts;
}

asio::awaitable<std::vector<std::string>> SearchService::recent_keywords(std::int64_t user_id) {
  co_return co_await recent_.recent_keywords(user_id);
}

asio::awaitable<domain::RenderedPosts> SearchService::query_database(const std::string& keyword,
                                                                    std::size_t limit) {
  db_queries_.inc();
  std::vector<domain::Post> posts = co_await posts_.search_by_hashtag(keyword, limit);
  co_return domain::render_posts(posts);
}

asio::awaitable<domain::RenderedPosts> SearchService::cached(const std::string& keyword, std::size_t limit) {
  std::optional<ports::CachedSearch> entry = co_await cache_.get(keyword, limit);
  if (entry) {
    std::int64_t now = ingest_.now_ms();
    bool fresh = now < entry->fresh_until_ms;
    if (fresh && !search_policy::refresh_early(now, entry->fresh_until_ms, entry->rebuild_ms, options_.beta,
                                               random01())) {
      hits_.inc();
      co_return std::move(entry->posts);
    }
    std::optional<std::string> token = co_await cache_.try_lock(keyword, limit, options_.lock_hold);
    if (fresh) {
      // Early refresh: the entry is still good, so nobody waits for the new one.
      if (token) {
        auto executor = co_await asio::this_coro::executor;
        asio::co_spawn(executor, rebuild_in_background(keyword, limit, *token), asio::detached);
      }
      early_refreshes_.inc();
      co_return std::move(entry->posts);
    }
    if (token) {
      std::optional<ports::CachedSearch> current = co_await built_meanwhile(keyword, limit, *token);
      if (current) {
        hits_.inc();
        co_return std::move(current->posts);
      }
      try {
        domain::RenderedPosts posts = co_await rebuild(keyword, limit, *token);
        misses_.inc();
        co_return posts;
      } catch (const ports::StoreError& error) {
        // PostgreSQL could not answer: the expired copy is better than nothing.
        spdlog::warn("search: rebuilding '{}' failed, serving the expired copy: {}", keyword, error.what());
      }
    }
    stale_served_.inc();
    co_return std::move(entry->posts);
  }

  // Missing: one request builds it, the others wait for it.
  auto deadline = SteadyClock::now() + options_.max_wait;
  milliseconds pause = options_.poll_min;
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  for (;;) {
    std::optional<std::string> token = co_await cache_.try_lock(keyword, limit, options_.lock_hold);
    if (token) {
      std::optional<ports::CachedSearch> current = co_await built_meanwhile(keyword, limit, *token);
      if (current) {
        waited_.inc();
        co_return std::move(current->posts);
      }
      domain::RenderedPosts posts = co_await rebuild(keyword, limit, *token);
      misses_.inc();
      co_return posts;
    }
    if (SteadyClock::now() + pause > deadline) break;
    timer.expires_after(pause);
    co_await timer.async_wait(asio::use_awaitable);
    pause = std::min(options_.poll_max, pause * 3 / 2 + milliseconds{1});
    std::optional<ports::CachedSearch> built = co_await cache_.get(keyword, limit);
    if (built) {
      waited_.inc();
      co_return std::move(built->posts);
    }
  }
  wait_timeouts_.inc();
  throw ports::StoreTimeout("the search result for '" + keyword + "' is still being built; retry");
}

// Having just taken the lock: another request may have stored a fresh entry between this
// one's look and the lock (it released the lock when it stored). Then that entry is the
// answer and the lock goes back.
asio::awaitable<std::optional<ports::CachedSearch>> SearchService::built_meanwhile(const std::string& keyword,
                                                                                   std::size_t limit,
                                                                                   const std::string& token) {
  std::optional<ports::CachedSearch> current = co_await cache_.get(keyword, limit);
  if (!current || current->fresh_until_ms <= ingest_.now_ms()) co_return std::nullopt;
  co_await cache_.unlock(keyword, limit, token);
  co_return current;
}

asio::awaitable<domain::RenderedPosts> SearchService::rebuild(const std::string& keyword, std::size_t limit,
                                                              const std::string& token) {
  auto started = SteadyClock::now();
  domain::RenderedPosts posts;
  std::exception_ptr failure;
  try {
    posts = co_await query_database(keyword, limit);
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure) {
    rebuild_failures_.inc();
    try {
      co_await cache_.unlock(keyword, limit, token);
    } catch (const ports::StoreError&) {
      // The lock expires on its own.
    }
    std::rethrow_exception(failure);
  }
  auto took = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - started);
  double u = 2.0 * random01() - 1.0;
  milliseconds ttl = search_policy::jittered_ttl(posts.empty() ? options_.empty_ttl : options_.ttl,
                                                 options_.ttl_jitter, u);
  ports::CachedSearch entry{std::move(posts), ingest_.now_ms() + ttl.count(), std::max<std::int64_t>(took.count(), 1)};
  try {
    co_await cache_.store(keyword, limit, entry, ttl + options_.stale_for, token);
  } catch (const ports::StoreError& error) {
    // The answer is still good; the next request builds the entry again.
    spdlog::warn("search: caching the result for '{}' failed: {}", keyword, error.what());
  }
  co_return std::move(entry.posts);
}

asio::awaitable<void> SearchService::rebuild_in_background(std::string keyword, std::size_t limit,
                                                           std::string token) {
  try {
    co_await rebuild(keyword, limit, token);
  } catch (const std::exception& error) {
    spdlog::warn("search: early refresh of '{}' failed (the current copy stays): {}", keyword, error.what());
  }
}

}  // namespace tracker::app
