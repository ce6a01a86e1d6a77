#include "http/ops_routes.hpp"

#include "http/query.hpp"

#include <boost/json.hpp>

namespace tracker::http {

namespace json = boost::json;

namespace {

// Probes and scrapers may add parameters of their own: their names are not checked, but
// their texts are, as everywhere.
Handler checked(Handler handler) {
  return [handler = std::move(handler)](const Request& request, const PathParams& path) -> boost::asio::awaitable<Response> {
    auto params = query_params(request);
    if (auto* error = std::get_if<domain::FieldError>(&params)) co_return invalid(*error);
    co_return co_await handler(request, path);
  };
}

}  // namespace

void add_ops_routes(Router& router, std::vector<ports::HealthProbe*> probes,
                    const metrics::Registry& metrics) {
  router.add(beast_http::verb::get, "/health/live", Access::open,
             checked([](const Request&, const PathParams&) -> boost::asio::awaitable<Response> {
               co_return json_response(Status::ok, json::object{{"status", "UP"}});
             }));
  router.add(beast_http::verb::get, "/health/ready", Access::open,
             checked([probes](const Request&, const PathParams&) -> boost::asio::awaitable<Response> {
               json::object checks;
               bool all_ready = true;
               for (ports::HealthProbe* probe : probes) {
                 bool ready = co_await probe->ready();
                 all_ready = all_ready && ready;
                 checks[probe->name()] = ready ? "UP" : "DOWN";
               }
               json::object body{{"status", all_ready ? "UP" : "DOWN"}, {"checks", checks}};
               Response response = json_response(all_ready ? Status::ok : Status::service_unavailable, body);
               if (!all_ready) response.set(beast_http::field::retry_after, "1");
               co_return response;
             }));
  router.add(beast_http::verb::get, "/metrics", Access::open,
             checked([&metrics](const Request&, const PathParams&) -> boost::asio::awaitable<Response> {
               Response response{Status::ok, 11};
               response.set(beast_http::field::content_type, "text/plain; version=0.0.4");
               response.body() = metrics.render_prometheus();
               co_return response;
             }));
}

}  // namespace tracker::http
