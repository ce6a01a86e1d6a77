#pragma once
#include "domain/ranking.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tracker::ports {

// One hour of one ranking: "LIKE", "PAGE_VIEW", "CLICK" (posts by event type) or
// "keywords" (searched keywords), for the UTC hour starting at hour_ms.
struct RankingHour {
  std::string ranking;
  std::int64_t hour_ms = 0;
  friend bool operator==(const RankingHour&, const RankingHour&) = default;
};

struct RankingHourVersion {
  RankingHour hour;
  std::int64_t version = 0;  // changes whenever the hour's members or scores change
};

// The hourly rankings that ingestion keeps (each hour's best members with their counts),
// read so that a reader can keep copies and fetch again only the hours that changed.
class HourlyRankings {
 public:
  virtual ~HourlyRankings() = default;
  // The version of every hour that ingestion has written to and that was not forgotten.
  virtual boost::asio::awaitable<std::vector<RankingHourVersion>> versions() = 0;
  // Every member of each hour with its score, in the order of `hours`.
  virtual boost::asio::awaitable<std::vector<std::vector<domain::Ranked>>> members(
      std::span<const RankingHour> hours) = 0;
  // Drops the versions of hours no window reaches any more (their rankings expire alone).
  virtual boost::asio::awaitable<void> forget(std::span<const RankingHour> hours) = 0;
};

}  // namespace tracker::ports
