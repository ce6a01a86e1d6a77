#pragma once
#include "metrics/metrics.hpp"
#include "ports/event_store.hpp"
#include "redis/connection.hpp"
#include "redis/script.hpp"

#include <chrono>
#include <deque>
#include <memory>
#include <unordered_map>

namespace tracker::redis {

struct EventStoreOptions {
  std::chrono::seconds recent_keywords_ttl{3600};
  // Unpersisted events allowed in the stream before ingestion answers 503 (0 = no limit).
  std::size_t backlog_high_water = 5'000'000;
  std::chrono::milliseconds timeout{2000};
  // Events of concurrent requests stored by one script call, at most.
  std::size_t max_group = 256;
};

// Stores events with the atomic Lua script lua/ingest.lua. The events of all requests
// that arrive on this thread during one turn of its event loop go to Redis together in
// one script call (group commit): far less work per event for Redis, and no added wait,
// since the group is sent as soon as the turn ends. Owned by one I/O thread.
class EventStore final : public ports::EventStore {
 public:
  EventStore(std::shared_ptr<Connection> connection, EventStoreOptions options,
             metrics::Registry& metrics);
  asio::awaitable<std::vector<ports::StoredEvent>> append(
      std::span<const domain::Event> events) override;

 private:
  using Handler = asio::any_completion_handler<void(std::exception_ptr, std::vector<ports::StoredEvent>)>;
  struct Waiter {
    std::vector<std::string> ids;  // the ids the events were given, in order
    Handler handler;
  };
  struct Group {
    std::vector<std::string> values;  // script arguments
    std::vector<std::pair<std::string, std::int64_t>> expiring;  // (key, TTL seconds) to set
    // A deque: its elements never move, and any_completion_handler must not be copied.
    std::deque<Waiter> waiters;
    std::size_t events = 0;
  };

  void add(std::span<const domain::Event> events, Handler handler);
  void append_event(Group& group, const domain::Event& event);
  // Asks the script to set a TTL on `key` unless this store did so during the last minute.
  void expire(Group& group, std::string key, std::int64_t ttl_seconds);
  asio::awaitable<void> send(Group group);
  Group fresh_group() const;

  std::shared_ptr<Connection> connection_;
  EventStoreOptions options_;
  Script script_;
  Group open_;
  bool send_posted_ = false;
  // When each recently written key last had its TTL set (EXPIRE ... NX), to do that once a
  // minute rather than once per call; a key recreated in between gets its TTL at the next.
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> expiry_set_;
  metrics::Counter& backlog_rejections_;
  metrics::Counter& duplicates_;
  metrics::Counter& script_calls_;  // events per call = accepted events / calls
};

}  // namespace tracker::redis
