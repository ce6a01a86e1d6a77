#pragma once
#include "metrics/metrics.hpp"
#include "ports/event_store.hpp"
#include "redis/connection.hpp"
#include "redis/script.hpp"

#include <chrono>
#include <memory>

namespace tracker::redis {

struct EventStoreOptions {
  std::chrono::seconds recent_keywords_ttl{3600};
  // Unpersisted events allowed in the stream before ingestion answers 503 (0 = no limit).
  std::size_t backlog_high_water = 5'000'000;
  std::chrono::milliseconds timeout{2000};
};

// Stores events with one atomic Lua script per call (see lua/ingest.lua).
class EventStore final : public ports::EventStore {
 public:
  EventStore(std::shared_ptr<Connection> connection, EventStoreOptions options,
             metrics::Registry& metrics);
  asio::awaitable<std::vector<ports::StoredEvent>> append(
      std::span<const domain::Event> events) override;

 private:
  std::shared_ptr<Connection> connection_;
  EventStoreOptions options_;
  Script script_;
  metrics::Counter& backlog_rejections_;
  metrics::Counter& duplicates_;
};

}  // namespace tracker::redis
