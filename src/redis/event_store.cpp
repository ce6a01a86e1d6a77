#include "redis/event_store.hpp"

#include "domain/event_record.hpp"
#include "domain/time_format.hpp"
#include "ports/errors.hpp"
#include "redis/lua_scripts.hpp"

namespace tracker::redis {

namespace {
constexpr std::size_t kFieldsPerEvent = 11;

std::string optional_number(const std::optional<std::int64_t>& value) {
  return value ? std::to_string(*value) : std::string();
}
}  // namespace

EventStore::EventStore(std::shared_ptr<Connection> connection, EventStoreOptions options,
                       metrics::Registry& metrics)
    : connection_(std::move(connection)),
      options_(options),
      script_(lua::ingest),
      backlog_rejections_(metrics.counter(
          "tracker_ingest_rejected_total", "Events refused to protect the system",
          "reason=\"backlog_high_water\"")),
      duplicates_(metrics.counter("tracker_ingest_duplicates_total",
                                  "Events acknowledged as repeats of a known client eventId")) {}

asio::awaitable<std::vector<ports::StoredEvent>> EventStore::append(
    std::span<const domain::Event> events) {
  // The values must outlive the command; the views passed to the script point into them.
  std::vector<std::string> values;
  values.reserve(3 + events.size() * kFieldsPerEvent);
  values.push_back(std::to_string(options_.recent_keywords_ttl.count()));
  values.push_back(std::to_string(options_.backlog_high_water));
  values.push_back(std::to_string(events.size()));
  for (const domain::Event& event : events) {
    values.push_back(event.id);
    values.push_back(event.client_event_id.value_or(""));
    values.emplace_back(domain::to_string(event.type));
    values.push_back(optional_number(event.user_id));
    values.push_back(std::to_string(event.component_id));
    values.push_back(optional_number(event.post_id));
    values.push_back(event.keyword.value_or(""));
    values.push_back(std::to_string(domain::bucket_start(event.event_time_ms, domain::kMinuteMs)));
    values.push_back(std::to_string(domain::bucket_start(event.event_time_ms, domain::kHourMs)));
    values.push_back(domain::format_rfc3339_ms(event.event_time_ms).substr(0, 10));
    values.push_back(domain::to_copy_row(event));
  }
  std::vector<std::string_view> args(values.begin(), values.end());

  Reply reply = co_await script_.run(*connection_, {}, args, options_.timeout);
  if (reply.is_error()) {
    if (reply.text.starts_with("BACKLOG")) {
      backlog_rejections_.inc(events.size());
      throw ports::Overloaded("backlog_high_water",
                              "too many events are waiting to be persisted; retry later");
    }
    throw ports::StoreRejected("redis rejected the ingest script: " + reply.text);
  }
  if (reply.type != Reply::Type::Array || reply.elements.size() != events.size()) {
    throw ports::StoreRejected("unexpected reply from the ingest script");
  }
  std::vector<ports::StoredEvent> stored;
  stored.reserve(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    bool duplicate = reply.elements[i].text != events[i].id;
    if (duplicate) duplicates_.inc();
    stored.push_back({std::move(reply.elements[i].text), duplicate});
  }
  co_return stored;
}

}  // namespace tracker::redis
