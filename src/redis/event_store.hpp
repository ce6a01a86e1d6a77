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
  // Script calls of this thread on their way to Redis at once, at most. Two: Redis
  // starts on the next group as soon as it has answered one.
  std::size_t max_groups_in_flight = 2;
};

// Stores events with the atomic Lua script lua/ingest.lua. The events of all requests
// that arrive on this thread during one turn of its event loop go to Redis together in
// one script call (group commit): far less work per event for Redis. A group is sent as
// soon as its turn ends, unless max_groups_in_flight are on their way already; then the
// events arriving meanwhile wait for one of those to be answered and go together in the
// next call. Without that, requests that finish one by one (each after its own database
// query, say) would each make a call of their own, and Redis would spend its time on
// the fixed part of every call; with it, the busier Redis is, the larger the groups.
// Owned by one I/O thread.
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
  void schedule();
  asio::awaitable<void> send(Group group);
  Group fresh_group() const;

  std::shared_ptr<Connection> connection_;
  EventStoreOptions options_;
  Script script_;
  Group open_;
  std::deque<Group> full_;  // groups that reached max_group, waiting to be sent
  std::size_t in_flight_ = 0;
  bool send_posted_ = false;
  // When each recently written key last had its TTL set (EXPIRE ... NX), to do that once a
  // minute rather than once per call; a key recreated in between gets its TTL at the next.
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> expiry_set_;
  metrics::Counter& backlog_rejections_;
  metrics::Counter& duplicates_;
  metrics::Counter& script_calls_;  // events per call = accepted events / calls
};

}  // namespace tracker::redis
