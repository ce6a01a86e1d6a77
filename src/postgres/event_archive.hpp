#pragma once
#include "metrics/metrics.hpp"
#include "ports/event_archive.hpp"
#include "postgres/connection.hpp"

namespace tracker::postgres {

// The flusher's PostgreSQL side, on one dedicated connection. Each new connection first
// takes a session advisory lock, so a single flusher writes at a time (the backlog mark
// relies on entries being stored in order); a second one waits, retrying.
class EventArchive final : public ports::EventArchive {
 public:
  EventArchive(asio::any_io_executor executor, ConnectionOptions options, metrics::Registry& metrics);
  asio::awaitable<ports::BacklogPosition> stored_up_to() override;
  asio::awaitable<void> store_events(const std::vector<ports::BacklogEntry>& entries) override;
  asio::awaitable<bool> apply_counters(const ports::CounterSnapshot& snapshot) override;
  asio::awaitable<std::int64_t> maintain_partitions(int days_ahead, int retention_days) override;

 private:
  asio::awaitable<Connection*> connection();
  asio::awaitable<void> rollback_quietly();
  asio::awaitable<void> store_one_by_one(const std::vector<ports::BacklogEntry>& entries);

  asio::any_io_executor executor_;
  ConnectionOptions options_;
  std::unique_ptr<Connection> connection_;
  bool locked_ = false;  // this connection holds the flusher lock
  metrics::Counter& rejected_rows_;
};

}  // namespace tracker::postgres
