#pragma once
#include "app/ingest_service.hpp"
#include "http/router.hpp"

namespace tracker::http {

// POST /api/events, POST /api/users/events (the user service's path), POST /api/events/batch.
void add_ingest_routes(Router& router, app::IngestService& ingest);

}  // namespace tracker::http
