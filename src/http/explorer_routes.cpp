#include "http/explorer_routes.hpp"

#include "domain/time_format.hpp"
#include "http/query.hpp"

#include <boost/json.hpp>

namespace tracker::http {

namespace json = boost::json;

namespace {

json::value event_json(const domain::StoredEvent& event) {
  json::object out;
  out["eventId"] = event.id;
  out["eventType"] = event.type;
  out["userId"] = event.user_id ? json::value(*event.user_id) : json::value(nullptr);
  out["sessionId"] = event.session_id;
  out["componentId"] = event.component_id;
  out["elementId"] = event.element_id ? json::value(*event.element_id) : json::value(nullptr);
  out["postId"] = event.post_id ? json::value(*event.post_id) : json::value(nullptr);
  out["keyword"] = event.keyword ? json::value(*event.keyword) : json::value(nullptr);
  json::error_code ec;
  json::value metadata = json::parse(event.metadata_json, ec);
  out["metadata"] = ec ? json::value(json::object{}) : std::move(metadata);
  out["clientTime"] = event.client_time_ms ? json::value(domain::format_rfc3339_ms(*event.client_time_ms))
                                           : json::value(nullptr);
  out["serverTime"] = domain::format_rfc3339_ms(domain::bucket_start(event.server_time_us, 1000) / 1000);
  return out;
}

}  // namespace

void add_explorer_routes(Router& router, app::EventExplorer& explorer) {
  router.add(beast_http::verb::get, "/api/events", Access::read,
             [&explorer](const Request& request, const PathParams&) -> boost::asio::awaitable<Response> {
               auto parsed = domain::parse_event_query(valid_query_params(request));
               if (auto* error = std::get_if<domain::FieldError>(&parsed)) co_return invalid(*error);
               domain::EventPage page = co_await explorer.page(std::get<domain::EventQuery>(parsed));
               json::array events;
               events.reserve(page.events.size());
               for (const auto& event : page.events) events.push_back(event_json(event));
               co_return json_response(
                   Status::ok,
                   json::object{{"events", std::move(events)},
                                {"nextCursor", page.next ? json::value(domain::encode_cursor(*page.next))
                                                         : json::value(nullptr)}});
             });
}

}  // namespace tracker::http
