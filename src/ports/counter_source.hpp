#pragma once
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tracker::ports {

// A change of one counter: a query shape (component 0, absent post or keyword = any) in
// the minute starting at bucket_ms.
struct CounterDelta {
  std::int64_t bucket_ms = 0;
  std::string event_type;
  std::int64_t component_id = 0;
  std::optional<std::int64_t> post_id;
  std::optional<std::string> keyword;
  std::int64_t delta = 0;
};

// Per-minute changes of the statistics API's query shapes (the all-time totals are their
// sums, derived where they are stored).
struct CounterSnapshot {
  std::string flush_id;  // unique; the ledger key that makes applying it twice harmless
  std::vector<CounterDelta> deltas;
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
