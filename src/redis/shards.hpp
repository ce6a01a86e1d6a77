#pragma once
#include "domain/event.hpp"
#include "redis/keys.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tracker::redis {

// The N logical shards the Redis data is spread over, and the one place that decides an
// event's shard. The hashes are fixed (never std::hash): every server, of every build,
// must pick the same shard for the same user.
class Shards {
 public:
  explicit Shards(std::uint32_t count = 1) : count_(count == 0 ? 1 : count) {
    tags_.reserve(count_);
    for (std::uint32_t shard = 0; shard < count_; ++shard) tags_.push_back(keys::shard_tag(shard));
  }

  std::uint32_t count() const { return count_; }
  const std::string& tag(std::uint32_t shard) const { return tags_.at(shard); }
  const std::vector<std::string>& tags() const { return tags_; }

  // A user's shard: their recent keywords, their likes' effects and the client eventIds
  // of their events live there.
  std::uint32_t of_user(std::int64_t user_id) const {
    return static_cast<std::uint32_t>(mix(static_cast<std::uint64_t>(user_id)) % count_);
  }
  // An event goes to its user's shard. An anonymous one (never a LIKE or UNLIKE) goes by
  // its client eventId, so that a retry meets its first copy's dedup key, or else by its
  // session, which spreads them.
  std::uint32_t of_event(const domain::Event& event) const {
    if (event.user_id) return of_user(*event.user_id);
    if (event.client_event_id) return of_text(*event.client_event_id);
    return of_text(event.session_id.empty() ? event.id : event.session_id);
  }
  std::uint32_t of_text(std::string_view text) const {
    std::uint64_t hash = 14695981039346656037ull;  // FNV-1a
    for (unsigned char c : text) hash = (hash ^ c) * 1099511628211ull;
    return static_cast<std::uint32_t>(mix(hash) % count_);
  }

 private:
  // splitmix64's finalizer: consecutive user ids land on unrelated shards.
  static std::uint64_t mix(std::uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
  }

  std::uint32_t count_;
  std::vector<std::string> tags_;
};

}  // namespace tracker::redis
