#include "redis/snapshot_memo.hpp"

#include <algorithm>

namespace tracker::redis {

std::vector<std::pair<std::string, SnapshotMemo::Values>> SnapshotMemo::known(const std::string& request) const {
  std::vector<std::pair<std::string, Values>> out;
  for (const auto& [flush_id, answers] : by_snapshot_) {
    if (auto it = answers.find(request); it != answers.end()) out.emplace_back(flush_id, it->second);
  }
  return out;
}

void SnapshotMemo::keep(const std::string& flush_id, const std::string& request, Values values) {
  if (entries_ >= max_entries_) {
    // Only when many distinct requests meet many snapshots: start again rather than track use.
    by_snapshot_.clear();
    entries_ = 0;
  }
  auto [it, inserted] = by_snapshot_[flush_id].insert_or_assign(request, std::move(values));
  if (inserted) ++entries_;
}

void SnapshotMemo::retain_only(const std::vector<std::string>& listed) {
  for (auto it = by_snapshot_.begin(); it != by_snapshot_.end();) {
    if (std::find(listed.begin(), listed.end(), it->first) == listed.end()) {
      entries_ -= it->second.size();
      it = by_snapshot_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace tracker::redis
