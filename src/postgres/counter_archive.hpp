#pragma once
#include "ports/counter_reading.hpp"
#include "postgres/pool.hpp"

namespace tracker::postgres {

// The PostgreSQL side of the statistics API: event_totals and event_stats, each read in
// one statement together with the statement's snapshot.
class CounterArchive final : public ports::CounterArchive {
 public:
  CounterArchive(Pool& pool, milliseconds timeout);
  asio::awaitable<ports::ArchiveReading> totals(std::span<const ports::CounterKey> keys) override;
  asio::awaitable<ports::ArchiveReading> buckets(const ports::CounterKey& key, std::int64_t from_ms,
                                                 std::int64_t to_ms, std::int64_t width_ms) override;
  asio::awaitable<std::vector<std::string>> applied_in(const std::string& snapshot,
                                                       std::span<const std::string> flush_ids) override;

 private:
  Pool& pool_;
  milliseconds timeout_;
};

// A PostgreSQL array literal of texts ("{"a","b\"c"}"), for array parameters.
std::string text_array(std::span<const std::string> items);

}  // namespace tracker::postgres
