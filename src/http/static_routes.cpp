#include "http/static_routes.hpp"

#include "http/static_files.hpp"

namespace tracker::http {

namespace {

Handler serve(std::string_view content_type, std::string_view body) {
  return [content_type, body](const Request&, const PathParams&) -> boost::asio::awaitable<Response> {
    Response response{Status::ok, 11};
    response.set(beast_http::field::content_type, content_type);
    response.body() = body;
    co_return response;
  };
}

}  // namespace

void add_static_routes(Router& router) {
  router.add(beast_http::verb::get, "/openapi.yaml", serve("application/yaml", static_files::openapi));
}

}  // namespace tracker::http
