#pragma once
#include "domain/ranking.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace tracker::ports {

using domain::Ranked;

// Approximate, Redis-only views that expire with their keys: unique users per day
// (HyperLogLog), the events of one minute, and the unpersisted backlog. Rankings are read
// through HourlyRankings (hourly_rankings.hpp).
class Trends {
 public:
  virtual ~Trends() = default;
  virtual boost::asio::awaitable<std::int64_t> unique_users(const std::string& event_type,
                                                            const std::string& day) = 0;
  virtual boost::asio::awaitable<std::vector<std::int64_t>> events_in_minute(
      const std::vector<std::string>& event_types, std::int64_t minute_start) = 0;
  virtual boost::asio::awaitable<std::int64_t> backlog() = 0;
};

}  // namespace tracker::ports
