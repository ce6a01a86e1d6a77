#pragma once
#include <boost/asio/awaitable.hpp>

#include <cstddef>

namespace tracker::ports {

// The search ranking takes in changes of posts in batches, a moment after they happen
// (sql/008_ranking_upkeep.sql, sql/functions/apply_post_ranking.sql). Failures are ports::StoreError subclasses.
class RankingUpkeep {
 public:
  virtual ~RankingUpkeep() = default;
  // Brings the ranking up to date for at most `limit` changed posts; returns how many.
  // Posts that are being changed at this moment are left for a later call.
  virtual boost::asio::awaitable<std::size_t> apply_changes(std::size_t limit) = 0;
};

}  // namespace tracker::ports
