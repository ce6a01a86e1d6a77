#include "app/batching_counter_archive.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace tracker::app {

namespace asio = boost::asio;

BatchingCounterArchive::Batch::Batch(const asio::any_io_executor& executor) : done(executor) {
  done.expires_at(std::chrono::steady_clock::time_point::max());
}

BatchingCounterArchive::BatchingCounterArchive(asio::any_io_executor executor, ports::CounterArchive& inner,
                                               metrics::Registry& metrics, ArchiveBatchOptions options,
                                               SteadyClock clock)
    : executor_(std::move(executor)),
      inner_(inner),
      options_(options),
      clock_(std::move(clock)),
      statements_(metrics.counter("tracker_statistics_total_batches_total",
                                  "Statements that read all-time totals for one or more requests")),
      reads_(metrics.counter("tracker_statistics_total_reads_total",
                             "Requests' reads of all-time totals (batched into fewer statements)")) {}

asio::awaitable<ports::ArchiveReading> BatchingCounterArchive::totals(std::span<const ports::CounterKey> keys) {
  reads_.inc();
  if (open_ && !open_->keys.empty() && open_->keys.size() + keys.size() > options_.max_keys) {
    closed_.push_back(std::move(open_));
  }
  if (!open_) open_ = std::make_shared<Batch>(executor_);
  std::shared_ptr<Batch> batch = open_;
  const std::size_t offset = batch->keys.size();
  batch->keys.insert(batch->keys.end(), keys.begin(), keys.end());
  schedule();
  boost::system::error_code cancelled;
  co_await batch->done.async_wait(asio::redirect_error(asio::use_awaitable, cancelled));
  if (batch->error) std::rethrow_exception(batch->error);
  ports::ArchiveReading reading;
  reading.snapshot = batch->reading->snapshot;
  reading.read_started = batch->reading->read_started;
  const auto& values = batch->reading->values;
  for (std::size_t i = offset; i < offset + keys.size(); ++i) reading.values.push_back(i < values.size() ? values[i] : 0);
  co_return reading;
}

// Starts batches from a posted handler, so that the requests handled in this turn of the
// event loop join the batch before it leaves.
void BatchingCounterArchive::schedule() {
  if (start_posted_ || in_flight_ >= options_.max_in_flight) return;  // a finishing batch starts the next
  start_posted_ = true;
  asio::post(executor_, [this] {
    start_posted_ = false;
    start_next();
  });
}

void BatchingCounterArchive::start_next() {
  while (in_flight_ < options_.max_in_flight) {
    std::shared_ptr<Batch> next;
    if (!closed_.empty()) {
      next = std::move(closed_.front());
      closed_.pop_front();
    } else if (open_) {
      next = std::move(open_);
    } else {
      return;
    }
    ++in_flight_;
    asio::co_spawn(executor_, send(std::move(next)), asio::detached);
  }
}

asio::awaitable<void> BatchingCounterArchive::send(std::shared_ptr<Batch> batch) {
  statements_.inc();
  auto started = clock_();
  try {
    ports::ArchiveReading reading = co_await inner_.totals(batch->keys);
    reading.read_started = started;
    batch->reading = std::move(reading);
  } catch (...) {
    batch->error = std::current_exception();
  }
  --in_flight_;
  batch->done.cancel();
  start_next();
}

asio::awaitable<ports::ArchiveReading> BatchingCounterArchive::buckets(const ports::CounterKey& key,
                                                                       std::int64_t from_ms, std::int64_t to_ms,
                                                                       std::int64_t width_ms) {
  co_return co_await inner_.buckets(key, from_ms, to_ms, width_ms);
}

asio::awaitable<std::vector<std::string>> BatchingCounterArchive::applied_in(const std::string& snapshot,
                                                                             std::span<const std::string> flush_ids) {
  co_return co_await inner_.applied_in(snapshot, flush_ids);
}

}  // namespace tracker::app
