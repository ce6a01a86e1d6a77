#pragma once
#include "http/router.hpp"

namespace tracker::http {

// GET /openapi.yaml: the API contract (docs/openapi.yaml), embedded at build time so the
// document served is always the one the binary was built with.
void add_static_routes(Router& router);

}  // namespace tracker::http
