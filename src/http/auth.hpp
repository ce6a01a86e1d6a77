#pragma once
#include "app/key_ring.hpp"
#include "http/router.hpp"
#include "metrics/metrics.hpp"

namespace tracker::http {

// Lets a request to a non-open route pass only with an active API key of the route's scope
// (domain/api_key.hpp), from the process's key ring: no database read per request.
//
// Where the key is looked for, first found wins:
// - write routes: X-Api-Key, then the query parameter apiKey (navigator.sendBeacon cannot
//   set headers), then Authorization: Bearer;
// - read and admin routes: Authorization: Bearer, then X-Api-Key. Not the query string:
//   a read key in a URL would end up in logs and browser histories.
// An admin key passes every route; a write or read key only its own scope's.
//
// Answers: 401 UNAUTHENTICATED (with WWW-Authenticate: Bearer) for a missing, malformed,
// unknown or revoked key, without saying which; 403 FORBIDDEN_SCOPE for a key of another
// scope; 403 ORIGIN_NOT_ALLOWED for a write key that lists origins when the request's
// Origin is not one of them (a request without Origin too: such a key is for browser
// pages); 503 KEYS_UNAVAILABLE while the ring has never loaded keys. The gate names the
// key in the Caller for the gates after it (the per-key rate limit).
class AuthGate final : public Gate {
 public:
  AuthGate(const app::KeyRing& ring, metrics::Registry& metrics);
  boost::asio::awaitable<std::optional<Response>> admit(const Request& request, Caller& caller,
                                                       Access access) const override;
  // The same without the coroutine, for tests and the gate itself.
  std::optional<Response> check(const Request& request, Caller& caller, Access access) const;

 private:
  const app::KeyRing& ring_;
  metrics::Counter& unauthenticated_;
  metrics::Counter& forbidden_scope_;
  metrics::Counter& origin_not_allowed_;
  metrics::Counter& unavailable_;
};

// The key a request presents for a route of `access`, as the gate looks for it; empty if none.
std::string_view presented_key(const Request& request, Access access, std::string& scratch);

}  // namespace tracker::http
