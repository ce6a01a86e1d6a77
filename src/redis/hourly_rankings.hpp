#pragma once
#include "ports/hourly_rankings.hpp"
#include "redis/commands.hpp"

namespace tracker::redis {

// The hourly rankings lua/ingest.lua keeps: each hour a sorted set of its 1,000 best
// members, and a change counter per hour in one hash (keys::kRankingVersions).
class HourlyRankings final : public ports::HourlyRankings {
 public:
  HourlyRankings(std::shared_ptr<Commands> connection, milliseconds timeout);

  asio::awaitable<std::vector<ports::RankingHourVersion>> versions() override;
  asio::awaitable<std::vector<std::vector<domain::Ranked>>> members(
      std::span<const ports::RankingHour> hours) override;
  asio::awaitable<void> forget(std::span<const ports::RankingHour> hours) override;

 private:
  std::shared_ptr<Commands> connection_;
  milliseconds timeout_;
};

}  // namespace tracker::redis
