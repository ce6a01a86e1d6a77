#include "redis/rate_limiter.hpp"

#include "ports/errors.hpp"
#include "redis/keys.hpp"
#include "redis/lua_scripts.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace tracker::redis {

RateLimiter::RateLimiter(std::shared_ptr<Commands> connection, metrics::Registry& metrics,
                         RateLimiterOptions options)
    : connection_(std::move(connection)),
      options_(options),
      script_(lua::rate_limit),
      script_calls_(metrics.counter("tracker_rate_limit_script_calls_total",
                                    "Rate limit script calls in Redis (each decides a group of requests)")) {}

asio::awaitable<std::vector<domain::RateDecision>> RateLimiter::take(std::span<const ports::RateBucket> buckets) {
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>,
                                          void(std::exception_ptr, std::vector<domain::RateDecision>)>(
      [this, buckets](Handler handler) { add(buckets, std::move(handler)); }, asio::use_awaitable);
}

void RateLimiter::add(std::span<const ports::RateBucket> buckets, Handler handler) {
  if (open_.requests.size() >= std::max<std::size_t>(options_.max_group, 1)) {
    full_.push_back(std::exchange(open_, Group{}));
  }
  // Moved in at construction, as EventStore's waiters are: assigning the handler to a
  // default-constructed Request recursed without end inside Boost 1.81's
  // any_completion_handler (a stack overflow on the first request).
  Request& request = open_.requests.emplace_back(Request{{}, std::move(handler)});
  for (const ports::RateBucket& bucket : buckets) {
    std::string key = keys::rate_bucket(bucket.key);
    auto [it, added] = open_.place.try_emplace(key, static_cast<std::uint32_t>(open_.keys.size() + 1));
    if (added) {
      open_.keys.push_back(std::move(key));
      open_.limits.push_back(std::to_string(bucket.limit.interval_us));
      open_.limits.push_back(std::to_string(bucket.limit.burst));
    }
    request.buckets.push_back(it->second);
  }
  open_.answers += buckets.size();
  schedule();
}

void RateLimiter::schedule() {
  const std::size_t max_in_flight = std::max<std::size_t>(options_.max_groups_in_flight, 1);
  if (send_posted_ || in_flight_ >= max_in_flight) return;
  if (full_.empty() && open_.requests.empty()) return;
  send_posted_ = true;
  asio::post(connection_->executor(), [this, max_in_flight] {
    send_posted_ = false;
    while (in_flight_ < max_in_flight) {
      Group group;
      if (!full_.empty()) {
        group = std::move(full_.front());
        full_.pop_front();
      } else if (!open_.requests.empty()) {
        group = std::exchange(open_, Group{});
      } else {
        break;
      }
      ++in_flight_;
      asio::co_spawn(connection_->executor(), send(std::move(group)), asio::detached);
    }
  });
}

asio::awaitable<void> RateLimiter::send(Group group) {
  std::vector<std::string> requests;  // per request: its bucket count, then its places
  for (const Request& request : group.requests) {
    requests.push_back(std::to_string(request.buckets.size()));
    for (std::uint32_t place : request.buckets) requests.push_back(std::to_string(place));
  }
  std::vector<std::string_view> script_keys(group.keys.begin(), group.keys.end());
  std::vector<std::string_view> args(group.limits.begin(), group.limits.end());
  args.insert(args.end(), requests.begin(), requests.end());
  script_calls_.inc();

  std::exception_ptr failure;
  Reply reply;
  try {
    reply = co_await script_.run(*connection_, script_keys, args, options_.timeout);
    bool well_formed = reply.type == Reply::Type::Array && reply.elements.size() == 4 * group.answers &&
                       std::all_of(reply.elements.begin(), reply.elements.end(),
                                   [](const Reply& field) { return field.type == Reply::Type::Integer; });
    if (!well_formed) throw ports::StoreRejected("unexpected reply from the rate limit script");
  } catch (...) {
    failure = std::current_exception();
  }
  std::size_t next = 0;
  for (Request& request : group.requests) {
    std::vector<domain::RateDecision> decisions;
    if (!failure) {
      decisions.resize(request.buckets.size());
      for (domain::RateDecision& decision : decisions) {
        const Reply* fields = &reply.elements[4 * next++];
        decision.allowed = fields[0].integer == 1;
        decision.remaining = fields[1].integer;
        decision.retry_after_us = fields[2].integer;
        decision.reset_us = fields[3].integer;
      }
    }
    // Posted, so that each waiting request resumes from the event loop, not from here.
    asio::post(connection_->executor(), [handler = std::move(request.handler), failure,
                                         decisions = std::move(decisions)]() mutable {
      std::move(handler)(failure, std::move(decisions));
    });
  }
  --in_flight_;
  schedule();
}

}  // namespace tracker::redis
