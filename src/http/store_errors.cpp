#include "http/store_errors.hpp"

#include "domain/event_validation.hpp"

#include <spdlog/spdlog.h>

namespace tracker::http {

Response store_error_response(const ports::StoreError& error) {
  Response response;
  if (auto* overloaded = dynamic_cast<const ports::Overloaded*>(&error)) {
    response = error_response(Status::service_unavailable, "OVERLOADED",
                              overloaded->reason() + ": " + overloaded->what());
  } else if (dynamic_cast<const ports::NotReplicated*>(&error)) {
    response = error_response(Status::service_unavailable, "NOT_REPLICATED",
                              "stored, but not yet on enough replicas; retry with the same eventId");
  } else {
    response = error_response(Status::service_unavailable, "STORE_UNAVAILABLE",
                              "a backing store is unavailable; retry later");
  }
  response.set(beast_http::field::retry_after, "1");
  return response;
}

Response failure_response(const Request& request, std::exception_ptr failure) {
  auto where = [&request] { return std::string(request.method_string()) + " " + std::string(request.target()); };
  try {
    std::rethrow_exception(failure);
  } catch (const domain::FieldError& error) {
    return error_response(Status::bad_request, error.code, error.message, error.field);
  } catch (const ports::StoreRejected& error) {
    // Not the client's doing, nor passing: a bug of ours or a store set up wrongly.
    spdlog::error("http: {}: a store refused: {}", where(), error.what());
    return store_error_response(error);
  } catch (const ports::StoreError& error) {
    spdlog::debug("http: {}: {}", where(), error.what());
    return store_error_response(error);
  } catch (const std::exception& error) {
    spdlog::error("http: {} failed: {}", where(), error.what());
  } catch (...) {
    spdlog::error("http: {} failed with an exception that is not a std::exception", where());
  }
  return error_response(Status::internal_server_error, "INTERNAL", "the server failed to answer this request");
}

}  // namespace tracker::http
