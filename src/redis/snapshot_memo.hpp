#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tracker::redis {

// What one I/O thread has read from counter snapshots, per flush id and per request (the
// fields or the minute range asked). A snapshot never changes once the flusher has taken
// it (its keys are renamed away from the live ones and only dropped later), so an answer
// read from it stays right for as long as Redis lists it. The statistics reader names
// the snapshots it knows to the read script, which then skips them: every read otherwise
// looked up every lingering snapshot again, two Redis commands each.
class SnapshotMemo {
 public:
  using Values = std::vector<std::int64_t>;

  explicit SnapshotMemo(std::size_t max_entries = 100'000) : max_entries_(max_entries) {}

  // The snapshots known for `request`, with what was read from each.
  std::vector<std::pair<std::string, Values>> known(const std::string& request) const;
  void keep(const std::string& flush_id, const std::string& request, Values values);
  // Forgets the snapshots Redis no longer lists: dropped snapshots never come back (flush
  // ids are not reused).
  void retain_only(const std::vector<std::string>& listed);

  std::size_t snapshots() const { return by_snapshot_.size(); }
  std::size_t entries() const { return entries_; }

 private:
  std::size_t max_entries_;
  std::size_t entries_ = 0;
  std::unordered_map<std::string, std::unordered_map<std::string, Values>> by_snapshot_;
};

}  // namespace tracker::redis
