#pragma once
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tracker::ports {

// A change of one counter. For minute counters `bucket_ms` is the minute; for all-time
// totals it is absent. Absent post/keyword: for minute counters "the event had none",
// for totals "any"; a total's component_id 0 is "any component" too.
struct CounterDelta {
  std::optional<std::int64_t> bucket_ms;
  std::string event_type;
  std::int64_t component_id = 0;
  std::optional<std::int64_t> post_id;
  std::optional<std::string> keyword;
  std::int64_t delta = 0;
};

struct CounterSnapshot {
  std::string flush_id;  // unique; the ledger key that makes applying it twice harmless
  std::vector<CounterDelta> minute_deltas;
  std::vector<CounterDelta> total_deltas;
};

// Real-time counters that keep taking increments while frozen copies of them
// (snapshots) are moved elsewhere: snapshot-key separation.
class CounterSource {
 public:
  virtual ~CounterSource() = default;
  // Freezes the live counters under a new flush id; nullopt when there was nothing.
  virtual boost::asio::awaitable<std::optional<std::string>> take_snapshot() = 0;
  // Snapshots taken but not yet dropped (for instance left behind by a crash), oldest first.
  virtual boost::asio::awaitable<std::vector<std::string>> open_snapshots() = 0;
  virtual boost::asio::awaitable<CounterSnapshot> read_snapshot(const std::string& flush_id) = 0;
  virtual boost::asio::awaitable<void> drop_snapshot(const std::string& flush_id) = 0;
};

}  // namespace tracker::ports
