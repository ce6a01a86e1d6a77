#pragma once
#include "ports/user_data.hpp"
#include "redis/commands.hpp"
#include "redis/script.hpp"
#include "redis/shards.hpp"

namespace tracker::redis {

// The user's data still in Redis, all in the user's shard: their events in stream entries not yet stored
// (lua/erase_user.lua, a bounded number of entries per call) and their recent keywords.
// Counters, rankings, unique-user sketches and the posts' standing likes are aggregates
// and stay; so do the client eventIds seen (et:dedup:*, docs/DESIGN.md says why).
class UnflushedUserData final : public ports::UnflushedUserData {
 public:
  UnflushedUserData(std::shared_ptr<Commands> connection, milliseconds timeout,
                    std::size_t entries_per_call = 64, Shards shards = Shards{});
  asio::awaitable<std::string> backlog_source() override;
  std::uint32_t shard_of(std::int64_t user_id) const override { return shards_.of_user(user_id); }
  asio::awaitable<ports::UnflushedErasure> erase_user(std::int64_t user_id,
                                                      ports::BacklogPosition stored_up_to) override;
  // The stream, backlog counter and consumer group it works on (tests use their own).
  void use_keys(std::string stream, std::string backlog, std::string group);

 private:
  std::shared_ptr<Commands> connection_;
  milliseconds timeout_;
  std::size_t entries_per_call_;
  Script script_;
  Shards shards_;
  std::string stream_, backlog_, group_;  // empty: the user's shard's
};

}  // namespace tracker::redis
