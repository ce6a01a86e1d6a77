#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

// Rate limiting by the generic cell rate algorithm (GCRA), the token bucket kept as one
// number: the theoretical arrival time (TAT) at which the bucket is full again. A request
// costs one emission interval; it is allowed while the TAT it would leave lies no more than
// burst intervals ahead of now. All times are microseconds on one clock of the caller's
// choosing; the Redis script (redis/lua/rate_limit.lua) does the same arithmetic.
namespace tracker::domain {

// `burst` requests at once, refilled at one per `interval_us` (1 s / rate). A limit with
// burst 0 is off.
struct RateLimit {
  std::int64_t interval_us = 0;
  std::int64_t burst = 0;

  bool enabled() const { return burst > 0 && interval_us > 0; }
  // The time an empty bucket takes to fill: burst x interval.
  std::int64_t window_us() const { return burst * interval_us; }
};

// `per_second` requests a second on average (> 0; the interval is rounded to whole
// microseconds, at least 1), `burst` at once (>= 1).
RateLimit rate_limit(double per_second, std::int64_t burst);

// What one request met.
struct RateDecision {
  bool allowed = true;
  // Requests that could follow at once (0 when refused).
  std::int64_t remaining = 0;
  // When refused: the time until one request would be allowed; 0 when allowed.
  std::int64_t retry_after_us = 0;
  // The time until the bucket is full again.
  std::int64_t reset_us = 0;
  // The TAT to keep: the new one when allowed, the old one (at least now) when refused.
  std::int64_t tat_us = 0;
};

// Takes one request from a bucket whose stored TAT is `tat_us` (0 for a new bucket).
RateDecision take(const RateLimit& limit, std::int64_t tat_us, std::int64_t now_us);

// "RATE" or "RATE/BURST": RATE requests per second (a decimal, 0 = off), BURST a whole
// number >= 1 (default: RATE rounded up, at least 1). nullopt when the text is not one.
struct RateSpec {
  double per_second = 0;
  std::int64_t burst = 0;
};
std::optional<RateSpec> parse_rate_spec(std::string_view text);

}  // namespace tracker::domain
