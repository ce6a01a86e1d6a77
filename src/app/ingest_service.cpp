#include "app/ingest_service.hpp"

#include "domain/json_text.hpp"

#include <boost/json/array.hpp>

#include <chrono>

namespace tracker::app {

std::int64_t system_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

IngestService::IngestService(ports::EventStore& store, metrics::Registry& metrics,
                             domain::ValidationLimits limits, Clock clock)
    : store_(store),
      limits_(limits),
      clock_(std::move(clock)),
      accepted_(metrics.counter("tracker_events_accepted_total",
                                "Events acknowledged (stored durably in Redis)")),
      invalid_(metrics.counter("tracker_events_invalid_total", "Events rejected by validation")) {}

boost::asio::awaitable<std::variant<domain::FieldError, ports::StoredEvent>> IngestService::ingest(
    const boost::json::value& body, std::string_view source) {
  auto validated = domain::validate_event(body, source, clock_(), limits_);
  if (auto* error = std::get_if<domain::FieldError>(&validated)) {
    invalid_.inc();
    co_return *error;
  }
  co_return co_await record(std::move(std::get<domain::Event>(validated)));
}

boost::asio::awaitable<ports::StoredEvent> IngestService::record(domain::Event event) {
  event.id = ids_.next(event.server_time_ms);
  auto stored = co_await store_.append(std::span<const domain::Event>(&event, 1));
  accepted_.inc();
  co_return std::move(stored.front());
}

boost::asio::awaitable<std::variant<domain::FieldError, BatchOutcome>> IngestService::ingest_batch(
    const boost::json::value& body, std::string_view source) {
  auto envelope = domain::validate_batch_envelope(body, limits_);
  if (auto* error = std::get_if<domain::FieldError>(&envelope)) {
    invalid_.inc();
    co_return *error;
  }
  const domain::BatchEnvelope& batch = std::get<domain::BatchEnvelope>(envelope);
  const boost::json::array& items = *batch.events;
  const std::vector<std::string_view> texts =
      domain::json_text::elements(domain::json_text::member(source, "events").value_or(""));
  std::int64_t now = clock_();
  BatchOutcome outcome;
  std::vector<domain::Event> events;
  events.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    // The texts always match the array; if they ever did not, validation refuses the event.
    auto validated = domain::validate_event(items[i], i < texts.size() ? texts[i] : std::string_view(), now, limits_,
                                             batch.sent_at_ms);
    if (auto* error = std::get_if<domain::FieldError>(&validated)) {
      outcome.rejected.push_back({i, std::move(*error)});
      continue;
    }
    auto& event = events.emplace_back(std::move(std::get<domain::Event>(validated)));
    event.id = ids_.next(now);
    outcome.stored_indexes.push_back(i);
  }
  invalid_.inc(outcome.rejected.size());
  if (!events.empty()) {
    outcome.stored = co_await store_.append(events);
    accepted_.inc(events.size());
  }
  co_return outcome;
}

}  // namespace tracker::app
