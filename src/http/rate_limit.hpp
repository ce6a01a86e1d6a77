#pragma once
#include "domain/token_bucket.hpp"
#include "http/router.hpp"
#include "metrics/metrics.hpp"
#include "ports/rate_limiter.hpp"

#include <chrono>

namespace tracker::http {

struct RateLimitOptions {
  domain::RateLimit per_address;  // per client address (IPv6 by /64); off when not enabled()
  domain::RateLimit per_key;      // per write key that authenticated the request
  bool headers_on_allowed = false;  // RateLimit-* on allowed answers too, not only on 429s
};

// Limits requests to write routes (ingestion, the posts API) per client address and per
// API key, one token each from the limiter. A refusal is 429 RATE_LIMITED with Retry-After
// (whole seconds, rounded up) and the RateLimit-Limit, -Remaining, -Reset and -Policy
// headers of draft-ietf-httpapi-ratelimit-headers (the bucket that refused). When the
// limiter's store fails, requests pass (fail open): a limit must not take ingestion down
// with it; tracker_rate_limit_failures_total counts them and the log says so (at most
// once every 10 s per I/O thread).
class RateLimitGate final : public Gate {
 public:
  RateLimitGate(ports::RateLimiter& limiter, RateLimitOptions options, metrics::Registry& metrics);
  boost::asio::awaitable<std::optional<Response>> admit(const Request& request, Caller& caller,
                                                       Access access) const override;
  bool enabled() const { return options_.per_address.enabled() || options_.per_key.enabled(); }

 private:
  void note_failure(const std::exception& error) const;

  ports::RateLimiter& limiter_;
  RateLimitOptions options_;
  metrics::Counter& limited_by_address_;
  metrics::Counter& limited_by_key_;
  metrics::Counter& failures_;
  mutable std::chrono::steady_clock::time_point last_failure_log_{};
};

// The RateLimit-* header values of a decision under `limit` (Retry-After too if refused).
void set_rate_limit_headers(Response& response, const domain::RateLimit& limit, const domain::RateDecision& decision);
std::vector<std::pair<std::string, std::string>> rate_limit_headers(const domain::RateLimit& limit,
                                                                    const domain::RateDecision& decision);

}  // namespace tracker::http
