#pragma once
#include "ports/event_backlog.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace tracker::ports {

// What erasing one user's data removed.
struct UserErasure {
  std::int64_t user_id = 0;
  std::int64_t stored_events = 0;     // rows of the archive's events
  std::int64_t unflushed_events = 0;  // events in the backlog, not yet archived
  std::int64_t rejected_events = 0;   // events the archive refused and kept aside
  std::int64_t recent_keywords = 0;
  std::int64_t likes = 0;             // the user's likes of posts (the posts' counts stay)
};

// What the backlog side removed.
struct UnflushedErasure {
  std::int64_t events = 0;
  std::int64_t recent_keywords = 0;
};

// The user's data that has not reached the archive yet (Redis).
class UnflushedUserData {
 public:
  virtual ~UnflushedUserData() = default;
  // The backlog's name, as EventBacklog::source() gives it: the archive keeps its mark per source.
  virtual boost::asio::awaitable<std::string> backlog_source() = 0;
  // The Redis shard that holds the user's unflushed events (the archive keeps a mark per
  // source and shard).
  virtual std::uint32_t shard_of(std::int64_t user_id) const = 0;
  // Removes the user's events from the backlog entries after `stored_up_to` (those at or
  // before it are in the archive already, whether acknowledged or not) and their recent
  // keywords.
  virtual boost::asio::awaitable<UnflushedErasure> erase_user(std::int64_t user_id,
                                                              BacklogPosition stored_up_to) = 0;
};

// One erasure in the archive: a transaction that keeps flush batches out while it runs.
// Destroyed before commit(): rolled back, nothing changed.
class ArchiveErasure {
 public:
  virtual ~ArchiveErasure() = default;
  // The archive's mark of the backlog source: no flush moves it while the erasure is open.
  virtual BacklogPosition stored_up_to() const = 0;
  // Deletes the user's stored and rejected events and their likes; fills in those counts.
  virtual boost::asio::awaitable<void> erase_stored(UserErasure& erasure) = 0;
  // Records the erasure with its counts and commits.
  virtual boost::asio::awaitable<void> commit(const UserErasure& erasure) = 0;
};

// The archive (PostgreSQL) side of erasing a user's data.
class UserDataArchive {
 public:
  virtual ~UserDataArchive() = default;
  // Waits until no flush batch is between reading the backlog and committing its rows,
  // and keeps new batches from starting until the erasure ends (see EventArchive::begin_batch).
  // Its stored_up_to() is the mark of `shard`.
  virtual boost::asio::awaitable<std::unique_ptr<ArchiveErasure>> begin_erasure(
      const std::string& backlog_source, std::uint32_t shard) = 0;
};

}  // namespace tracker::ports
