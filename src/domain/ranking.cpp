#include "domain/ranking.hpp"

#include <algorithm>

namespace tracker::domain {

bool ranks_before(const Ranked& a, const Ranked& b) {
  return a.score != b.score ? a.score > b.score : a.member < b.member;
}

void RankingSum::apply(std::span<const Ranked> ranking, std::int64_t sign) {
  for (const Ranked& entry : ranking) {
    auto [at, inserted] = scores_.try_emplace(entry.member, 0);
    at->second += sign * entry.score;
    // Members that cancel out are forgotten, so the map holds only what counts.
    if (at->second == 0) scores_.erase(at);
  }
  if (!ranking.empty()) best_stale_ = true;
}

void RankingSum::add(std::span<const Ranked> ranking) { apply(ranking, 1); }
void RankingSum::subtract(std::span<const Ranked> ranking) { apply(ranking, -1); }

void RankingSum::clear() {
  scores_.clear();
  best_.clear();
  best_stale_ = true;
}

const std::vector<Ranked>& RankingSum::best(std::size_t count) const {
  if (!best_stale_ && count <= best_count_) return best_;
  std::vector<Ranked> all;
  all.reserve(scores_.size());
  for (const auto& [member, score] : scores_) all.push_back({member, score});
  std::size_t keep = std::min(count, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(keep), all.end(), ranks_before);
  all.resize(keep);
  best_ = std::move(all);
  best_count_ = count;
  best_stale_ = false;
  return best_;
}

std::vector<Ranked> RankingSum::best_with(std::span<const Ranked> extra, std::size_t limit) const {
  std::unordered_map<std::string_view, std::int64_t> candidates;
  candidates.reserve(limit + 2 * extra.size());
  for (const Ranked& entry : best(limit + extra.size())) candidates.emplace(entry.member, entry.score);
  for (const Ranked& entry : extra) {
    auto [at, inserted] = candidates.try_emplace(entry.member, 0);
    if (inserted) {
      auto known = scores_.find(entry.member);
      if (known != scores_.end()) at->second = known->second;
    }
    at->second += entry.score;
  }
  std::vector<Ranked> ranked;
  ranked.reserve(candidates.size());
  for (const auto& [member, score] : candidates) {
    if (score > 0) ranked.push_back({std::string(member), score});
  }
  std::size_t keep = std::min(limit, ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(keep), ranked.end(), ranks_before);
  ranked.resize(keep);
  return ranked;
}

}  // namespace tracker::domain
