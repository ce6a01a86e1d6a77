#pragma once
#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tracker::domain {

enum class EventType { PageView, Search, Click, Like, Unlike, Scroll, Comment, Share };

inline constexpr EventType kAllEventTypes[] = {
    EventType::PageView, EventType::Search,  EventType::Click,   EventType::Like,
    EventType::Unlike,   EventType::Scroll,  EventType::Comment, EventType::Share};

std::string_view to_string(EventType type);
// Case-insensitive, as the contract requires.
std::optional<EventType> parse_event_type(std::string_view name);

bool requires_post_id(EventType type);   // LIKE, UNLIKE
bool requires_user_id(EventType type);   // LIKE, UNLIKE
bool requires_keyword(EventType type);   // SEARCH

// A validated event, ready to be stored. Times are milliseconds since the Unix epoch.
struct Event {
  std::string id;  // time-ordered UUIDv7 assigned by the server
  EventType type{};
  std::optional<std::int64_t> user_id;
  std::string session_id;
  std::int64_t component_id = 0;
  std::optional<std::string> element_id;
  std::optional<std::int64_t> post_id;
  std::optional<std::string> keyword;
  boost::json::object metadata;           // everything the client sent under "metadata"
  // The metadata's JSON text as stored: the client's own (numbers exactly as written);
  // empty for an event built in memory, whose `metadata` is then serialized.
  std::string metadata_text;
  std::optional<std::string> client_event_id;  // for 24 h de-duplication
  std::optional<std::int64_t> client_time_ms;  // as sent, when it parsed
  std::int64_t server_time_ms = 0;             // when the server received it
  std::int64_t event_time_ms = 0;  // client time when plausible, else server time; buckets counters
};

}  // namespace tracker::domain
