#include "flush/flusher.hpp"

#include "ports/errors.hpp"

#include <algorithm>
#include <exception>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace tracker::flush {

namespace asio = boost::asio;

namespace {
std::int64_t lag_seconds(const std::optional<ports::BacklogPosition>& oldest) {
  if (!oldest) return 0;
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  return std::max<std::int64_t>(0, (now_ms - static_cast<std::int64_t>(oldest->ms)) / 1000);
}
}  // namespace

Flusher::Flusher(asio::any_io_executor executor, ports::EventBacklog& backlog,
                 ports::CounterSource& counters, ports::EventArchive& archive,
                 FlusherOptions options, metrics::Registry& metrics)
    : timer_(executor),
      backlog_(backlog),
      counters_(counters),
      archive_(archive),
      options_(options),
      events_stored_(metrics.counter("tracker_flush_events_stored_total",
                                     "Events written to PostgreSQL")),
      events_skipped_(metrics.counter("tracker_flush_events_replayed_total",
                                      "Backlog entries found already stored (replay after a crash)")),
      snapshots_applied_(metrics.counter("tracker_flush_snapshots_applied_total",
                                         "Counter snapshots applied to PostgreSQL")),
      failures_(metrics.counter("tracker_flush_failures_total", "Flush steps that failed and will be retried")),
      backlog_size_(metrics.gauge("tracker_backlog_events", "Accepted events not yet in PostgreSQL",
                                  options.backlog_labels)),
      flush_lag_(metrics.gauge("tracker_flush_lag_seconds",
                               "Age of the oldest accepted event not yet in PostgreSQL (whole seconds; 0 when none waits)",
                               options.backlog_labels)),
      default_partition_rows_(metrics.gauge("tracker_events_default_partition_rows",
                                            "Rows in the default events partition (should be 0)")) {}

void Flusher::stop() {
  stopping_ = true;
  timer_.cancel();
}

asio::awaitable<void> Flusher::pause(milliseconds duration) {
  timer_.expires_after(duration);
  boost::system::error_code ignored;
  co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

asio::awaitable<FlushReport> Flusher::flush_events() {
  FlushReport report;
  auto started = std::chrono::steady_clock::now();
  if (source_.empty()) source_ = co_await backlog_.source();
  // The batch is read inside the archive's transaction: an erasure of a user's data waits
  // until it is committed, and one under way keeps it from starting (ports/user_data.hpp).
  co_await archive_.begin_batch(source_);
  std::vector<ports::BacklogEntry> entries;
  std::exception_ptr failure;
  try {
    entries = co_await backlog_.next_batch(options_.batch_size);
    if (!entries.empty() && !stored_up_to_) stored_up_to_ = co_await archive_.stored_up_to(source_);
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure || entries.empty()) {
    co_await archive_.end_batch();
    if (failure) std::rethrow_exception(failure);
    co_return report;
  }
  auto read = std::chrono::steady_clock::now();
  // Entries at or before the mark were stored by a flush that died before acknowledging.
  auto is_fresh = [&](const ports::BacklogEntry& entry) { return entry.position > *stored_up_to_; };
  std::vector<ports::BacklogEntry> fresh;
  const std::vector<ports::BacklogEntry>* to_store = &entries;
  if (!std::all_of(entries.begin(), entries.end(), is_fresh)) {
    std::copy_if(entries.begin(), entries.end(), std::back_inserter(fresh), is_fresh);
    to_store = &fresh;
  }
  for (const auto& entry : entries) {
    (is_fresh(entry) ? report.events_stored : report.events_skipped) += entry.records.size();
  }
  if (!to_store->empty()) {
    try {
      co_await archive_.store_events(source_, *to_store);
    } catch (...) {
      stored_up_to_.reset();  // the transaction may or may not have committed
      throw;
    }
    stored_up_to_ = to_store->back().position;
  } else {
    co_await archive_.end_batch();
  }
  auto stored = std::chrono::steady_clock::now();
  co_await backlog_.acknowledge(entries);
  auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  spdlog::debug("flusher: {} events: read {:.1f} ms, stored {:.1f} ms, acknowledged {:.1f} ms",
                report.events_stored + report.events_skipped, ms(started, read), ms(read, stored),
                ms(stored, std::chrono::steady_clock::now()));
  events_stored_.inc(report.events_stored);
  events_skipped_.inc(report.events_skipped);
  co_return report;
}

asio::awaitable<FlushReport> Flusher::flush_counters() {
  FlushReport report;
  auto now = std::chrono::steady_clock::now();
  while (!lingering_.empty() && lingering_.front().drop_after <= now) {
    co_await counters_.drop_snapshot(lingering_.front().flush_id);
    lingering_.pop_front();
  }
  auto apply = [&](const std::string& flush_id) -> asio::awaitable<void> {
    auto snapshot = co_await counters_.read_snapshot(flush_id);
    if (co_await archive_.apply_counters(snapshot)) ++report.snapshots_applied;
    else ++report.snapshots_replayed;
    lingering_.push_back({flush_id, std::chrono::steady_clock::now() + options_.snapshot_linger});
  };
  for (const auto& flush_id : co_await counters_.open_snapshots()) {
    bool applied = std::any_of(lingering_.begin(), lingering_.end(),
                               [&](const Applied& a) { return a.flush_id == flush_id; });
    if (!applied) co_await apply(flush_id);
  }
  if (auto flush_id = co_await counters_.take_snapshot()) co_await apply(*flush_id);
  snapshots_applied_.inc(report.snapshots_applied);
  co_return report;
}

asio::awaitable<std::size_t> Flusher::observe_backlog() {
  std::size_t waiting = co_await backlog_.size();
  backlog_size_.set(static_cast<std::int64_t>(waiting));
  flush_lag_.set(lag_seconds(co_await backlog_.oldest()));
  co_return waiting;
}

asio::awaitable<void> Flusher::run() {
  milliseconds retry = options_.retry_min;
  auto next_counters = std::chrono::steady_clock::now();
  auto next_partitions = std::chrono::steady_clock::now();
  // A shard stood by for: its own server, starting at about the same time, goes first.
  if (options_.standby_hold.count() > 0) co_await pause(options_.standby_pause);
  while (!stopping_) {
    bool failed = false;
    try {
      auto now = std::chrono::steady_clock::now();
      if (options_.maintain_partitions && now >= next_partitions) {
        std::int64_t stray = co_await archive_.maintain_partitions(options_.partition_days_ahead,
                                                                   options_.retention_days);
        default_partition_rows_.set(stray);
        if (stray > 0) spdlog::warn("flusher: {} events sit in the default partition", stray);
        next_partitions = now + options_.partition_interval;
      }
      auto events = co_await flush_events();
      if (!holding_since_) holding_since_ = now;
      if (options_.standby_hold.count() > 0 && now - *holding_since_ >= options_.standby_hold) {
        // A shard stood by for: let go, so that its own server takes it if it is alive.
        archive_.release_writer();
        holding_since_.reset();
        stored_up_to_.reset();  // another writer moves the mark meanwhile
        lingering_.clear();     // their drops are the next writer's (the ledger knows them)
        co_await pause(options_.standby_pause);
        continue;
      }
      if (now >= next_counters) {
        co_await flush_counters();
        next_counters = now + options_.counter_interval;
      }
      std::size_t waiting = co_await observe_backlog();
      retry = options_.retry_min;
      // Nothing moved: wait. Little left: wait a moment so the next batch is bigger (fewer
      // commits). Otherwise more is waiting: go on at once.
      std::size_t moved = events.events_stored + events.events_skipped;
      if (moved == 0) {
        co_await pause(std::min(options_.idle_pause, options_.counter_interval));
      } else if (waiting < options_.batch_size / 10) {
        co_await pause(std::min(options_.idle_pause, milliseconds{20}));
      }
    } catch (const std::exception& error) {
      // Store failures are expected (a store restarting); anything else is a bug, but
      // stopping would lose nothing either: the backlog waits. So log loudly and retry.
      // Another server flushing this shard is no failure: its lock is tried again now and
      // then, so that the shard is taken over within retry_max when that server dies.
      auto* busy = dynamic_cast<const ports::Overloaded*>(&error);
      if (busy && busy->reason() == "flusher_lock") {
        spdlog::debug("flusher: {}", error.what());
      } else if (dynamic_cast<const ports::StoreError*>(&error)) {
        failures_.inc();
        spdlog::warn("flusher: {}; retrying in {} ms", error.what(), retry.count());
      } else {
        failures_.inc();
        spdlog::error("flusher: unexpected failure: {}; retrying in {} ms", error.what(), retry.count());
      }
      failed = true;
      holding_since_.reset();
    }
    if (failed) {
      // While PostgreSQL is away the lag grows: keep showing it if Redis answers.
      try {
        co_await observe_backlog();
      } catch (const std::exception&) {
      }
      co_await pause(retry);
      retry = std::min(retry * 2, options_.retry_max);
    }
  }
}

}  // namespace tracker::flush
