#pragma once
#include "ports/hourly_rankings.hpp"
#include "redis/commands.hpp"
#include "redis/shards.hpp"

namespace tracker::redis {

// The hourly rankings lua/ingest.lua keeps, per shard: each hour a sorted set of its
// 1,000 best members, and a change counter per hour in one hash (keys::ranking_versions).
// An hour's ranking is the sum of the shards' (a member's score adds up over them; a
// member that is in no shard's best 1,000 is missing, as it was before shards); its
// version is the sum of theirs, which changes whenever one of them does.
class HourlyRankings final : public ports::HourlyRankings {
 public:
  HourlyRankings(std::shared_ptr<Commands> connection, milliseconds timeout, Shards shards = Shards{});

  asio::awaitable<std::vector<ports::RankingHourVersion>> versions() override;
  asio::awaitable<std::vector<std::vector<domain::Ranked>>> members(
      std::span<const ports::RankingHour> hours) override;
  asio::awaitable<void> forget(std::span<const ports::RankingHour> hours) override;

 private:
  std::shared_ptr<Commands> connection_;
  milliseconds timeout_;
  Shards shards_;
};

}  // namespace tracker::redis
