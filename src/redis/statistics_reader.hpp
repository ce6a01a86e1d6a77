#pragma once
#include "ports/counter_reading.hpp"
#include "ports/trends.hpp"
#include "redis/connection.hpp"
#include "redis/script.hpp"

namespace tracker::redis {

// The Redis side of the statistics API (one per I/O thread).
class StatisticsReader final : public ports::LiveCounters, public ports::Trends {
 public:
  explicit StatisticsReader(std::shared_ptr<Connection> connection, milliseconds timeout = milliseconds{1000});

  asio::awaitable<ports::LiveReading> totals(std::span<const ports::CounterKey> keys) override;
  asio::awaitable<ports::LiveReading> minutes(const ports::CounterKey& key, std::int64_t from_ms,
                                              std::int64_t to_ms) override;

  asio::awaitable<std::int64_t> unique_users(const std::string& event_type, const std::string& day) override;
  asio::awaitable<std::vector<std::int64_t>> events_in_minute(const std::vector<std::string>& event_types,
                                                              std::int64_t minute_start) override;
  asio::awaitable<std::int64_t> backlog() override;

 private:

  std::shared_ptr<Connection> connection_;
  milliseconds timeout_;
  Script read_counts_;
};

}  // namespace tracker::redis
