#pragma once
#include "domain/event_id.hpp"
#include "domain/event_validation.hpp"
#include "metrics/metrics.hpp"
#include "ports/event_store.hpp"

#include <boost/json/value.hpp>

#include <functional>
#include <variant>

namespace tracker::app {

using Clock = std::function<std::int64_t()>;  // Unix milliseconds
std::int64_t system_now_ms();

struct RejectedEvent {
  std::size_t index;
  domain::FieldError error;
};

struct BatchOutcome {
  std::vector<ports::StoredEvent> stored;  // in the order of the accepted events
  std::vector<std::size_t> stored_indexes;
  std::vector<RejectedEvent> rejected;
};

// Accepting events: validation (domain), id assignment, then the event store.
// One instance per I/O thread (it owns that thread's id generator).
class IngestService {
 public:
  IngestService(ports::EventStore& store, metrics::Registry& metrics,
                domain::ValidationLimits limits = {}, Clock clock = system_now_ms);

  // Store failures propagate as ports::StoreError. `source`: the text `body` was parsed
  // from (metadata is stored as written there).
  boost::asio::awaitable<std::variant<domain::FieldError, ports::StoredEvent>> ingest(
      const boost::json::value& body, std::string_view source);
  boost::asio::awaitable<std::variant<domain::FieldError, BatchOutcome>> ingest_batch(
      const boost::json::value& body, std::string_view source);
  // For events the server itself produces (like toggles, searches): already valid.
  boost::asio::awaitable<ports::StoredEvent> record(domain::Event event);

  std::int64_t now_ms() const { return clock_(); }

 private:
  ports::EventStore& store_;
  domain::ValidationLimits limits_;
  Clock clock_;
  domain::EventIdGenerator ids_;
  metrics::Counter& accepted_;
  metrics::Counter& invalid_;
};

}  // namespace tracker::app
