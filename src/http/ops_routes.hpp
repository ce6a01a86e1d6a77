#pragma once
#include "http/router.hpp"
#include "metrics/metrics.hpp"
#include "ports/health_probe.hpp"

#include <vector>

namespace tracker::http {

// GET /health/live, GET /health/ready (every probe must answer), GET /metrics.
void add_ops_routes(Router& router, std::vector<ports::HealthProbe*> probes,
                    const metrics::Registry& metrics);

}  // namespace tracker::http
