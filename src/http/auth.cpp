#include "http/auth.hpp"

#include <boost/url/parse.hpp>

namespace tracker::http {

namespace {

constexpr std::string_view kApiKeyHeader = "X-Api-Key";

std::string_view bearer_token(const Request& request) {
  auto found = request.find(beast_http::field::authorization);
  if (found == request.end()) return {};
  std::string_view value(found->value());
  // The scheme is case-insensitive (RFC 9110, 11.1).
  if (value.size() < 7) return {};
  std::string_view scheme = value.substr(0, 7);
  constexpr std::string_view kBearer = "bearer ";
  for (std::size_t i = 0; i < kBearer.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(scheme[i])) != kBearer[i]) return {};
  }
  value.remove_prefix(7);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  return value;
}

std::string_view header_key(const Request& request) {
  auto found = request.find(kApiKeyHeader);
  if (found == request.end()) return {};
  return std::string_view(found->value());
}

std::string_view query_key(const Request& request, std::string& scratch) {
  std::string_view target = request.target();
  if (target.find("apiKey=") == std::string_view::npos) return {};
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return {};
  auto params = url->params();
  auto found = params.find("apiKey");
  if (found == params.end() || !(*found).has_value) return {};
  scratch = (*found).value;
  return scratch;
}

domain::KeyScope needed_scope(Access access) {
  switch (access) {
    case Access::read: return domain::KeyScope::read;
    case Access::admin: return domain::KeyScope::admin;
    default: return domain::KeyScope::write;
  }
}

Response unauthenticated(std::string_view message) {
  Response answer = error_response(Status::unauthorized, "UNAUTHENTICATED", message);
  answer.set(beast_http::field::www_authenticate, "Bearer realm=\"event-tracker\"");
  return answer;
}

}  // namespace

std::string_view presented_key(const Request& request, Access access, std::string& scratch) {
  if (access == Access::write) {
    if (auto key = header_key(request); !key.empty()) return key;
    if (auto key = query_key(request, scratch); !key.empty()) return key;
    return bearer_token(request);
  }
  if (auto key = bearer_token(request); !key.empty()) return key;
  return header_key(request);
}

AuthGate::AuthGate(const app::KeyRing& ring, metrics::Registry& metrics)
    : ring_(ring),
      unauthenticated_(metrics.counter("tracker_auth_refused_total", "Requests refused by the API key check",
                                       "reason=\"unauthenticated\"")),
      forbidden_scope_(metrics.counter("tracker_auth_refused_total", "Requests refused by the API key check",
                                       "reason=\"forbidden_scope\"")),
      origin_not_allowed_(metrics.counter("tracker_auth_refused_total", "Requests refused by the API key check",
                                          "reason=\"origin_not_allowed\"")),
      unavailable_(metrics.counter("tracker_auth_refused_total", "Requests refused by the API key check",
                                   "reason=\"keys_unavailable\"")) {}

boost::asio::awaitable<std::optional<Response>> AuthGate::admit(const Request& request, Caller& caller,
                                                                Access access) const {
  co_return check(request, caller, access);
}

std::optional<Response> AuthGate::check(const Request& request, Caller& caller, Access access) const {
  if (access == Access::open) return std::nullopt;
  std::shared_ptr<const app::KeySet> keys = ring_.current();
  if (!keys) {
    unavailable_.inc();
    Response answer = error_response(Status::service_unavailable, "KEYS_UNAVAILABLE",
                                     "the server has not loaded its API keys yet; retry shortly");
    answer.set(beast_http::field::retry_after, "2");
    return answer;
  }
  std::string scratch;
  std::string_view presented = presented_key(request, access, scratch);
  if (presented.empty()) {
    unauthenticated_.inc();
    return unauthenticated(access == Access::write
                               ? "an API key is required: send a write key in X-Api-Key (or ?apiKey= for beacons)"
                               : "an API key is required: send it as Authorization: Bearer <key>");
  }
  const domain::ApiKey* key = nullptr;
  if (domain::key_shape(presented)) {
    // A connection's requests, and most of a thread's, carry the same key: its hash is
    // kept per thread rather than computed for every request.
    thread_local std::string last_key;
    thread_local domain::KeyHash last_hash{};
    if (presented != last_key) {
      last_hash = domain::hash_key(presented);
      last_key.assign(presented);
    }
    auto found = keys->find(last_hash);
    if (found != keys->end()) key = &found->second;
  }
  if (!key) {
    unauthenticated_.inc();
    return unauthenticated("the API key is not valid (unknown or revoked)");
  }
  domain::KeyScope needed = needed_scope(access);
  if (!key->covers(needed)) {
    forbidden_scope_.inc();
    return error_response(Status::forbidden, "FORBIDDEN_SCOPE",
                          "this route needs a " + std::string(domain::to_string(needed)) + " key; this is a " +
                              std::string(domain::to_string(key->scope)) + " key");
  }
  if (access == Access::write && !key->allowed_origins.empty()) {
    auto origin = request.find(beast_http::field::origin);
    if (origin == request.end() || !key->allows_origin(std::string_view(origin->value()))) {
      origin_not_allowed_.inc();
      return error_response(Status::forbidden, "ORIGIN_NOT_ALLOWED",
                            "this API key may not be used from this origin");
    }
  }
  caller.key_name = key->name;
  return std::nullopt;
}

}  // namespace tracker::http
