#pragma once
#include "domain/event.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace tracker::app {

// The session id of the events the server records on its own (like toggles, searches).
inline constexpr std::string_view kServerSessionId = "server";

// An event the server itself records, as valid as one a client sent: metadata holds the
// component id and the post id or keyword, like a client's would.
inline domain::Event server_event(domain::EventType type, std::int64_t component_id,
                                  std::optional<std::int64_t> user_id, std::optional<std::int64_t> post_id,
                                  std::optional<std::string> keyword, std::int64_t now_ms) {
  domain::Event event;
  event.type = type;
  event.user_id = user_id;
  event.session_id = std::string(kServerSessionId);
  event.component_id = component_id;
  event.post_id = post_id;
  event.keyword = std::move(keyword);
  event.metadata["componentId"] = component_id;
  if (event.post_id) event.metadata["postId"] = *event.post_id;
  if (event.keyword) event.metadata["keyword"] = *event.keyword;
  event.server_time_ms = now_ms;
  event.event_time_ms = now_ms;
  return event;
}

}  // namespace tracker::app
