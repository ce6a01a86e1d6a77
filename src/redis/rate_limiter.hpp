#pragma once
#include "metrics/metrics.hpp"
#include "ports/rate_limiter.hpp"
#include "redis/commands.hpp"
#include "redis/script.hpp"

#include <boost/asio/any_completion_handler.hpp>

#include <deque>
#include <unordered_map>

namespace tracker::redis {

struct RateLimiterOptions {
  milliseconds timeout{1000};
  // Requests decided by one script call, at most.
  std::size_t max_group = 256;
  // Script calls of this thread on their way to Redis at once, at most (as EventStore's).
  std::size_t max_groups_in_flight = 2;
};

// Token buckets in Redis (lua/rate_limit.lua), so that a limit holds across all server
// instances, measured against Redis's clock. A bucket is the string et:rl:{rl}:<bucket key>
// (its TAT in µs), expiring once full.
// The requests that arrive on this thread during one turn of its event loop are decided
// by one script call, in arrival order (group commit, as EventStore stores events): a
// call per request would cost Redis about as much as storing the request's event.
// Owned by one I/O thread.
class RateLimiter final : public ports::RateLimiter {
 public:
  RateLimiter(std::shared_ptr<Commands> connection, metrics::Registry& metrics, RateLimiterOptions options = {});

  asio::awaitable<std::vector<domain::RateDecision>> take(std::span<const ports::RateBucket> buckets) override;

 private:
  using Handler = asio::any_completion_handler<void(std::exception_ptr, std::vector<domain::RateDecision>)>;
  struct Request {
    std::vector<std::uint32_t> buckets;  // places in Group::keys, 1-based as the script reads them
    Handler handler;
  };
  struct Group {
    std::vector<std::string> keys;  // distinct bucket keys
    std::vector<std::string> limits;  // interval and burst of each key
    std::unordered_map<std::string, std::uint32_t> place;
    std::deque<Request> requests;  // a deque: any_completion_handler must not move
    std::size_t answers = 0;  // decisions the script returns: one per bucket of each request
  };

  void add(std::span<const ports::RateBucket> buckets, Handler handler);
  void schedule();
  asio::awaitable<void> send(Group group);

  std::shared_ptr<Commands> connection_;
  RateLimiterOptions options_;
  Script script_;
  Group open_;
  std::deque<Group> full_;
  std::size_t in_flight_ = 0;
  bool send_posted_ = false;
  metrics::Counter& script_calls_;  // requests per call = decided requests / calls
};

}  // namespace tracker::redis
