#include "redis/event_store.hpp"

#include "domain/event_record.hpp"
#include "domain/time_format.hpp"
#include "ports/errors.hpp"
#include "redis/counter_source.hpp"
#include "redis/keys.hpp"
#include "redis/lua_scripts.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace tracker::redis {

namespace {
constexpr std::size_t kHeaderValues = 3;

std::string optional_number(const std::optional<std::int64_t>& value) {
  return value ? std::to_string(*value) : std::string();
}

void push_shapes(std::vector<std::string>& values, const std::vector<std::string>& shapes,
                 const std::string& minute) {
  values.push_back(std::to_string(shapes.size()));
  for (const std::string& shape : shapes) {
    values.push_back(shape);
    values.push_back(shape + "|" + minute);
  }
}

constexpr std::int64_t kMinuteCountTtl = 7200;
constexpr std::int64_t kRankingTtl = 8 * 86400;  // a week's windows and one more day
constexpr std::int64_t kUniqueUsersTtl = 40 * 86400;
constexpr auto kExpiryRefresh = std::chrono::seconds(60);
}  // namespace

// The arguments lua/ingest.lua reads for one event: every key and field name is made
// here, where string work is cheap, rather than in Redis's single thread.
void EventStore::append_event(Group& group, const domain::Event& event) {
  std::vector<std::string>& values = group.values;
  using domain::EventType;
  const std::string type(domain::to_string(event.type));
  const std::string minute = std::to_string(domain::bucket_start(event.event_time_ms, domain::kMinuteMs));
  const std::string hour = std::to_string(domain::bucket_start(event.event_time_ms, domain::kHourMs));
  const std::string component = std::to_string(event.component_id);
  const bool liking = event.type == EventType::Like || event.type == EventType::Unlike;
  const bool searching = event.type == EventType::Search;
  auto ranked = [&](EventType type) {
    return event.post_id && (type == EventType::Like || type == EventType::PageView || type == EventType::Click);
  };

  values.push_back(event.id);
  values.push_back(event.client_event_id.value_or(""));
  values.push_back(type);
  values.push_back(optional_number(event.user_id));
  values.push_back(optional_number(event.post_id));
  values.push_back(event.keyword.value_or(""));
  values.push_back(domain::to_copy_row(event));
  values.push_back(liking ? "et:likes:" + component + ":" + optional_number(event.post_id) : "");
  values.push_back("et:rt:" + type + ":" + minute);
  expire(group, values.back(), kMinuteCountTtl);
  values.push_back(event.user_id ? "et:uu:" + type + ":" + domain::format_rfc3339_ms(event.event_time_ms).substr(0, 10) : "");
  if (event.user_id) expire(group, values.back(), kUniqueUsersTtl);
  values.push_back(searching ? "et:kw:" + hour : "");
  if (searching) expire(group, values.back(), kRankingTtl);
  values.push_back(searching && event.user_id ? keys::recent_keywords(*event.user_id) : "");
  values.push_back(ranked(event.type) ? "et:top:" + type + ":" + hour : "");
  if (ranked(event.type)) expire(group, values.back(), kRankingTtl);
  values.push_back(minute);
  push_shapes(values, event_shapes(type, event.component_id, event.post_id, event.keyword), minute);
  if (event.type == EventType::Unlike) {
    // What an UNLIKE takes back from the post's LIKE counters, when it undoes a like.
    values.push_back(ranked(EventType::Like) ? "et:top:LIKE:" + hour : "");
    if (ranked(EventType::Like)) expire(group, values.back(), kRankingTtl);
    push_shapes(values, event_shapes("LIKE", event.component_id, event.post_id, event.keyword), minute);
  }
}

void EventStore::expire(Group& group, std::string key, std::int64_t ttl_seconds) {
  auto now = std::chrono::steady_clock::now();
  auto [at, inserted] = expiry_set_.try_emplace(key, now);
  if (!inserted) {
    if (now - at->second < kExpiryRefresh) return;
    at->second = now;
  }
  // Keys are per minute, hour or day: the map is emptied now and then instead of pruned.
  if (expiry_set_.size() > 50'000) expiry_set_.clear();
  group.expiring.emplace_back(std::move(key), ttl_seconds);
}

EventStore::EventStore(std::shared_ptr<Connection> connection, EventStoreOptions options,
                       metrics::Registry& metrics)
    : connection_(std::move(connection)),
      options_(options),
      script_(lua::ingest),
      open_(fresh_group()),
      backlog_rejections_(metrics.counter(
          "tracker_ingest_rejected_total", "Events refused to protect the system",
          "reason=\"backlog_high_water\"")),
      duplicates_(metrics.counter("tracker_ingest_duplicates_total",
                                  "Events acknowledged as repeats of a known client eventId")),
      script_calls_(metrics.counter("tracker_ingest_script_calls_total",
                                    "Ingest script calls (each stores a group of events)")) {}

EventStore::Group EventStore::fresh_group() const {
  Group group;
  group.values.reserve(kHeaderValues + 64 * 24);
  group.values.push_back(std::to_string(options_.recent_keywords_ttl.count()));
  group.values.push_back(std::to_string(options_.backlog_high_water));
  group.values.emplace_back();  // event count, known when the group is sent
  return group;
}

asio::awaitable<std::vector<ports::StoredEvent>> EventStore::append(
    std::span<const domain::Event> events) {
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>,
                                          void(std::exception_ptr, std::vector<ports::StoredEvent>)>(
      [this, events](Handler handler) { add(events, std::move(handler)); }, asio::use_awaitable);
}

void EventStore::add(std::span<const domain::Event> events, Handler handler) {
  if (open_.events > 0 && open_.events + events.size() > options_.max_group) {
    full_.push_back(std::exchange(open_, fresh_group()));
  }
  std::vector<std::string> ids;
  ids.reserve(events.size());
  for (const domain::Event& event : events) {
    append_event(open_, event);
    ids.push_back(event.id);
  }
  // Built in place: assigning an any_completion_handler would wrap it in itself.
  open_.waiters.push_back(Waiter{std::move(ids), std::move(handler)});
  open_.events += events.size();
  schedule();
}

// Sends the waiting groups at the end of this turn of the event loop (so that every
// event arriving in it joins them), as far as calls may be on their way.
void EventStore::schedule() {
  if (send_posted_ || in_flight_ >= std::max<std::size_t>(options_.max_groups_in_flight, 1)) return;
  if (full_.empty() && open_.events == 0) return;
  send_posted_ = true;
  asio::post(connection_->executor(), [this] {
    send_posted_ = false;
    while (in_flight_ < std::max<std::size_t>(options_.max_groups_in_flight, 1)) {
      Group group;
      if (!full_.empty()) {
        group = std::move(full_.front());
        full_.pop_front();
      } else if (open_.events > 0) {
        group = std::exchange(open_, fresh_group());
      } else {
        break;
      }
      ++in_flight_;
      asio::co_spawn(connection_->executor(), send(std::move(group)), asio::detached);
    }
  });
}

asio::awaitable<void> EventStore::send(Group group) {
  group.values[2] = std::to_string(group.events);
  group.values.push_back(std::to_string(group.expiring.size()));
  for (auto& [key, ttl] : group.expiring) {
    group.values.push_back(std::move(key));
    group.values.push_back(std::to_string(ttl));
  }
  script_calls_.inc();
  std::vector<std::string_view> args(group.values.begin(), group.values.end());
  std::exception_ptr failure;
  Reply reply;
  try {
    reply = co_await script_.run(*connection_, {}, args, options_.timeout);
    if (reply.is_error()) {
      if (reply.text.starts_with("BACKLOG")) {
        backlog_rejections_.inc(group.events);
        throw ports::Overloaded("backlog_high_water",
                                "too many events are waiting to be persisted; retry later");
      }
      throw ports::StoreRejected("redis rejected the ingest script: " + reply.text);
    }
    if (reply.type != Reply::Type::Array || reply.elements.size() != group.events) {
      throw ports::StoreRejected("unexpected reply from the ingest script");
    }
  } catch (...) {
    failure = std::current_exception();
  }
  std::size_t next = 0;
  for (Waiter& waiter : group.waiters) {
    std::vector<ports::StoredEvent> stored;
    if (!failure) {
      stored.reserve(waiter.ids.size());
      for (const std::string& id : waiter.ids) {
        std::string& answer = reply.elements[next++].text;
        bool duplicate = answer != id;
        if (duplicate) duplicates_.inc();
        stored.push_back({std::move(answer), duplicate});
      }
    }
    // Posted, so that each waiting request resumes from the event loop, not from here.
    asio::post(connection_->executor(), [handler = std::move(waiter.handler), failure,
                                         stored = std::move(stored)]() mutable {
      std::move(handler)(failure, std::move(stored));
    });
  }
  --in_flight_;
  schedule();
}

}  // namespace tracker::redis
