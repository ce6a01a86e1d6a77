#pragma once
#include "domain/post.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tracker::ports {

// One cached search result, as the answer shows its posts. It is fresh until
// `fresh_until_ms`; afterwards it is a stale copy, still served while one request
// rebuilds it, until the store forgets it.
struct CachedSearch {
  domain::RenderedPosts posts;
  std::int64_t fresh_until_ms = 0;  // Unix ms
  std::int64_t rebuild_ms = 0;      // how long computing it took (for early refresh)
};

// Search results shared by all server instances (Redis), per (keyword, limit), with a
// per-entry rebuild lock so that only one request computes a missing or expired entry.
// Failures are ports::StoreError subclasses.
class SearchCache {
 public:
  virtual ~SearchCache() = default;
  virtual boost::asio::awaitable<std::optional<CachedSearch>> get(const std::string& keyword,
                                                                  std::size_t limit) = 0;
  // Takes the entry's rebuild lock for `hold` unless someone holds it; returns the token
  // that releases it, or nullopt.
  virtual boost::asio::awaitable<std::optional<std::string>> try_lock(const std::string& keyword,
                                                                      std::size_t limit,
                                                                      std::chrono::milliseconds hold) = 0;
  // Stores the entry, kept for `keep` (freshness plus the time a stale copy may be
  // served), and releases the lock if `token` still holds it: one atomic step.
  virtual boost::asio::awaitable<void> store(const std::string& keyword, std::size_t limit,
                                             const CachedSearch& entry, std::chrono::milliseconds keep,
                                             const std::string& token) = 0;
  // Releases the lock if `token` still holds it (a rebuild that failed).
  virtual boost::asio::awaitable<void> unlock(const std::string& keyword, std::size_t limit,
                                              const std::string& token) = 0;
};

// The keywords a user searched for lately, newest first, without repeats, at most 10.
// Written by the ingestion of SEARCH events; they expire after a while without a search.
class RecentKeywords {
 public:
  virtual ~RecentKeywords() = default;
  virtual boost::asio::awaitable<std::vector<std::string>> recent_keywords(std::int64_t user_id) = 0;
};

}  // namespace tracker::ports
