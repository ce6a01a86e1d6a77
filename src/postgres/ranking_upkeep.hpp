#pragma once
#include "ports/ranking_upkeep.hpp"
#include "postgres/pool.hpp"

namespace tracker::postgres {

// apply_post_ranking() (sql/functions/apply_post_ranking.sql) through a pooled connection.
class RankingUpkeep final : public ports::RankingUpkeep {
 public:
  RankingUpkeep(Pool& pool, milliseconds timeout) : pool_(pool), timeout_(timeout) {}
  asio::awaitable<std::size_t> apply_changes(std::size_t limit) override;

 private:
  Pool& pool_;
  milliseconds timeout_;
};

}  // namespace tracker::postgres
