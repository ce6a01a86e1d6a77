#pragma once
#include "domain/query_shape.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace tracker::ports {

// One query shape of the statistics API: 0 / 0 / "" mean any component / post / keyword.
using CounterKey = domain::QueryShape;

// Counts still in Redis, read atomically: the live counters and each snapshot that is
// being (or has just been) moved to PostgreSQL.
struct LiveReading {
  struct Snapshot {
    std::string flush_id;
    std::vector<std::int64_t> values;
  };
  std::vector<std::int64_t> live;  // one value per requested counter
  std::vector<Snapshot> snapshots;
};

class LiveCounters {
 public:
  virtual ~LiveCounters() = default;
  // `skip`: snapshots whose counts the caller does not need (they are already in its
  // PostgreSQL reading); they may be left out of the answer.
  virtual boost::asio::awaitable<LiveReading> totals(std::span<const CounterKey> keys,
                                                     std::span<const std::string> skip) = 0;
  // Counts of one key per bucket of `width_ms` over [from_ms, to_ms) (Unix ms; from_ms and
  // width_ms whole minutes): values[i] sums the minutes of the bucket starting at
  // from_ms + i * width_ms. Any minute of the range may hold counts (an UNLIKE takes back
  // a like in the like's minute, however old), not only the last day's.
  virtual boost::asio::awaitable<LiveReading> buckets(const CounterKey& key, std::int64_t from_ms,
                                                      std::int64_t to_ms, std::int64_t width_ms,
                                                      std::span<const std::string> skip) = 0;
};

// Counts in PostgreSQL, each read with the database snapshot it was read in.
struct ArchiveReading {
  std::vector<std::int64_t> values;
  std::string snapshot;  // PostgreSQL's pg_snapshot of the read, for applied_in()
  // Set on a reading that is reused (cached): when the read that took it was started. A
  // statistics read counts its duration from there (see app/statistics_service.hpp).
  std::optional<std::chrono::steady_clock::time_point> read_started;
};

class CounterArchive {
 public:
  virtual ~CounterArchive() = default;
  virtual boost::asio::awaitable<ArchiveReading> totals(std::span<const CounterKey> keys) = 0;
  // Counts of `key` per bucket of `width_ms` over [from_ms, to_ms); values[i] is the
  // bucket starting at from_ms + i * width_ms (from_ms is aligned to width_ms).
  virtual boost::asio::awaitable<ArchiveReading> buckets(const CounterKey& key, std::int64_t from_ms,
                                                         std::int64_t to_ms, std::int64_t width_ms) = 0;
  // The flush ids among `flush_ids` whose counts were already part of a reading taken
  // with `snapshot`.
  virtual boost::asio::awaitable<std::vector<std::string>> applied_in(
      const std::string& snapshot, std::span<const std::string> flush_ids) = 0;
  // The flush ids already known, without asking anyone, to be part of a reading taken with
  // `snapshot` (an archive that remembers applied_in answers knows some).
  virtual std::vector<std::string> known_applied(const std::string& /*snapshot*/) const { return {}; }
};

}  // namespace tracker::ports
