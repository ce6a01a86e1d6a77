#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace tracker::domain {

struct Ranked {
  std::string member;
  std::int64_t score = 0;
  friend bool operator==(const Ranked&, const Ranked&) = default;
};

// Best first: higher score, then the smaller member, so that equal scores always come in
// the same order.
bool ranks_before(const Ranked& a, const Ranked& b);

// The sum of several rankings (hours of a window), kept up to date as rankings are added
// and taken away, so that the best members of that sum plus one more ranking that keeps
// changing (the current hour) are found without summing everything again.
class RankingSum {
 public:
  void add(std::span<const Ranked> ranking);
  void subtract(std::span<const Ranked> ranking);
  void clear();
  std::size_t size() const { return scores_.size(); }

  // The `limit` best members of this sum plus `extra`, positive scores only. A member
  // outside `extra` and outside this sum's best limit + extra.size() cannot be among them:
  // at least `limit` members outside `extra` rank before it with unchanged scores. So only
  // those candidates are scored.
  std::vector<Ranked> best_with(std::span<const Ranked> extra, std::size_t limit) const;

 private:
  void apply(std::span<const Ranked> ranking, std::int64_t sign);
  const std::vector<Ranked>& best(std::size_t count) const;

  std::unordered_map<std::string, std::int64_t> scores_;
  mutable std::vector<Ranked> best_;  // the best members of scores_, at least best_count_ of them
  mutable std::size_t best_count_ = 0;
  mutable bool best_stale_ = true;
};

}  // namespace tracker::domain
