#pragma once
#include "metrics/metrics.hpp"
#include "ports/counter_reading.hpp"

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

namespace tracker::app {

using SteadyClock = std::function<std::chrono::steady_clock::time_point()>;

struct ArchiveCacheOptions {
  // How long a PostgreSQL reading is reused; 0 = no caching at all. Must stay below the
  // statistics read span (StatisticsOptions::max_read_span), which a reused reading's
  // age counts against: config refuses larger values.
  std::chrono::milliseconds max_age{1000};
  std::size_t max_readings = 4096;        // readings kept at most (oldest dropped first)
  std::size_t max_ledger_answers = 16384;  // applied_in answers kept at most
};

// A short-lived cache of CounterArchive readings that keeps the statistics exact. One
// per I/O thread (no locking).
//
// Why a reused reading is still exact: a statistics answer is a PostgreSQL reading R taken
// with snapshot S, plus Redis's live counters, plus every Redis snapshot that S does not
// contain (applied_in). That sum counts each event acknowledged before the Redis read
// exactly once as long as every counter snapshot applied after S is still in Redis when
// Redis is read. The flusher keeps an applied snapshot for snapshot_linger (3 s) after its
// transaction committed, and a snapshot missing from S committed after S was taken, so
// after R's read was started: it stays in Redis until at least R's start + linger. The
// service checks that Redis was read within max_read_span (1.5 s, below the linger) of R's
// start, and for a reused reading that start is the original read's (read_started), not
// the request's. So R can serve any request that reads Redis within max_read_span of it;
// the cache hands it out for max_age only, leaving the rest of the span for Redis. The
// answer is then exact at the moment of that request's Redis read, so answers never go
// backwards either.
//
// Concurrent misses of one key share one read: a request that finds a read of its key
// under way waits for it and takes its reading, which, like a held one, started before the
// request asked and carries that start, so the same argument holds. Without it, every
// request for a popular key that arrived while the key was being read read it again.
//
// The flush ids known to be applied in a snapshot are handed to the live read as snapshots
// it may skip: their counts are in the PostgreSQL reading, so the answer leaves them out
// anyway, and Redis need not look them up.
//
// applied_in answers are cached without an age: whether a flush's ledger row was
// committed in a transaction visible in a given snapshot never changes (a row written
// later is in a transaction S does not see, and ledger rows are never deleted).
class CachedCounterArchive final : public ports::CounterArchive {
 public:
  CachedCounterArchive(ports::CounterArchive& inner, metrics::Registry& metrics, ArchiveCacheOptions options = {},
                       SteadyClock clock = std::chrono::steady_clock::now);

  boost::asio::awaitable<ports::ArchiveReading> totals(std::span<const ports::CounterKey> keys) override;
  boost::asio::awaitable<ports::ArchiveReading> buckets(const ports::CounterKey& key, std::int64_t from_ms,
                                                        std::int64_t to_ms, std::int64_t width_ms) override;
  boost::asio::awaitable<std::vector<std::string>> applied_in(const std::string& snapshot,
                                                              std::span<const std::string> flush_ids) override;
  std::vector<std::string> known_applied(const std::string& snapshot) const override;

  std::size_t readings_held() const { return readings_.size(); }
  std::size_t ledger_answers_held() const { return ledger_.size(); }

 private:
  using TimePoint = std::chrono::steady_clock::time_point;
  struct Held {
    ports::ArchiveReading reading;
    TimePoint read_started;
  };

  // A read of one key under way, with the requests waiting for it.
  struct Flight {
    explicit Flight(const boost::asio::any_io_executor& executor) : done(executor) {}
    boost::asio::steady_timer done;  // cancelled when the reading (or failure) is in
    std::optional<ports::ArchiveReading> reading;
    std::exception_ptr failure;
  };

  const Held* fresh(const std::string& key, TimePoint now) const;
  void keep(std::string key, ports::ArchiveReading reading, TimePoint read_started);
  // The held reading under `key` if fresh, else `read` (an awaitable starts only when
  // awaited, so a hit never runs it) kept under `key`.
  boost::asio::awaitable<ports::ArchiveReading> read_through(std::string key,
                                                             boost::asio::awaitable<ports::ArchiveReading> read);
  void remember_applied(const std::string& snapshot, const std::string& flush_id, bool applied);

  ports::CounterArchive& inner_;
  ArchiveCacheOptions options_;
  SteadyClock clock_;
  std::unordered_map<std::string, Held> readings_;
  std::unordered_map<std::string, std::shared_ptr<Flight>> flights_;
  std::deque<std::pair<std::string, TimePoint>> reading_order_;  // insertion order = expiry order
  std::unordered_map<std::string, bool> ledger_;                 // snapshot '\n' flush id -> applied
  std::deque<std::string> ledger_order_;
  // The applied answers again, per snapshot: what known_applied() hands out.
  std::unordered_map<std::string, std::vector<std::string>> applied_by_snapshot_;
  metrics::Counter& reading_hits_;
  metrics::Counter& reading_misses_;
  metrics::Counter& reading_joins_;
  metrics::Counter& ledger_hits_;
  metrics::Counter& ledger_misses_;
};

}  // namespace tracker::app
