#include "domain/event_validation.hpp"

#include "domain/clock_skew.hpp"
#include "domain/event_id.hpp"
#include "domain/json_text.hpp"
#include "domain/text.hpp"
#include "domain/time_format.hpp"

#include <boost/json.hpp>

#include <limits>

namespace tracker::domain {

namespace json = boost::json;

namespace {

FieldError missing(const std::string& field) {
  return {"MISSING_FIELD", field + " is required", field};
}
FieldError wrong_type(const std::string& field, std::string_view expected) {
  return {"INVALID_TYPE", field + " must be " + std::string(expected), field};
}
FieldError invalid(const std::string& field, std::string message) {
  return {"INVALID_VALUE", std::move(message), field};
}

// Control characters would corrupt the counter keys and log lines built from these texts.
bool has_control_characters(std::string_view text) {
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7F) return true;
  }
  return false;
}

// JSON integers only: 42 yes; 42.0, "42", 1e3 no. Values past int64 are rejected too.
std::optional<std::int64_t> as_int64(const json::value& value) {
  if (value.is_int64()) return value.get_int64();
  if (value.is_uint64() &&
      value.get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return static_cast<std::int64_t>(value.get_uint64());
  }
  return std::nullopt;
}

const json::value* find_present(const json::object& object, std::string_view key) {
  auto it = object.find(key);
  if (it == object.end() || it->value().is_null()) return nullptr;
  return &it->value();
}

// Reads an optional text field; absent and null are both "not given".
std::variant<std::optional<std::string>, FieldError> optional_text(
    const json::object& object, std::string_view key, std::string field,
    const ValidationLimits& limits) {
  const json::value* value = find_present(object, key);
  if (!value) return std::optional<std::string>{};
  if (!value->is_string()) return wrong_type(field, "a string");
  std::string_view text = value->get_string();
  if (is_blank(text)) return invalid(field, field + " must not be blank");
  if (text.size() > limits.max_text_length) {
    return invalid(field, field + " is longer than " + std::to_string(limits.max_text_length) +
                              " bytes");
  }
  if (has_control_characters(text)) {
    return invalid(field, field + " must not contain control characters");
  }
  return std::optional<std::string>{std::string(text)};
}

std::variant<std::optional<std::int64_t>, FieldError> optional_id(const json::object& object,
                                                                  std::string_view key,
                                                                  std::string field) {
  const json::value* value = find_present(object, key);
  if (!value) return std::optional<std::int64_t>{};
  auto number = as_int64(*value);
  if (!number) {
    if (value->is_number()) return invalid(field, field + " must be an integer in int64 range");
    return wrong_type(field, "an integer");
  }
  if (*number < 1) return invalid(field, field + " must be >= 1");
  return std::optional<std::int64_t>{*number};
}

// PostgreSQL's jsonb cannot hold U+0000; such an event could never be persisted.
bool contains_nul(const json::value& value) {
  switch (value.kind()) {
    case json::kind::string: return value.get_string().find('\0') != json::string::npos;
    case json::kind::array:
      for (const auto& item : value.get_array()) {
        if (contains_nul(item)) return true;
      }
      return false;
    case json::kind::object:
      for (const auto& entry : value.get_object()) {
        if (entry.key().find('\0') != std::string_view::npos || contains_nul(entry.value())) {
          return true;
        }
      }
      return false;
    default: return false;
  }
}

template <class T>
bool failed(const std::variant<T, FieldError>& result) {
  return std::holds_alternative<FieldError>(result);
}

}  // namespace

std::variant<Event, FieldError> validate_event(const json::value& body, std::int64_t now_ms,
                                               const ValidationLimits& limits) {
  return validate_event(body, json::serialize(body), now_ms, limits);
}

namespace {

// sentAt of an event or a batch: absent (or null) is none.
std::variant<std::optional<std::int64_t>, FieldError> read_sent_at(const json::object& object) {
  const json::value* sent_at = find_present(object, "sentAt");
  if (!sent_at) return std::optional<std::int64_t>{};
  auto read = read_client_time(*sent_at);
  if (auto* ms = std::get_if<std::int64_t>(&read)) return std::optional<std::int64_t>{*ms};
  switch (std::get<ClientTimeError>(read)) {
    case ClientTimeError::wrong_type:
      return wrong_type("sentAt", "an RFC 3339 string or an integer of epoch milliseconds");
    case ClientTimeError::unreadable: return invalid("sentAt", "sentAt must be RFC 3339 or epoch milliseconds");
    case ClientTimeError::out_of_range: break;
  }
  return invalid("sentAt", "sentAt is out of range");
}

}  // namespace

std::variant<Event, FieldError> validate_event(const json::value& body, std::string_view source,
                                               std::int64_t now_ms, const ValidationLimits& limits,
                                               std::optional<std::int64_t> batch_sent_at_ms) {
  if (!body.is_object()) return FieldError{"INVALID_BODY", "the event must be a JSON object", ""};
  const json::object& root = body.get_object();
  for (const auto& entry : root) {
    std::string_view key = entry.key();
    if (key != "eventType" && key != "userId" && key != "sessionId" && key != "metadata" &&
        key != "eventId" && key != "timestamp" && key != "sentAt") {
      std::string name(utf8_prefix(key, 64));
      return FieldError{"UNKNOWN_FIELD", "unknown field '" + name + "'", name};
    }
  }

  Event event;

  const json::value* type = find_present(root, "eventType");
  if (!type) return missing("eventType");
  if (!type->is_string()) return wrong_type("eventType", "a string");
  auto parsed_type = parse_event_type(type->get_string());
  if (!parsed_type) {
    return invalid("eventType",
                   "eventType must be one of PAGE_VIEW, SEARCH, CLICK, LIKE, UNLIKE, SCROLL, "
                   "COMMENT, SHARE");
  }
  event.type = *parsed_type;

  auto user_id = optional_id(root, "userId", "userId");
  if (failed(user_id)) return std::get<FieldError>(user_id);
  event.user_id = std::get<0>(user_id);
  if (!event.user_id && requires_user_id(event.type)) {
    return missing("userId");
  }

  const json::value* session = find_present(root, "sessionId");
  if (!session) return missing("sessionId");
  auto session_id = optional_text(root, "sessionId", "sessionId", limits);
  if (failed(session_id)) return std::get<FieldError>(session_id);
  event.session_id = std::move(*std::get<0>(session_id));

  const json::value* metadata = find_present(root, "metadata");
  if (!metadata) return missing("metadata");
  if (!metadata->is_object()) return wrong_type("metadata", "an object");
  const json::object& meta = metadata->get_object();
  if (meta.size() > limits.max_metadata_fields) {
    return invalid("metadata", "metadata has more than " +
                                   std::to_string(limits.max_metadata_fields) + " fields");
  }

  const json::value* component = find_present(meta, "componentId");
  if (!component) return missing("metadata.componentId");
  auto component_id = optional_id(meta, "componentId", "metadata.componentId");
  if (failed(component_id)) return std::get<FieldError>(component_id);
  event.component_id = *std::get<0>(component_id);

  auto element_id = optional_text(meta, "elementId", "metadata.elementId", limits);
  if (failed(element_id)) return std::get<FieldError>(element_id);
  event.element_id = std::move(std::get<0>(element_id));

  auto post_id = optional_id(meta, "postId", "metadata.postId");
  if (failed(post_id)) return std::get<FieldError>(post_id);
  event.post_id = std::get<0>(post_id);
  if (!event.post_id && requires_post_id(event.type)) return missing("metadata.postId");

  // Keywords are normalised as everywhere else (normalize_keyword), so that every spelling
  // of one keyword counts as one. A blank keyword is an error only where the keyword is
  // the point of the event.
  if (const json::value* keyword = find_present(meta, "keyword")) {
    if (!keyword->is_string()) return wrong_type("metadata.keyword", "a string");
    auto normalized = normalize_keyword(keyword->get_string(), limits.max_text_length);
    if (auto* rejection = std::get_if<KeywordRejection>(&normalized)) {
      if (requires_keyword(event.type) || !rejection->blank) {
        return invalid("metadata.keyword", "metadata.keyword " + rejection->reason);
      }
    } else {
      event.keyword = std::move(std::get<std::string>(normalized));
    }
  }
  if (!event.keyword && requires_keyword(event.type)) return missing("metadata.keyword");

  if (contains_nul(*metadata)) {
    return invalid("metadata", "metadata must not contain the character U+0000");
  }
  // Stored as the client wrote it, so numbers keep their digits (a double would not), but
  // only what jsonb takes as written: an acknowledged event must never be refused later.
  std::optional<std::string_view> metadata_text = json_text::member(source, "metadata");
  if (!metadata_text) return invalid("metadata", "metadata could not be read");
  if (auto unstorable = json_text::unstorable(*metadata_text)) {
    return invalid("metadata", "metadata holds '" + std::string(unstorable->substr(0, 40)) +
                                   "', which cannot be stored: numbers must be finite (below 1.8e308 in "
                                   "magnitude) with at most 16383 digits after the point and an exponent "
                                   "within +-16383; strings must not contain U+0000");
  }
  event.metadata = meta;
  event.metadata_text = *metadata_text;

  if (const json::value* id = find_present(root, "eventId")) {
    if (!id->is_string()) return wrong_type("eventId", "a UUID string");
    if (!is_uuid(id->get_string())) return invalid("eventId", "eventId must be a UUID");
    std::string normalized(id->get_string());
    for (char& c : normalized) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    event.client_event_id = std::move(normalized);
  }

  // The event's own sentAt (a single event's) or else its batch's moves its timestamp
  // onto the server's clock (domain/clock_skew.hpp).
  auto own_sent_at = read_sent_at(root);
  if (failed(own_sent_at)) return std::get<FieldError>(own_sent_at);
  std::optional<std::int64_t> sent_at_ms = std::get<0>(own_sent_at);
  if (!sent_at_ms) sent_at_ms = batch_sent_at_ms;
  const ClockSkew skew = sent_at_ms ? skew_of(now_ms, *sent_at_ms) : ClockSkew{};

  event.server_time_ms = now_ms;
  event.event_time_ms = now_ms;
  if (const json::value* timestamp = find_present(root, "timestamp")) {
    auto read = read_client_time(*timestamp);
    if (auto* error = std::get_if<ClientTimeError>(&read)) {
      switch (*error) {
        case ClientTimeError::wrong_type:
          return wrong_type("timestamp", "an RFC 3339 string or an integer of epoch milliseconds");
        case ClientTimeError::unreadable:
          return invalid("timestamp", "timestamp must be RFC 3339 or epoch milliseconds");
        case ClientTimeError::out_of_range: return invalid("timestamp", "timestamp is out of range");
      }
    }
    // Year 1 to 9999 keeps the value printable as a PostgreSQL timestamptz, after the
    // correction too.
    std::optional<std::int64_t> client_ms = on_server_clock(std::get<std::int64_t>(read), skew);
    if (!client_ms) {
      return invalid("timestamp", "timestamp corrected by sentAt falls outside the years 1 to 9999");
    }
    event.client_time_ms = client_ms;
    if (*client_ms <= now_ms + limits.max_future_skew_ms &&
        *client_ms >= now_ms - limits.max_past_age_ms) {
      event.event_time_ms = *client_ms;
    }
  }
  return event;
}

std::variant<BatchEnvelope, FieldError> validate_batch_envelope(const json::value& body,
                                                                const ValidationLimits& limits) {
  if (!body.is_object()) {
    return FieldError{"INVALID_BODY", "the batch must be a JSON object {\"events\": [...]}", ""};
  }
  const json::object& root = body.get_object();
  for (const auto& entry : root) {
    if (entry.key() != "events" && entry.key() != "sentAt") {
      std::string name(utf8_prefix(entry.key(), 64));
      return FieldError{"UNKNOWN_FIELD", "unknown field '" + name + "'", name};
    }
  }
  const json::value* events = find_present(root, "events");
  if (!events) return missing("events");
  if (!events->is_array()) return wrong_type("events", "an array");
  const json::array& array = events->get_array();
  if (array.empty()) return invalid("events", "events must not be empty");
  if (array.size() > limits.max_batch_events) {
    return invalid("events", "a batch holds at most " + std::to_string(limits.max_batch_events) +
                                 " events");
  }
  auto sent_at = read_sent_at(root);
  if (failed(sent_at)) return std::get<FieldError>(sent_at);
  return BatchEnvelope{&array, std::get<0>(sent_at)};
}

}  // namespace tracker::domain
