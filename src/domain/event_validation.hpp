#pragma once
#include "domain/event.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace tracker::domain {

// Why one input is rejected. `field` is the JSON path at fault ("metadata.postId"),
// empty when the fault is not one field's.
struct FieldError {
  std::string code;
  std::string message;
  std::string field;
};

struct ValidationLimits {
  std::size_t max_text_length = 256;      // sessionId, elementId, keyword, eventId
  std::size_t max_metadata_fields = 64;
  std::int64_t max_future_skew_ms = 5 * 60'000;      // client clocks run a little fast
  std::int64_t max_past_age_ms = 24 * 3'600'000;     // older client times are implausible
  std::size_t max_batch_events = 1000;
};

// Checks one event object against the ingestion rules of the API contract. On success
// the event carries everything but its id. `now_ms` is the server's receive time.
// `source` is the text `body` was parsed from: the metadata is stored as written there
// (and refused where PostgreSQL could not store it so). Without it, `body` serialized.
// An event's `timestamp` is moved onto the server's clock by its own `sentAt` or else its
// batch's (`batch_sent_at_ms`; see domain/clock_skew.hpp).
std::variant<Event, FieldError> validate_event(const boost::json::value& body, std::string_view source,
                                               std::int64_t now_ms, const ValidationLimits& limits = {},
                                               std::optional<std::int64_t> batch_sent_at_ms = std::nullopt);
std::variant<Event, FieldError> validate_event(const boost::json::value& body,
                                               std::int64_t now_ms,
                                               const ValidationLimits& limits = {});

// The batch envelope {"sentAt"?: client time, "events": [...]}.
struct BatchEnvelope {
  const boost::json::array* events = nullptr;
  std::optional<std::int64_t> sent_at_ms;  // the client's clock when it sent the batch
};
// Checks the batch envelope and returns its parts.
std::variant<BatchEnvelope, FieldError> validate_batch_envelope(const boost::json::value& body,
                                                                const ValidationLimits& limits = {});

}  // namespace tracker::domain
