#pragma once
#include "http/message.hpp"
#include "http/router.hpp"

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tracker::http {

// The origins (scheme://host[:port]) a browser page may call a route from: any ("*"), or
// those listed. Origins compare without regard to case.
class OriginList {
 public:
  static OriginList any() { return OriginList(true, {}); }
  // A comma list as --cors-origins takes it ("*" anywhere in it: any; empty: none). The
  // configuration checks the entries (config::validate).
  static OriginList parse(std::string_view comma_list);
  bool allows(std::string_view origin) const;
  bool allows_any() const { return any_; }

 private:
  OriginList(bool any, std::vector<std::string> origins) : any_(any), origins_(std::move(origins)) {}
  bool any_;
  std::vector<std::string> origins_;  // lower case
};

// One route of a path as CORS sees it: a method and who may call it.
struct RouteAccess {
  beast_http::verb method;
  Access access;
};

struct CorsPolicy {
  OriginList write_origins = OriginList::any();            // ingestion and the posts API
  OriginList read_origins = OriginList::parse("");         // statistics and admin routes
  std::chrono::seconds max_age{600};                       // how long a browser reuses a preflight
};

// Cross-origin requests from browsers (the Fetch standard's CORS protocol):
// - a preflight (OPTIONS with Origin and Access-Control-Request-Method) is answered here,
//   before any gate, since browsers never send credentials with it;
// - an actual request from an origin its route does not allow is refused (403);
// - answers to allowed origins, errors included, carry Access-Control-Allow-Origin, so
//   that a page can read a 429 or 503 and its Retry-After.
// Open routes (health, metrics, built-in files) answer any origin with "*".
// Requests without Origin (servers, curl, same-origin GETs) pass untouched.
class Cors {
 public:
  explicit Cors(CorsPolicy policy) : policy_(std::move(policy)) {}

  static bool is_preflight(const Request& request);
  // The answer to a preflight for a path whose routes are `routes` (at least one).
  Response preflight(const Request& request, std::span<const RouteAccess> routes) const;
  // For an actual request to a route of `access`: a 403 when its Origin may not call it.
  std::optional<Response> refusal(const Request& request, Access access) const;
  // Adds the CORS headers an answer to `request` carries.
  void add_headers(const Request& request, Access access, Response& response) const;

  const CorsPolicy& policy() const { return policy_; }

 private:
  const OriginList* origins_for(Access access) const;
  CorsPolicy policy_;
};

}  // namespace tracker::http
