#include "http/router.hpp"

#include "http/cors.hpp"
#include "http/store_errors.hpp"

#include <boost/url/parse.hpp>

#include <algorithm>
#include <chrono>

namespace tracker::http {

namespace {
std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> segments;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) segments.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return segments;
}

// The pattern as given to add(): "/" and the segments.
std::string joined(const std::vector<std::string>& segments) {
  std::string pattern;
  for (const std::string& segment : segments) pattern += "/" + segment;
  return pattern.empty() ? "/" : pattern;
}

bool match(const std::vector<std::string>& pattern, const std::vector<std::string>& path,
           PathParams& params) {
  if (pattern.size() != path.size()) return false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const std::string& p = pattern[i];
    if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
      params[p.substr(1, p.size() - 2)] = path[i];
    } else if (p != path[i]) {
      return false;
    }
  }
  return true;
}

// HEAD is GET without the body, for a GET that changes nothing.
bool serves(beast_http::verb route_method, beast_http::verb method, Effects effects) {
  return route_method == method ||
         (route_method == beast_http::verb::get && method == beast_http::verb::head && effects == Effects::none);
}
}  // namespace

std::string_view to_string(Access access) {
  switch (access) {
    case Access::open: return "open";
    case Access::write: return "write";
    case Access::read: return "read";
    case Access::admin: return "admin";
  }
  return "open";
}

void Router::add(beast_http::verb method, std::string pattern, Access access, Handler handler, Effects effects) {
  routes_.push_back({method, split_path(pattern), access, std::move(handler), effects});
}

std::vector<Router::Entry> Router::routes() const {
  std::vector<Entry> entries;
  for (const Route& route : routes_) entries.push_back({route.method, joined(route.segments), route.access});
  return entries;
}

void Router::limit_body(std::string pattern, std::size_t bytes) {
  body_limits_.emplace_back(split_path(pattern), bytes);
}

std::size_t Router::body_limit(std::string_view target) const {
  std::string_view path = target.substr(0, target.find('?'));
  for (const auto& [segments, bytes] : body_limits_) {
    // Segment by segment, without allocating: this runs for every request.
    std::size_t at = 0, matched = 0;
    bool same = true;
    while (same && at < path.size()) {
      std::size_t end = path.find('/', at);
      if (end == std::string_view::npos) end = path.size();
      if (end > at) {
        std::string_view part = path.substr(at, end - at);
        const std::string* want = matched < segments.size() ? &segments[matched] : nullptr;
        same = want && (*want == part || (want->size() > 2 && want->front() == '{' && want->back() == '}'));
        ++matched;
      }
      at = end + 1;
    }
    if (same && matched == segments.size()) return bytes;
  }
  return default_body_limit_;
}

std::size_t Router::largest_body_limit() const {
  std::size_t largest = default_body_limit_;
  for (const auto& [segments, bytes] : body_limits_) largest = std::max(largest, bytes);
  return largest;
}

void Router::measure(metrics::Registry& metrics) {
  for (Route& route : routes_) {
    route.duration = &metrics.histogram(
        "tracker_http_route_duration_seconds", "Time a route's handler took to make its answer",
        "method=\"" + std::string(beast_http::to_string(route.method)) + "\",route=\"" +
            joined(route.segments) + "\"");
  }
}

boost::asio::awaitable<Response> Router::handle(const Request& request, Caller caller) const {
  std::optional<Access> matched;
  Response response;
  try {
    response = co_await dispatch(request, caller, matched);
  } catch (...) {
    response = failure_response(request, std::current_exception());
  }
  // Errors too: a page must be able to read a 429 or a 503 and its Retry-After.
  if (cors_ && matched) cors_->add_headers(request, *matched, response);
  co_return response;
}

const Router::Route* Router::find(beast_http::verb method, const std::vector<std::string>& path) const {
  for (const Route& route : routes_) {
    PathParams params;
    if (match(route.segments, path, params) && serves(route.method, method, route.effects)) return &route;
  }
  return nullptr;
}

std::optional<Access> Router::access_of(const Request& request) const {
  auto target = boost::urls::parse_origin_form(request.target());
  if (!target) return std::nullopt;
  const Route* route = find(request.method(), split_path(target->encoded_path()));
  if (!route) return std::nullopt;
  return route->access;
}

void Router::add_cors_headers(const Request& request, Response& response) const {
  if (!cors_) return;
  if (auto access = access_of(request)) cors_->add_headers(request, *access, response);
}

// OPTIONS on a known path: a CORS preflight, or else the methods it accepts.
Response Router::options(const Request& request, const std::vector<std::string>& path) const {
  std::vector<RouteAccess> routes;
  std::string allowed;
  for (const Route& route : routes_) {
    PathParams params;
    if (!match(route.segments, path, params)) continue;
    routes.push_back({route.method, route.access});
    if (!allowed.empty()) allowed += ", ";
    allowed += std::string(beast_http::to_string(route.method));
  }
  if (routes.empty()) return error_response(Status::not_found, "NOT_FOUND", "no such path");
  if (cors_ && Cors::is_preflight(request)) return cors_->preflight(request, routes);
  Response answer{Status::no_content, request.version()};
  answer.set(beast_http::field::allow, allowed + ", OPTIONS");
  return answer;
}

boost::asio::awaitable<Response> Router::run(const Route& route, const Request& request, const PathParams& params,
                                             Caller& caller) const {
  if (route.access != Access::open) {
    for (const Gate* gate : gates_) {
      if (auto refusal = co_await gate->admit(request, caller, route.access)) co_return std::move(*refusal);
    }
  }
  Response response = co_await timed(route, request, params);
  for (auto& [name, value] : caller.answer_headers) response.set(name, value);
  co_return response;
}

boost::asio::awaitable<Response> Router::timed(const Route& route, const Request& request,
                                               const PathParams& params) const {
  if (!route.duration) co_return co_await route.handler(request, params);
  // Timed whether it answers or throws (the failure is answered by handle()).
  struct Timer {
    metrics::Histogram& histogram;
    std::chrono::steady_clock::time_point started;
    ~Timer() { histogram.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()); }
  } timer{*route.duration, std::chrono::steady_clock::now()};
  co_return co_await route.handler(request, params);
}

boost::asio::awaitable<Response> Router::dispatch(const Request& request, Caller& caller,
                                                  std::optional<Access>& matched) const {
  auto target = boost::urls::parse_origin_form(request.target());
  if (!target) {
    co_return error_response(Status::bad_request, "BAD_TARGET", "the request target is not valid");
  }
  std::vector<std::string> path = split_path(target->encoded_path());
  // Before any gate: a preflight carries no credentials.
  if (request.method() == beast_http::verb::options) co_return options(request, path);
  std::string allowed;
  for (const Route& route : routes_) {
    PathParams params;
    if (!match(route.segments, path, params)) continue;
    if (serves(route.method, request.method(), route.effects)) {
      matched = route.access;
      if (cors_) {
        if (auto refusal = cors_->refusal(request, route.access)) co_return std::move(*refusal);
      }
      co_return co_await run(route, request, params, caller);
    }
    if (!allowed.empty()) allowed += ", ";
    allowed += std::string(beast_http::to_string(route.method));
  }
  if (!allowed.empty()) {
    Response response = error_response(Status::method_not_allowed, "METHOD_NOT_ALLOWED",
                                       "this path accepts " + allowed);
    response.set(beast_http::field::allow, allowed);
    co_return response;
  }
  co_return error_response(Status::not_found, "NOT_FOUND", "no such path");
}

}  // namespace tracker::http
