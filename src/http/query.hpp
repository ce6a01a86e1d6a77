#pragma once
#include "domain/statistics_query.hpp"
#include "http/message.hpp"

#include <variant>

namespace tracker::http {

// The decoded query parameters of a request, held to the rules of texts in bodies: names
// and values must be valid UTF-8 without control characters (a NUL would otherwise cut a
// value short on its way to a store, and PostgreSQL refuses invalid UTF-8). A repeated
// name keeps its last value; empty parameters ("?", "&&", a trailing '&') are left out.
std::variant<domain::QueryParams, domain::FieldError> query_params(const Request& request);

// The same for handlers: a refused parameter is thrown as the domain::FieldError, which
// Router::handle answers with a 400.
domain::QueryParams valid_query_params(const Request& request);

// The 400 answer to a parameter or body field at fault.
Response invalid(const domain::FieldError& error);

}  // namespace tracker::http
