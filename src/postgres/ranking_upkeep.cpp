#include "postgres/ranking_upkeep.hpp"

#include <string>

namespace tracker::postgres {

asio::awaitable<std::size_t> RankingUpkeep::apply_changes(std::size_t limit) {
  Lease db = co_await pool_.acquire(timeout_);
  const std::optional<std::string> params[] = {std::to_string(limit)};
  Result result = co_await db->execute_prepared("posts.apply_ranking", "select apply_post_ranking($1::int)",
                                                params, timeout_);
  co_return static_cast<std::size_t>(result.as_int64(0, 0));
}

}  // namespace tracker::postgres
