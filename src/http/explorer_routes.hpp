#pragma once
#include "app/event_explorer.hpp"
#include "http/router.hpp"

namespace tracker::http {

// GET /api/events: stored events, newest first, filtered, one page per call
// ({"events": [...], "nextCursor": "..." or null}).
void add_explorer_routes(Router& router, app::EventExplorer& explorer);

}  // namespace tracker::http
