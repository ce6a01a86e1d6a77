#pragma once
#include "metrics/metrics.hpp"
#include "ports/counter_source.hpp"
#include "ports/event_archive.hpp"
#include "ports/event_backlog.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <deque>

namespace tracker::flush {

using std::chrono::milliseconds;

struct FlusherOptions {
  std::size_t batch_size = 20'000;
  milliseconds idle_pause{200};       // when the backlog is empty
  milliseconds counter_interval{1000};
  // How long an applied snapshot stays readable in Redis: a statistics read that looked at
  // PostgreSQL just before the snapshot was applied still finds it (see app/statistics).
  milliseconds snapshot_linger{3000};
  milliseconds retry_min{100};        // back-off while a store is failing
  milliseconds retry_max{5'000};
  milliseconds partition_interval{std::chrono::hours(1)};
  int partition_days_ahead = 7;
  int retention_days = 0;
  // Of the flushers of one process (one per Redis shard), one keeps the partitions.
  bool maintain_partitions = true;
  // The backlog gauges' labels: shard="<n>" when several shards are flushed, else none.
  std::string backlog_labels;
  // A shard this server stands by for (another server's, see --flusher-shards): held at
  // most standby_hold at a time, then let go for standby_pause (longer than retry_max, a
  // waiting flusher's longest back-off), so that its own server, if alive, takes it back.
  // 0: a shard of this server's, held for good.
  milliseconds standby_hold{0};
  milliseconds standby_pause{10'000};
};

struct FlushReport {
  std::size_t events_stored = 0;   // inserted now
  std::size_t events_skipped = 0;  // already stored by an earlier, interrupted flush
  std::size_t snapshots_applied = 0;
  std::size_t snapshots_replayed = 0;  // found in the ledger: dropped, not applied again
};

// Moves one Redis shard's accepted events and counters to PostgreSQL, exactly once:
//  - events: read a batch from the backlog, store what is newer than the archive's mark
//    (mark and rows move in one transaction), then acknowledge the whole batch;
//  - counters: freeze the live counters into a snapshot, apply it with its flush id in
//    the ledger (one transaction), then drop it once it has lingered a while. Snapshots
//    left by a crash are finished first, and no new one is taken while an older one is
//    still unapplied.
class Flusher {
 public:
  Flusher(boost::asio::any_io_executor executor, ports::EventBacklog& backlog,
          ports::CounterSource& counters, ports::EventArchive& archive, FlusherOptions options,
          metrics::Registry& metrics);

  // Runs until stop(); store failures are retried with back-off, never fatal.
  boost::asio::awaitable<void> run();
  void stop();

  // One step of each kind; throws ports::StoreError. For tests and the run loop.
  boost::asio::awaitable<FlushReport> flush_events();
  boost::asio::awaitable<FlushReport> flush_counters();

 private:
  boost::asio::awaitable<void> pause(milliseconds duration);
  // Sets the backlog's gauges (size, age of its oldest event); returns the size.
  boost::asio::awaitable<std::size_t> observe_backlog();

  boost::asio::steady_timer timer_;
  ports::EventBacklog& backlog_;
  ports::CounterSource& counters_;
  ports::EventArchive& archive_;
  FlusherOptions options_;
  bool stopping_ = false;
  std::optional<std::chrono::steady_clock::time_point> holding_since_;  // the writer lock
  struct Applied {
    std::string flush_id;
    std::chrono::steady_clock::time_point drop_after;
  };
  std::deque<Applied> lingering_;  // applied (or found in the ledger), dropped later
  std::string source_;  // the backlog's name, asked once
  std::optional<ports::BacklogPosition> stored_up_to_;  // cached; reloaded after a failure
  metrics::Counter& events_stored_;
  metrics::Counter& events_skipped_;
  metrics::Counter& snapshots_applied_;
  metrics::Counter& failures_;
  metrics::Gauge& backlog_size_;
  metrics::Gauge& flush_lag_;
  metrics::Gauge& default_partition_rows_;
};

}  // namespace tracker::flush
