#pragma once
#include "domain/token_bucket.hpp"

#include <boost/asio/awaitable.hpp>

#include <span>
#include <string>
#include <vector>

namespace tracker::ports {

// One token bucket a request draws from: its identity ("ip:203.0.113.7", "key:shop")
// and its limit.
struct RateBucket {
  std::string key;
  domain::RateLimit limit;
};

// Token buckets (GCRA, domain/token_bucket.hpp) kept by a store: in this process, or in
// Redis so that a limit holds across all server instances. A request takes one token from
// each of its buckets, or from none when any of them is empty. The decisions are in the
// buckets' order, each as if its bucket were alone (so an allowed one next to a refusal
// says what it would have left). Failures are ports::StoreError subclasses.
class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  virtual boost::asio::awaitable<std::vector<domain::RateDecision>> take(std::span<const RateBucket> buckets) = 0;
};

}  // namespace tracker::ports
