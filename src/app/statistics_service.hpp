#pragma once
#include "app/cached_counter_archive.hpp"
#include "app/ingest_service.hpp"
#include "app/ranking_board.hpp"
#include "domain/statistics_query.hpp"
#include "ports/counter_reading.hpp"
#include "ports/trends.hpp"

#include <chrono>

namespace tracker::app {

struct StatisticsOptions {
  // Must stay below the flusher's snapshot linger (see exact_totals below).
  std::chrono::milliseconds max_read_span{1500};
  int max_attempts = 3;
  // How long a ranking request waits for the board's first refresh after start-up.
  std::chrono::milliseconds ranking_wait{2000};
};

struct SeriesPoint {
  std::int64_t start_ms;
  std::int64_t count;
};

struct Summary {
  std::vector<std::pair<std::string, std::int64_t>> totals;       // per event type, all time
  std::vector<std::pair<std::string, std::int64_t>> last_minute;  // per event type
  std::int64_t backlog = 0;
};

// Exact, real-time counts: what PostgreSQL holds plus what Redis still holds, each
// acknowledged event counted once however a flush interleaves with the read.
//
// The read is PostgreSQL first (with its snapshot), then Redis (live counters and every
// snapshot not yet dropped, atomically), then the ledger for the snapshots seen: those
// already applied in the PostgreSQL snapshot are left out. A snapshot applied after the
// PostgreSQL read is still in Redis when Redis is read, because the flusher keeps applied
// snapshots for a while (snapshot_linger) and a read taking longer than max_read_span is
// done again. That span starts when the PostgreSQL read started, which for a reading
// reused from a cache (CachedCounterArchive) is the original read's start.
class StatisticsService {
 public:
  StatisticsService(ports::CounterArchive& archive, ports::LiveCounters& live, ports::Trends& trends,
                    const RankingBoard& rankings, StatisticsOptions options = {}, Clock clock = system_now_ms,
                    SteadyClock steady_clock = std::chrono::steady_clock::now);

  boost::asio::awaitable<std::int64_t> count(const domain::CountQuery& query);
  boost::asio::awaitable<std::vector<SeriesPoint>> series(const domain::SeriesQuery& query);
  // Rankings come from the RankingBoard: at most one refresh interval old.
  boost::asio::awaitable<Standing> top_posts(domain::EventType type, domain::Window window, std::size_t limit);
  boost::asio::awaitable<Standing> top_keywords(domain::Window window, std::size_t limit);
  boost::asio::awaitable<std::int64_t> unique_users(domain::EventType type, const std::string& day);
  boost::asio::awaitable<Summary> summary();

 private:
  boost::asio::awaitable<std::vector<std::int64_t>> exact_totals(std::vector<ports::CounterKey> keys);
  boost::asio::awaitable<std::vector<std::int64_t>> exact_buckets(const ports::CounterKey& key, std::int64_t from_ms,
                                                                  std::int64_t to_ms, std::int64_t width_ms);
  boost::asio::awaitable<Standing> standing(std::string_view ranking, domain::Window window, std::size_t limit);
  boost::asio::awaitable<std::vector<std::int64_t>> merge(const ports::ArchiveReading& archived,
                                                          const ports::LiveReading& live,
                                                          const std::vector<std::size_t>& live_to_value);
  bool within_span(std::chrono::steady_clock::time_point started, const ports::ArchiveReading& archived) const;

  ports::CounterArchive& archive_;
  ports::LiveCounters& live_;
  ports::Trends& trends_;
  const RankingBoard& rankings_;
  StatisticsOptions options_;
  Clock clock_;
  SteadyClock steady_clock_;
};

}  // namespace tracker::app
