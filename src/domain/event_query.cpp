#include "domain/event_query.hpp"

#include "domain/event_id.hpp"

#include <charconv>

namespace tracker::domain {

namespace {

FieldError bad(const std::string& field, std::string message) { return {"INVALID_VALUE", std::move(message), field}; }

// A text filter: present means not blank, and no longer than anything ingestion accepts.
std::variant<std::optional<std::string>, FieldError> text_param(const QueryParams& params, const std::string& name) {
  auto it = params.find(name);
  if (it == params.end()) return std::optional<std::string>{};
  if (it->second.find_first_not_of(" \t") == std::string::npos) return bad(name, name + " must not be blank");
  if (it->second.size() > 1024) return bad(name, name + " is too long");
  return std::optional<std::string>{it->second};
}

}  // namespace

std::string encode_cursor(const EventCursor& cursor) { return std::to_string(cursor.server_time_us) + "_" + cursor.id; }

std::optional<EventCursor> decode_cursor(std::string_view text) {
  auto sep = text.find('_');
  if (sep == std::string_view::npos || sep == 0) return std::nullopt;
  EventCursor cursor;
  auto [end, error] = std::from_chars(text.data(), text.data() + sep, cursor.server_time_us);
  if (error != std::errc{} || end != text.data() + sep) return std::nullopt;
  std::string_view id = text.substr(sep + 1);
  if (!is_uuid(id)) return std::nullopt;
  cursor.id = std::string(id);
  return cursor;
}

std::variant<EventQuery, FieldError> parse_event_query(const QueryParams& params) {
  if (auto error = reject_unknown(params, {"eventType", "userId", "sessionId", "componentId", "postId", "keyword",
                                           "from", "to", "limit", "cursor"})) {
    return *error;
  }
  EventQuery query;
  if (auto it = params.find("eventType"); it != params.end()) {
    query.type = parse_event_type(it->second);
    if (!query.type) {
      return bad("eventType", "eventType must be one of PAGE_VIEW, SEARCH, CLICK, LIKE, UNLIKE, SCROLL, COMMENT, SHARE");
    }
  }
  if (auto it = params.find("userId"); it != params.end()) {
    std::int64_t user = 0;
    auto [end, error] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), user);
    if (it->second.empty() || error != std::errc{} || end != it->second.data() + it->second.size()) {
      return bad("userId", "userId must be an integer");
    }
    query.user_id = user;
  }
  for (auto [name, target] : {std::pair{"componentId", &query.component_id}, std::pair{"postId", &query.post_id}}) {
    auto id = positive_id(params, name);
    if (auto* error = std::get_if<FieldError>(&id)) return *error;
    *target = std::get<0>(id);
  }
  for (auto [name, target] : {std::pair{"sessionId", &query.session_id}, std::pair{"keyword", &query.keyword}}) {
    auto text = text_param(params, name);
    if (auto* error = std::get_if<FieldError>(&text)) return *error;
    *target = std::get<0>(text);
  }
  for (auto [name, target] : {std::pair{"from", &query.from_ms}, std::pair{"to", &query.to_ms}}) {
    auto time = time_param(params, name);
    if (auto* error = std::get_if<FieldError>(&time)) return *error;
    *target = std::get<0>(time);
  }
  if (query.from_ms && query.to_ms && *query.from_ms >= *query.to_ms) return bad("to", "to must be later than from");
  auto limit = parse_limit(params, kDefaultEventPage, kMaxEventPage);
  if (auto* error = std::get_if<FieldError>(&limit)) return *error;
  query.limit = std::get<std::size_t>(limit);
  if (auto it = params.find("cursor"); it != params.end()) {
    query.after = decode_cursor(it->second);
    if (!query.after) return bad("cursor", "cursor must be a nextCursor of an earlier answer");
  }
  return query;
}

}  // namespace tracker::domain
