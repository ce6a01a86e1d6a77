#pragma once
#include "domain/event.hpp"

#include <string>
#include <string_view>

namespace tracker::domain {

// The durable record of an event, as it waits in the Redis stream: one line of
// PostgreSQL COPY text format, so the flusher streams it into `events` unparsed.
// The flusher appends the stream entry id as the last column.
inline constexpr std::string_view kEventRecordColumns =
    "id, event_type, user_id, session_id, component_id, element_id, post_id, keyword, "
    "metadata, client_time, server_time";

// Without the trailing newline.
std::string to_copy_row(const Event& event);

// Appends `text` escaped for COPY text format (backslash, tab, newline, carriage return).
void append_copy_escaped(std::string& out, std::string_view text);

}  // namespace tracker::domain
