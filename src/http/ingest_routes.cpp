#include "http/ingest_routes.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace tracker::http {

namespace json = boost::json;

namespace {

Response validation_error(const domain::FieldError& error) {
  return error_response(Status::bad_request, error.code, error.message, error.field);
}

// The parsed body lives only as long as its request (validation copies what it keeps
// onto the heap), so its memory comes from one arena sized for it: a batch of a hundred
// events is one allocation instead of about a thousand. The server's memory budget
// counts this arena.
std::size_t request_scratch_size(const Request& request) { return json_scratch_size(request.body().size()); }

json::value error_json(const domain::FieldError& error) {
  return error_body(error.code, error.message, error.field).at("error");
}

}  // namespace

void add_ingest_routes(Router& router, app::IngestService& ingest) {
  Handler single = [&ingest](const Request& request, const PathParams&) -> boost::asio::awaitable<Response> {
    json::monotonic_resource scratch(request_scratch_size(request));
    json::value body(&scratch);
    Response error;
    if (!parse_json_body(request, body, error, JsonBody::json_or_text)) co_return error;
    auto outcome = co_await ingest.ingest(body, request.body());
    if (auto* invalid = std::get_if<domain::FieldError>(&outcome)) co_return validation_error(*invalid);
    const auto& stored = std::get<ports::StoredEvent>(outcome);
    json::object answer{{"eventId", stored.event_id}};
    if (stored.duplicate) answer["duplicate"] = true;
    co_return json_response(Status::accepted, answer);
  };
  // Both take text/plain too: navigator.sendBeacon sends the JSON as a string.
  router.add(beast_http::verb::post, "/api/events", Access::write, single);
  router.add(beast_http::verb::post, "/api/users/events", Access::write, single);

  router.add(beast_http::verb::post, "/api/events/batch", Access::write,
             [&ingest](const Request& request, const PathParams&) -> boost::asio::awaitable<Response> {
               json::monotonic_resource scratch(request_scratch_size(request));
               json::value body(&scratch);
               Response error;
               if (!parse_json_body(request, body, error, JsonBody::json_or_text)) co_return error;
               auto outcome = co_await ingest.ingest_batch(body, request.body());
               if (auto* invalid = std::get_if<domain::FieldError>(&outcome)) {
                 co_return validation_error(*invalid);
               }
               const auto& batch = std::get<app::BatchOutcome>(outcome);
               json::array rejected;
               for (const auto& r : batch.rejected) {
                 rejected.push_back(json::object{{"index", r.index}, {"error", error_json(r.error)}});
               }
               json::array ids;
               std::size_t duplicates = 0;
               for (const auto& stored : batch.stored) {
                 ids.push_back(json::string(stored.event_id));
                 if (stored.duplicate) ++duplicates;
               }
               json::object answer{{"accepted", batch.stored.size()},
                                   {"duplicates", duplicates},
                                   {"rejected", std::move(rejected)},
                                   {"eventIds", std::move(ids)}};
               if (batch.stored.empty()) {
                 answer["error"] = error_body("NO_VALID_EVENTS", "no event in the batch is valid").at("error");
                 co_return json_response(Status::bad_request, answer);
               }
               co_return json_response(Status::accepted, answer);
             });
}

}  // namespace tracker::http
