#pragma once
#include "ports/counter_source.hpp"
#include "redis/commands.hpp"
#include "redis/script.hpp"

#include <random>

namespace tracker::redis {

// Live counters are the hashes et:totals:live and et:minutes:live, with the set of minutes
// the latter holds in et:minute-index:live (written by lua/ingest.lua); a snapshot renames
// all three to et:*:snap:<flush id> and lists the id in the sorted set et:snapshots until
// it is dropped.
class CounterSource final : public ports::CounterSource {
 public:
  explicit CounterSource(std::shared_ptr<Commands> connection, milliseconds timeout = milliseconds{5000});
  asio::awaitable<std::optional<std::string>> take_snapshot() override;
  asio::awaitable<std::vector<std::string>> open_snapshots() override;
  asio::awaitable<ports::CounterSnapshot> read_snapshot(const std::string& flush_id) override;
  asio::awaitable<void> drop_snapshot(const std::string& flush_id) override;

 private:
  std::shared_ptr<Commands> connection_;
  milliseconds timeout_;
  Script take_script_;
  std::mt19937_64 random_{std::random_device{}()};
};

// A counter snapshot's per-minute field (domain::minute_field) as a delta; nullopt when it
// is not one.
std::optional<ports::CounterDelta> parse_minute_field(std::string_view field, std::int64_t delta);

}  // namespace tracker::redis
