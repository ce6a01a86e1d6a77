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

  asio::awaitable<std::vector<ports::Ranked>> top_posts(const std::string& event_type,
                                                        std::vector<std::int64_t> hour_starts,
                                                        std::size_t limit) override;
  asio::awaitable<std::vector<ports::Ranked>> top_keywords(std::vector<std::int64_t> hour_starts,
                                                           std::size_t limit) override;
  asio::awaitable<std::int64_t> unique_users(const std::string& event_type, const std::string& day) override;
  asio::awaitable<std::vector<std::int64_t>> events_in_minute(const std::vector<std::string>& event_types,
                                                              std::int64_t minute_start) override;
  asio::awaitable<std::int64_t> backlog() override;

 private:
  asio::awaitable<std::vector<ports::Ranked>> top(std::vector<std::string> keys, std::size_t limit);

  std::shared_ptr<Connection> connection_;
  milliseconds timeout_;
  Script read_counts_;
  Script top_members_;
};

}  // namespace tracker::redis
