#pragma once
#include "ports/counter_source.hpp"
#include "redis/commands.hpp"
#include "redis/script.hpp"

#include <random>

namespace tracker::redis {

// One shard's live counters: the hashes et:{s}:totals:live and et:{s}:minutes:live, with
// the set of minutes the latter holds in et:{s}:minute-index:live (written by
// lua/ingest.lua); a snapshot renames all three to et:{s}:*:snap:<flush id> and lists the
// id in the sorted set et:{s}:snapshots until it is dropped. Flush ids start with the
// shard, so they are unique over all shards (the ledger and the readers rely on it).
class CounterSource final : public ports::CounterSource {
 public:
  explicit CounterSource(std::shared_ptr<Commands> connection, milliseconds timeout = milliseconds{5000},
                         std::uint32_t shard = 0);
  asio::awaitable<std::optional<std::string>> take_snapshot() override;
  asio::awaitable<std::vector<std::string>> open_snapshots() override;
  asio::awaitable<ports::CounterSnapshot> read_snapshot(const std::string& flush_id) override;
  asio::awaitable<void> drop_snapshot(const std::string& flush_id) override;

 private:
  std::shared_ptr<Commands> connection_;
  milliseconds timeout_;
  std::uint32_t shard_;
  std::string tag_;
  Script take_script_;
  std::mt19937_64 random_{std::random_device{}()};
};

// A counter snapshot's per-minute field (domain::minute_field) as a delta; nullopt when it
// is not one.
std::optional<ports::CounterDelta> parse_minute_field(std::string_view field, std::int64_t delta);

}  // namespace tracker::redis
