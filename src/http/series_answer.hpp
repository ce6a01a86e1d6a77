#pragma once
#include "app/statistics_service.hpp"
#include "domain/statistics_query.hpp"

#include <string>
#include <vector>

namespace tracker::http {

// The body of GET /api/statistics/series for `points`, one per bucket of the query's
// range in order, in the query's format.
std::string series_answer(const domain::SeriesQuery& query, const std::vector<app::SeriesPoint>& points);

// format=buckets: {"eventType", "interval", "from", "to", "total", "buckets": [{"start", "count"}, ...]}.
std::string series_json(const domain::SeriesQuery& query, const std::vector<app::SeriesPoint>& points);
// format=columns: the same members up to "total", then "start" (epoch ms of the first
// bucket), "step" (ms) and "counts": [...].
std::string series_columns_json(const domain::SeriesQuery& query, const std::vector<app::SeriesPoint>& points);

}  // namespace tracker::http
