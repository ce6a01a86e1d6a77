#pragma once
#include "http/message.hpp"
#include "ports/errors.hpp"

namespace tracker::http {

// The one place where store failures become HTTP answers: 503 with Retry-After while a
// store is unavailable or protecting itself, 500 for a store that refused our request.
Response store_error_response(const ports::StoreError& error);

}  // namespace tracker::http
