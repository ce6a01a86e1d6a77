#pragma once
#include "ports/rate_limiter.hpp"

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

namespace tracker::app {

// Token buckets in this process, shared by its I/O threads (one mutex): the limits hold
// per server instance. At most `max_buckets` are kept. A bucket whose TAT has passed is
// full, the same as no bucket, so it is dropped when room is needed; when that frees too
// little, the buckets closest to full go too (their clients get a full bucket back).
class LocalRateLimiter final : public ports::RateLimiter {
 public:
  using Clock = std::function<std::int64_t()>;  // microseconds, monotonic
  explicit LocalRateLimiter(std::size_t max_buckets = 100'000, Clock clock = steady_micros);

  boost::asio::awaitable<std::vector<domain::RateDecision>> take(std::span<const ports::RateBucket> buckets) override;
  // The same, without a coroutine (the gate's tests and take() use it).
  std::vector<domain::RateDecision> take_now(std::span<const ports::RateBucket> buckets);
  std::size_t size() const;

  static std::int64_t steady_micros();

 private:
  void make_room(std::int64_t now_us);

  const std::size_t max_buckets_;
  Clock clock_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::int64_t> tats_;  // bucket key -> TAT (µs)
};

}  // namespace tracker::app
