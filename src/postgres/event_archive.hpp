#pragma once
#include "metrics/metrics.hpp"
#include "ports/event_archive.hpp"
#include "postgres/connection.hpp"

namespace tracker::postgres {

// The flusher's PostgreSQL side for one Redis shard, on one dedicated connection. Events
// are written under a session advisory lock per backlog source and shard, so a single
// flusher writes a shard's events at a time (its mark, one per source and shard, relies
// on entries being stored in order); a second one waits, and flushers of other shards
// run in parallel. Each
// batch's transaction also holds the erasure lock shared (postgres/erasure_lock.hpp).
class EventArchive final : public ports::EventArchive {
 public:
  EventArchive(asio::any_io_executor executor, ConnectionOptions options, metrics::Registry& metrics,
               std::uint32_t shard = 0);
  asio::awaitable<ports::BacklogPosition> stored_up_to(const std::string& source) override;
  asio::awaitable<void> begin_batch(const std::string& source) override;
  asio::awaitable<void> store_events(const std::string& source,
                                     const std::vector<ports::BacklogEntry>& entries) override;
  asio::awaitable<void> end_batch() override;
  asio::awaitable<bool> apply_counters(const ports::CounterSnapshot& snapshot) override;
  asio::awaitable<std::int64_t> maintain_partitions(int days_ahead, int retention_days) override;
  // Closes the connection: PostgreSQL frees its session lock with it.
  void release_writer() override { drop_connection(); }

 private:
  asio::awaitable<Connection*> connection();
  // The connection, holding the writer lock of `source` (a session advisory lock).
  asio::awaitable<Connection*> writer(const std::string& source);
  void drop_connection();  // after a failure: the transaction dies with it
  asio::awaitable<void> store_one_by_one(const std::string& source,
                                         const std::vector<ports::BacklogEntry>& entries);

  asio::any_io_executor executor_;
  ConnectionOptions options_;
  std::uint32_t shard_;
  std::string shard_text_;
  std::unique_ptr<Connection> connection_;
  std::string locked_source_;  // the source whose writer lock this connection holds
  bool batch_open_ = false;    // begin_batch() ran, and neither store_events() nor end_batch() since
  metrics::Counter& rejected_rows_;
};

}  // namespace tracker::postgres
