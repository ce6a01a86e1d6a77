#pragma once
#include "domain/event.hpp"
#include "domain/event_validation.hpp"
#include "domain/statistics_query.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace tracker::domain {

// Where a page of events ended: the (server_time, id) of its last row. Events are listed
// newest first in that order, so the next page is the rows strictly before it.
struct EventCursor {
  std::int64_t server_time_us = 0;  // microseconds since the Unix epoch, as PostgreSQL keeps it
  std::string id;                   // the event's UUID, lower case
};
// Opaque to clients: "<microseconds>_<uuid>".
std::string encode_cursor(const EventCursor& cursor);
std::optional<EventCursor> decode_cursor(std::string_view text);

inline constexpr std::size_t kDefaultEventPage = 50;
inline constexpr std::size_t kMaxEventPage = 500;

// GET /api/events: every filter optional; from inclusive, to exclusive (server time).
struct EventQuery {
  std::optional<EventType> type;
  std::optional<std::int64_t> user_id;
  std::optional<std::string> session_id;
  std::optional<std::int64_t> component_id;
  std::optional<std::int64_t> post_id;
  std::optional<std::string> keyword;
  std::optional<std::int64_t> from_ms, to_ms;
  std::size_t limit = kDefaultEventPage;
  std::optional<EventCursor> after;
};
std::variant<EventQuery, FieldError> parse_event_query(const QueryParams& params);

// An event as PostgreSQL keeps it.
struct StoredEvent {
  std::string id;
  std::string type;
  std::optional<std::int64_t> user_id;
  std::string session_id;
  std::int64_t component_id = 0;
  std::optional<std::string> element_id;
  std::optional<std::int64_t> post_id;
  std::optional<std::string> keyword;
  std::string metadata_json;  // the metadata object as the client sent it
  std::optional<std::int64_t> client_time_ms;
  std::int64_t server_time_us = 0;
};

// One page of a listing and where the next one starts (none after the last page).
struct EventPage {
  std::vector<StoredEvent> events;
  std::optional<EventCursor> next;
};

}  // namespace tracker::domain
