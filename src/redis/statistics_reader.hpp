#pragma once
#include "ports/counter_reading.hpp"
#include "ports/trends.hpp"
#include "metrics/metrics.hpp"
#include "redis/commands.hpp"
#include "redis/script.hpp"
#include "redis/shards.hpp"
#include "redis/snapshot_memo.hpp"

namespace tracker::redis {

// The Redis side of the statistics API (one per I/O thread). Every count reads each shard
// and adds them up. A shard's live counters and snapshots are read in one atomic step,
// as before shards, and flush ids are unique across shards, so the exactness argument
// (docs/DESIGN.md, "Exact reads") holds per shard, and so for the sum.
class StatisticsReader final : public ports::LiveCounters, public ports::Trends {
 public:
  StatisticsReader(std::shared_ptr<Commands> connection, metrics::Registry& metrics,
                   milliseconds timeout = milliseconds{1000}, Shards shards = Shards{});

  asio::awaitable<ports::LiveReading> totals(std::span<const ports::CounterKey> keys,
                                             std::span<const std::string> skip) override;
  asio::awaitable<ports::LiveReading> buckets(const ports::CounterKey& key, std::int64_t from_ms, std::int64_t to_ms,
                                              std::int64_t width_ms, std::span<const std::string> skip) override;

  asio::awaitable<std::int64_t> unique_users(const std::string& event_type, const std::string& day) override;
  asio::awaitable<std::vector<std::int64_t>> events_in_minute(const std::vector<std::string>& event_types,
                                                              std::int64_t minute_start) override;
  asio::awaitable<std::int64_t> backlog() override;

 private:
  struct Counts {
    SnapshotMemo::Values live;
    std::vector<std::pair<std::string, SnapshotMemo::Values>> snapshots;  // flush id, values
  };
  // One run of the read script: `request` names what is asked (the memo's key; empty: not
  // remembered), `kind` and `arguments` are the script's. Snapshots come from the memo
  // where it has them; those in `skip` are left out of the answer.
  asio::awaitable<Counts> read(const std::string& request, std::string_view kind,
                               std::span<const std::string_view> arguments, std::span<const std::string> skip);

  asio::awaitable<Reply> read_shard(const std::string& tag, bool totals, std::span<const std::string_view> arguments);

  std::shared_ptr<Commands> connection_;
  milliseconds timeout_;
  Shards shards_;
  Script read_counts_;
  SnapshotMemo memo_;
  metrics::Counter& snapshots_remembered_;
  metrics::Counter& snapshots_read_;
  metrics::Counter& snapshots_skipped_;
};

}  // namespace tracker::redis
