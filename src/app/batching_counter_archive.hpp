#pragma once
#include "app/cached_counter_archive.hpp"
#include "metrics/metrics.hpp"
#include "ports/counter_reading.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <memory>

namespace tracker::app {

struct ArchiveBatchOptions {
  // Statements of batched totals running at once; more requests wait for the next batch.
  std::size_t max_in_flight = 2;
  std::size_t max_keys = 1000;  // keys per statement
};

// Reads the all-time totals that concurrent requests of one I/O thread ask for in one
// statement (the totals statement takes arrays of keys): a count read costs PostgreSQL
// mostly the statement, not the key. Requests that arrive during one turn of the event
// loop, or while max_in_flight statements are running, share the next statement; a lone
// request is sent at once. Buckets and ledger lookups pass through.
//
// Exact like any reading: every request gets the shared statement's values for its keys,
// with its snapshot, and read_started = when that statement was started, so the
// statistics service counts its read span from there (see cached_counter_archive.hpp).
//
// One per I/O thread (no locking); `executor` is that thread's.
class BatchingCounterArchive final : public ports::CounterArchive {
 public:
  BatchingCounterArchive(boost::asio::any_io_executor executor, ports::CounterArchive& inner,
                         metrics::Registry& metrics, ArchiveBatchOptions options = {},
                         SteadyClock clock = std::chrono::steady_clock::now);

  boost::asio::awaitable<ports::ArchiveReading> totals(std::span<const ports::CounterKey> keys) override;
  boost::asio::awaitable<ports::ArchiveReading> buckets(const ports::CounterKey& key, std::int64_t from_ms,
                                                        std::int64_t to_ms, std::int64_t width_ms) override;
  boost::asio::awaitable<std::vector<std::string>> applied_in(const std::string& snapshot,
                                                              std::span<const std::string> flush_ids) override;

 private:
  struct Batch {
    explicit Batch(const boost::asio::any_io_executor& executor);
    std::vector<ports::CounterKey> keys;
    boost::asio::steady_timer done;  // cancelled when the reading (or error) is in
    std::optional<ports::ArchiveReading> reading;
    std::exception_ptr error;
  };

  void schedule();
  void start_next();
  boost::asio::awaitable<void> send(std::shared_ptr<Batch> batch);

  boost::asio::any_io_executor executor_;
  ports::CounterArchive& inner_;
  ArchiveBatchOptions options_;
  SteadyClock clock_;
  std::shared_ptr<Batch> open_;                // taking keys
  std::deque<std::shared_ptr<Batch>> closed_;  // full, waiting to be sent
  std::size_t in_flight_ = 0;
  bool start_posted_ = false;
  metrics::Counter& statements_;
  metrics::Counter& reads_;
};

}  // namespace tracker::app
