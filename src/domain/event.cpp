#include "domain/event.hpp"

#include <algorithm>
#include <cctype>

namespace tracker::domain {

std::string_view to_string(EventType type) {
  switch (type) {
    case EventType::PageView: return "PAGE_VIEW";
    case EventType::Search: return "SEARCH";
    case EventType::Click: return "CLICK";
    case EventType::Like: return "LIKE";
    case EventType::Unlike: return "UNLIKE";
    case EventType::Scroll: return "SCROLL";
    case EventType::Comment: return "COMMENT";
    case EventType::Share: return "SHARE";
  }
  return "UNKNOWN";
}

std::optional<EventType> parse_event_type(std::string_view name) {
  for (EventType type : kAllEventTypes) {
    std::string_view canonical = to_string(type);
    if (canonical.size() == name.size() &&
        std::equal(name.begin(), name.end(), canonical.begin(), [](char a, char b) {
          return std::toupper(static_cast<unsigned char>(a)) == b;
        })) {
      return type;
    }
  }
  return std::nullopt;
}

bool requires_post_id(EventType type) {
  return type == EventType::Like || type == EventType::Unlike;
}
bool requires_user_id(EventType type) { return requires_post_id(type); }
bool requires_keyword(EventType type) { return type == EventType::Search; }

}  // namespace tracker::domain
