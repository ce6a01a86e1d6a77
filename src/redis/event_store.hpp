#pragma once
#include "metrics/metrics.hpp"
#include "ports/event_store.hpp"
#include "redis/commands.hpp"
#include "redis/script.hpp"
#include "redis/shards.hpp"

#include <boost/asio/any_completion_handler.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <unordered_map>
#include <unordered_set>

namespace tracker::redis {

// What runs an ingest call in Redis: the Lua script lua/ingest.lua (any Redis), or the
// command TRACKER.INGEST of the module src/redis/module (the same keys, arguments and
// reply; the module must be loaded into Redis).
enum class IngestEngine { Lua, Module };
inline constexpr std::string_view kIngestCommand = "TRACKER.INGEST";

struct EventStoreOptions {
  IngestEngine engine = IngestEngine::Lua;
  std::chrono::seconds recent_keywords_ttl{3600};
  // Unpersisted events allowed in the streams before ingestion answers 503 (0 = no
  // limit); each shard's stream is allowed its share.
  std::size_t backlog_high_water = 5'000'000;
  std::chrono::milliseconds timeout{2000};
  // Events of concurrent requests stored by one script call, at most.
  std::size_t max_group = 256;
  // Script calls of this thread on their way to Redis at once, at most. Two: Redis
  // starts on the next group as soon as it has answered one.
  std::size_t max_groups_in_flight = 2;
  // After each script call, WAIT for this many replicas of the master that ran it, at
  // most wait_timeout; fewer: the call's requests fail with ports::NotReplicated. 0: no WAIT.
  std::size_t wait_replicas = 0;
  std::chrono::milliseconds wait_timeout{500};
};

// Stores events with the atomic Lua script lua/ingest.lua (or the module command that
// does the same, IngestEngine). The events of all requests that arrive on this thread
// during one turn of its event loop go to Redis together in one script call (group
// commit): far less work per event for Redis. A group is sent as soon as its turn ends,
// unless max_groups_in_flight are on their way already; then the events arriving
// meanwhile wait for one of those to be answered and go together in the next call.
// Without that, requests that finish one by one (each after its own database query, say)
// would each make a call of their own, and Redis would spend its time on the fixed part
// of every call; with it, the busier Redis is, the larger the groups.
//
// Each event belongs to one shard (Shards::of_event), and a script call stores events of
// one shard only (in Redis Cluster, one slot): each shard has its own groups. A request
// whose events span shards is answered when every shard's call has been; if one failed,
// the request fails, though the other shards' events are stored (a retry is then counted
// once only for the events that carry a client eventId).
// Owned by one I/O thread.
class EventStore final : public ports::EventStore {
 public:
  EventStore(std::shared_ptr<Commands> connection, EventStoreOptions options,
             metrics::Registry& metrics, Shards shards = Shards{});
  asio::awaitable<std::vector<ports::StoredEvent>> append(
      std::span<const domain::Event> events) override;

 private:
  using Handler = asio::any_completion_handler<void(std::exception_ptr, std::vector<ports::StoredEvent>)>;
  // One append(): answered once each shard it touches has stored its part.
  struct Request {
    explicit Request(Handler done) : handler(std::move(done)) {}
    std::vector<ports::StoredEvent> stored;  // per event of the request
    std::size_t pending = 0;                 // shard calls not yet answered
    std::exception_ptr failure;
    Handler handler;
  };
  // The part of a request that one group (one shard's call) stores.
  struct Waiter {
    std::shared_ptr<Request> request;
    std::vector<std::uint32_t> positions;  // of the events in the request
    std::vector<std::string> ids;  // the ids the events were given, in order
    // Per event, its place among the group's checked events (1-based, the script answers
    // with their stored ids), or 0 for a summed event, which is stored under its own id.
    std::vector<std::uint32_t> checked_at;
  };
  using Sums = std::unordered_map<std::string, std::int64_t>;
  struct RecentSearch {
    std::uint32_t checked_at;  // as in Waiter: a repeated checked event changes nothing
    std::string key;
    std::string keyword;
  };
  // What one script call stores (lua/ingest.lua describes the two kinds of events).
  struct Group {
    std::vector<std::string> checked;  // the checked events' script arguments
    std::size_t checked_events = 0;
    std::string summed_rows;  // the summed events' COPY rows, one per line
    std::size_t summed_events = 0;
    Sums totals, minutes, counters;  // the summed events' increments
    // The summed LIKEs' (likes key, minute), in order: the standing likes they add.
    std::vector<std::pair<std::string, std::string>> standing_likes;
    // Standing likes a checked event moves: a LIKE of them that comes later is checked too.
    std::unordered_set<std::string> checked_like_keys;
    std::unordered_set<std::string> minute_list;
    std::unordered_map<std::string, Sums> rankings;  // key -> member -> increment
    std::unordered_map<std::string, std::unordered_set<std::int64_t>> unique_users;
    std::vector<RecentSearch> recent;  // every event's, in order
    std::vector<std::pair<std::string, std::int64_t>> expiring;  // (key, TTL seconds) to set
    // A deque: its elements never move, and any_completion_handler must not be copied.
    std::deque<Waiter> waiters;
    std::size_t events() const { return checked_events + summed_events; }
  };

  // A shard's groups.
  struct Queue {
    Group open;
    std::deque<Group> full;  // groups that reached max_group, waiting to be sent
    std::size_t in_flight = 0;
    bool send_posted = false;
  };

  void add(std::span<const domain::Event> events, Handler handler);
  // Adds the event to the group; returns its place among the checked events, or 0.
  std::uint32_t append_event(Group& group, const domain::Event& event, std::string_view tag);
  void append_checked(Group& group, const domain::Event& event, std::string_view tag);
  void append_summed(Group& group, const domain::Event& event, std::string_view tag);
  static std::vector<std::string> script_arguments(Group& group, const EventStoreOptions& options,
                                                   std::size_t high_water);
  // Asks the script to set a TTL on `key` unless this store did so during the last minute.
  void expire(Group& group, std::string key, std::int64_t ttl_seconds);
  void schedule(std::uint32_t shard);
  asio::awaitable<void> send(std::uint32_t shard, Group group);
  // One ingest call with options_.engine.
  asio::awaitable<Reply> ingest(std::span<const std::string_view> keys, std::span<const std::string_view> args);
  // Throws ports::NotReplicated when fewer than options_.wait_replicas have the writes.
  asio::awaitable<void> wait_for_replicas(const std::string& shard_key, std::size_t events);

  std::shared_ptr<Commands> connection_;
  EventStoreOptions options_;
  Shards shards_;
  std::size_t shard_high_water_;  // options_.backlog_high_water shared among the shards
  Script script_;
  std::vector<Queue> queues_;  // per shard
  // When each recently written key last had its TTL set (EXPIRE ... NX), to do that once a
  // minute rather than once per call; a key recreated in between gets its TTL at the next.
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> expiry_set_;
  metrics::Counter& backlog_rejections_;
  metrics::Counter& duplicates_;
  metrics::Counter& script_calls_;
  metrics::Counter& not_replicated_;  // events per call = accepted events / calls
};

}  // namespace tracker::redis
