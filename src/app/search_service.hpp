#pragma once
#include "app/ingest_service.hpp"
#include "domain/post.hpp"
#include "metrics/metrics.hpp"
#include "ports/post_repository.hpp"
#include "ports/search_cache.hpp"

#include <chrono>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace tracker::app {

struct SearchOptions {
  std::chrono::milliseconds ttl{30'000};       // fresh for ttl +- jitter; 0 = no caching
  double ttl_jitter = 0.2;
  std::chrono::milliseconds empty_ttl{5'000};  // for results without posts (+- jitter)
  // How long after expiry a copy is still served to the requests that arrive while one
  // of them rebuilds it (or while PostgreSQL cannot answer).
  std::chrono::milliseconds stale_for{60'000};
  std::chrono::milliseconds lock_hold{5'000};  // a rebuild's lock expires after this
  // Requests finding no entry while another one rebuilds it poll for it, starting at
  // poll_min and backing off to poll_max, for at most max_wait (then 503).
  std::chrono::milliseconds poll_min{2};
  std::chrono::milliseconds poll_max{25};
  std::chrono::milliseconds max_wait{2'000};
  double beta = 1.0;  // early refresh eagerness (1 = the paper's default)
};

// Hashtag search behind a shared cache with stampede protection, and recent keywords.
//
// A cached result (per keyword and limit class: up to 10, or up to 50) is fresh for a
// jittered TTL; empty results for a shorter one. While fresh, each request may decide to
// refresh it early (XFetch, search_policy.hpp); the one that does and gets the entry's
// lock rebuilds it in the background. An expired entry is rebuilt by the request that
// gets the lock, while the others are served the stale copy. A missing entry is built
// by the request that gets the lock while the others poll for it briefly. So one
// keyword costs one database query per expiry however many requests ask for it.
//
// One instance per I/O thread (it owns that thread's random generator).
class SearchService {
 public:
  using Random = std::function<double()>;  // uniform in (0, 1]

  SearchService(ports::PostRepository& posts, ports::SearchCache& cache, ports::RecentKeywords& recent,
                IngestService& ingest, metrics::Registry& metrics, SearchOptions options = {},
                Random random = nullptr);

  // The posts (rendered, as answers show them), then a SEARCH event (component 1001)
  // through the ingestion path, which also updates the user's recent keywords. Store
  // failures propagate as StoreError.
  boost::asio::awaitable<domain::RenderedPosts> search(const domain::SearchQuery& query);
  boost::asio::awaitable<std::vector<std::string>> recent_keywords(std::int64_t user_id);

 private:
  boost::asio::awaitable<domain::RenderedPosts> cached(const std::string& keyword, std::size_t limit);
  boost::asio::awaitable<std::optional<ports::CachedSearch>> built_meanwhile(const std::string& keyword,
                                                                             std::size_t limit,
                                                                             const std::string& token);
  boost::asio::awaitable<domain::RenderedPosts> rebuild(const std::string& keyword, std::size_t limit,
                                                        const std::string& token);
  boost::asio::awaitable<void> rebuild_in_background(std::string keyword, std::size_t limit, std::string token);
  boost::asio::awaitable<domain::RenderedPosts> query_database(const std::string& keyword, std::size_t limit);
  double random01();

  ports::PostRepository& posts_;
  ports::SearchCache& cache_;
  ports::RecentKeywords& recent_;
  IngestService& ingest_;
  SearchOptions options_;
  Random random_;
  std::mt19937_64 generator_;
  metrics::Counter& db_queries_;
  metrics::Counter& hits_;
  metrics::Counter& early_refreshes_;
  metrics::Counter& stale_served_;
  metrics::Counter& misses_;
  metrics::Counter& waited_;
  metrics::Counter& wait_timeouts_;
  metrics::Counter& rebuild_failures_;
};

}  // namespace tracker::app
