#pragma once
#include "ports/counter_source.hpp"
#include "redis/connection.hpp"
#include "redis/script.hpp"

#include <random>

namespace tracker::redis {

// Live counters are the hashes et:totals:live and et:minutes:live, with the set of minutes
// the latter holds in et:minute-index:live (written by lua/ingest.lua); a snapshot renames
// all three to et:*:snap:<flush id> and lists the id in the sorted set et:snapshots until
// it is dropped.
class CounterSource final : public ports::CounterSource {
 public:
  explicit CounterSource(std::shared_ptr<Connection> connection, milliseconds timeout = milliseconds{5000});
  asio::awaitable<std::optional<std::string>> take_snapshot() override;
  asio::awaitable<std::vector<std::string>> open_snapshots() override;
  asio::awaitable<ports::CounterSnapshot> read_snapshot(const std::string& flush_id) override;
  asio::awaitable<void> drop_snapshot(const std::string& flush_id) override;

 private:
  std::shared_ptr<Connection> connection_;
  milliseconds timeout_;
  Script take_script_;
  std::mt19937_64 random_{std::random_device{}()};
};

// Field names of the counter hashes, shared by ingestion and the statistics reader.
// A shape is "TYPE|component|post|keyword" with '*' for any (component 0 in C++); the
// keyword is last and may hold '|'. Minute fields append "|minute_ms".
std::string shape_field(std::string_view event_type, std::int64_t component_id,
                        std::optional<std::int64_t> post_id, const std::optional<std::string>& keyword);
// The shapes one event adds to: any component, its component, and with its post and/or
// keyword where it has them.
std::vector<std::string> event_shapes(std::string_view event_type, std::int64_t component_id,
                                      std::optional<std::int64_t> post_id,
                                      const std::optional<std::string>& keyword);
std::optional<ports::CounterDelta> parse_minute_field(std::string_view field, std::int64_t delta);

}  // namespace tracker::redis
