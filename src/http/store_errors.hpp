#pragma once
#include "http/message.hpp"
#include "ports/errors.hpp"

#include <exception>

namespace tracker::http {

// The one place where failures become HTTP answers (Router::handle calls it for whatever
// a route throws):
// - domain::FieldError: 400 with its code, message and field;
// - a store protecting itself (ports::Overloaded): 503 OVERLOADED;
// - any other ports::StoreError: 503 STORE_UNAVAILABLE; all 503s carry Retry-After;
// - anything else: 500 INTERNAL.
// Only our own words reach the client; what the store or the exception said (SQL text,
// Redis error text) goes to the log.
Response failure_response(const Request& request, std::exception_ptr failure);
Response store_error_response(const ports::StoreError& error);

}  // namespace tracker::http
