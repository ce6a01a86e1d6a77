#pragma once
#include "ports/counter_source.hpp"
#include "ports/event_backlog.hpp"

#include <boost/asio/awaitable.hpp>

namespace tracker::ports {

// The permanent home of events and counts (PostgreSQL).
class EventArchive {
 public:
  virtual ~EventArchive() = default;
  // The newest position of the backlog `source` already stored; entries at or before it
  // are stored. Only one writer per source at a time: another gets ports::Overloaded.
  virtual boost::asio::awaitable<BacklogPosition> stored_up_to(const std::string& source) = 0;
  // Opens the transaction a batch is stored in, before the batch is read from the backlog:
  // erasing a user's data (ports/user_data.hpp) waits for it and keeps new ones from
  // opening, so a batch read before an erasure never writes the erased events afterwards.
  // Only one writer per source at a time: another gets ports::Overloaded.
  virtual boost::asio::awaitable<void> begin_batch(const std::string& source) = 0;
  // Stores the entries (in backlog order, all after stored_up_to()) and moves the mark
  // to the last of them, atomically; commits the batch (opening one first if none is open).
  virtual boost::asio::awaitable<void> store_events(const std::string& source,
                                                    const std::vector<BacklogEntry>& entries) = 0;
  // Ends an open batch without storing anything (nothing to store, or reading failed).
  virtual boost::asio::awaitable<void> end_batch() = 0;
  // Adds the snapshot to the stored counts (per minute and all-time) and records its
  // flush id, atomically. Returns
  // false, changing nothing, when that flush id was applied before.
  virtual boost::asio::awaitable<bool> apply_counters(const CounterSnapshot& snapshot) = 0;
  // Lets go of the writer lock (if held), so that another writer may take the source.
  virtual void release_writer() {}
  // Partition upkeep: daily partitions from yesterday to `days_ahead` days ahead; drops
  // those older than `retention_days` (0 = keep all). Returns rows in the default partition.
  virtual boost::asio::awaitable<std::int64_t> maintain_partitions(int days_ahead, int retention_days) = 0;
};

}  // namespace tracker::ports
