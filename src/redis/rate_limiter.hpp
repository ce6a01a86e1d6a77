#pragma once
#include "ports/rate_limiter.hpp"
#include "redis/commands.hpp"
#include "redis/script.hpp"

namespace tracker::redis {

// Token buckets in Redis (lua/rate_limit.lua), so that a limit holds across all server
// instances: one EVALSHA per request for all of its buckets, measured against Redis's
// clock. A bucket is the string et:rl:<bucket key> (its TAT in µs), expiring once full.
// One per I/O thread.
class RateLimiter final : public ports::RateLimiter {
 public:
  explicit RateLimiter(std::shared_ptr<Commands> connection, milliseconds timeout = milliseconds{1000});

  asio::awaitable<std::vector<domain::RateDecision>> take(std::span<const ports::RateBucket> buckets) override;

 private:
  std::shared_ptr<Commands> connection_;
  milliseconds timeout_;
  Script script_;
};

}  // namespace tracker::redis
