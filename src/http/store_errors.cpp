#include "http/store_errors.hpp"

namespace tracker::http {

Response store_error_response(const ports::StoreError& error) {
  Response response;
  if (auto* overloaded = dynamic_cast<const ports::Overloaded*>(&error)) {
    response = error_response(Status::service_unavailable, "OVERLOADED",
                              overloaded->reason() + ": " + overloaded->what());
  } else if (dynamic_cast<const ports::StoreUnavailable*>(&error)) {
    response = error_response(Status::service_unavailable, "STORE_UNAVAILABLE",
                              "a backing store is unavailable; retry later");
  } else {
    return error_response(Status::internal_server_error, "INTERNAL", error.what());
  }
  response.set(beast_http::field::retry_after, "1");
  return response;
}

}  // namespace tracker::http
