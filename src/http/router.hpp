#pragma once
#include "http/message.hpp"
#include "metrics/metrics.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tracker::http {

class Cors;

// Values of the {placeholders} of a matched path pattern.
using PathParams = std::map<std::string, std::string, std::less<>>;
using Handler = std::function<boost::asio::awaitable<Response>(const Request&, const PathParams&)>;

// Whether a route changes anything. HEAD is GET without the body, so it runs only a GET
// route that changes nothing; a GET that records something (a search records a SEARCH
// event) answers HEAD 405.
enum class Effects { none, changes_state };

// Who may call a route. `open` routes (health, metrics, the built-in files) answer anyone;
// the others need an API key of their scope (http/auth): `write` for ingestion and the
// posts API, `read` for statistics, rankings and the event explorer, `admin` for deletion.
// Browsers on any origin may write; read and admin answer only listed origins (CORS).
enum class Access { open, write, read, admin };
std::string_view to_string(Access access);

// The client of one request as the gates see it: the connection's peer, the address the
// request is from (a trusted proxy's X-Forwarded-For may tell another), and what the
// gates learned (the API key that authenticated it).
struct Caller {
  boost::asio::ip::address peer;
  boost::asio::ip::address client;
  std::string key_name;  // empty until a gate authenticates a key
  // Headers a gate adds to the route's answer when it lets the request pass (RateLimit-*).
  std::vector<std::pair<std::string, std::string>> answer_headers{};
};

// Runs before a matched route's handler and may answer instead of it (401, 403, 429).
// Gates run in the order they were added; an earlier one may fill in the Caller.
class Gate {
 public:
  virtual ~Gate() = default;
  virtual boost::asio::awaitable<std::optional<Response>> admit(const Request& request, Caller& caller,
                                                               Access access) const = 0;
};

// Maps method + path to handlers. Patterns are literal segments and {name} segments.
// An unknown path is a 404, a known path with another method a 405 with Allow.
//
// Handlers throw what they cannot answer; handle() catches it, the one place where
// failures become answers (failure_response in store_errors.hpp).
class Router {
 public:
  void add(beast_http::verb method, std::string pattern, Access access, Handler handler,
           Effects effects = Effects::none);
  // Gates run for every route but the open ones; the router does not own them.
  void add_gate(const Gate& gate) { gates_.push_back(&gate); }
  // Answers preflights and cross-origin requests by `cors` (http/cors.hpp) from now on;
  // without it OPTIONS is answered with Allow only and no answer carries CORS headers.
  void set_cors(const Cors& cors) { cors_ = &cors; }
  // Adds the CORS headers to an answer the server gave itself, before the router saw the
  // request (413, 503 of the memory budget, a body that would not inflate).
  void add_cors_headers(const Request& request, Response& response) const;
  // Who may call the route `request` is for; none when no route serves its method and path.
  std::optional<Access> access_of(const Request& request) const;
  boost::asio::awaitable<Response> handle(const Request& request, Caller caller) const;
  // Times every route's handler from now on, in tracker_http_route_duration_seconds with
  // its method and pattern as labels (routers of all I/O threads share the histograms).
  void measure(metrics::Registry& metrics);

  // The largest body a request to `target` may carry: the limit of its route's pattern
  // (limit_body) or the default; past it the server answers 413 without reading it all.
  std::size_t body_limit(std::string_view target) const;
  void limit_body(std::string pattern, std::size_t bytes);
  void set_default_body_limit(std::size_t bytes) { default_body_limit_ = bytes; }
  // The largest of them: the limit while a request's header is read, before its route is
  // known (Beast reserves a declared Content-Length as soon as the header ends).
  std::size_t largest_body_limit() const;

  struct Entry {
    beast_http::verb method;
    std::string pattern;  // as given to add(), e.g. /api/posts/{id}
    Access access;
  };
  // The routes in the order they were added (for --print-routes and the contract test).
  std::vector<Entry> routes() const;

 private:
  struct Route {
    beast_http::verb method;
    std::vector<std::string> segments;
    Access access;
    Handler handler;
    Effects effects;
    metrics::Histogram* duration = nullptr;
  };
  boost::asio::awaitable<Response> dispatch(const Request& request, Caller& caller,
                                           std::optional<Access>& matched) const;
  Response options(const Request& request, const std::vector<std::string>& path) const;
  const Route* find(beast_http::verb method, const std::vector<std::string>& path) const;
  boost::asio::awaitable<Response> run(const Route& route, const Request& request, const PathParams& params,
                                       Caller& caller) const;
  boost::asio::awaitable<Response> timed(const Route& route, const Request& request, const PathParams& params) const;
  std::vector<Route> routes_;
  std::vector<const Gate*> gates_;
  const Cors* cors_ = nullptr;
  std::vector<std::pair<std::vector<std::string>, std::size_t>> body_limits_;
  std::size_t default_body_limit_ = 64 * 1024;
};

}  // namespace tracker::http
