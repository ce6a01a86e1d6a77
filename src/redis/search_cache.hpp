#pragma once
#include "ports/search_cache.hpp"
#include "redis/commands.hpp"
#include "redis/script.hpp"
#include "redis/shards.hpp"

#include <random>

namespace tracker::redis {

// Search results as strings under et:search:<limit>:<keyword> (JSON, see the .cpp), each
// with its own expiry; rebuild locks under et:search-lock:<limit>:<keyword> (SET NX PX,
// released by compare-and-delete). Recent keywords are the lists et:recent:<user id>
// that lua/ingest.lua keeps. One per I/O thread.
class SearchCache final : public ports::SearchCache, public ports::RecentKeywords {
 public:
  explicit SearchCache(std::shared_ptr<Commands> connection, milliseconds timeout = milliseconds{1000},
                       Shards shards = Shards{});

  asio::awaitable<std::optional<ports::CachedSearch>> get(const std::string& keyword, std::size_t limit) override;
  asio::awaitable<std::optional<std::string>> try_lock(const std::string& keyword, std::size_t limit,
                                                       milliseconds hold) override;
  asio::awaitable<void> store(const std::string& keyword, std::size_t limit, const ports::CachedSearch& entry,
                              milliseconds keep, const std::string& token) override;
  asio::awaitable<void> unlock(const std::string& keyword, std::size_t limit, const std::string& token) override;

  asio::awaitable<std::vector<std::string>> recent_keywords(std::int64_t user_id) override;

 private:
  std::shared_ptr<Commands> connection_;
  milliseconds timeout_;
  Shards shards_;  // a user's recent keywords are in the user's shard
  Script store_script_;
  Script release_script_;
  std::mt19937_64 random_{std::random_device{}()};
};

// The stored form of a cached search, and back (nullopt for anything unreadable, which is
// then treated as missing).
std::string encode_cached_search(const ports::CachedSearch& entry);
std::optional<ports::CachedSearch> decode_cached_search(std::string text);

}  // namespace tracker::redis
