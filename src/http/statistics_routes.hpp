#pragma once
#include "app/statistics_service.hpp"
#include "http/router.hpp"

namespace tracker::http {

// GET /api/statistics and its extensions under /api/statistics/...
void add_statistics_routes(Router& router, app::StatisticsService& statistics);

}  // namespace tracker::http
