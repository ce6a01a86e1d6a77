#include "redis/rate_limiter.hpp"

#include "ports/errors.hpp"
#include "redis/keys.hpp"
#include "redis/lua_scripts.hpp"

namespace tracker::redis {

RateLimiter::RateLimiter(std::shared_ptr<Commands> connection, milliseconds timeout)
    : connection_(std::move(connection)), timeout_(timeout), script_(lua::rate_limit) {}

asio::awaitable<std::vector<domain::RateDecision>> RateLimiter::take(std::span<const ports::RateBucket> buckets) {
  std::vector<std::string> texts;  // keys, then interval and burst of each
  texts.reserve(buckets.size() * 3);
  for (const ports::RateBucket& bucket : buckets) texts.push_back(keys::rate_bucket(bucket.key));
  for (const ports::RateBucket& bucket : buckets) {
    texts.push_back(std::to_string(bucket.limit.interval_us));
    texts.push_back(std::to_string(bucket.limit.burst));
  }
  std::vector<std::string_view> views(texts.begin(), texts.end());
  std::span<const std::string_view> all(views);
  std::span<const std::string_view> script_keys = all.first(buckets.size());
  std::span<const std::string_view> args = all.subspan(buckets.size());
  Reply reply = co_await script_.run(*connection_, script_keys, args, timeout_);
  if (reply.type != Reply::Type::Array || reply.elements.size() != 4 * buckets.size()) {
    throw ports::StoreRejected("unexpected reply from the rate limit script");
  }
  std::vector<domain::RateDecision> decisions(buckets.size());
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    const Reply* fields = &reply.elements[4 * i];
    for (int f = 0; f < 4; ++f) {
      if (fields[f].type != Reply::Type::Integer) throw ports::StoreRejected("unexpected reply from the rate limit script");
    }
    decisions[i].allowed = fields[0].integer == 1;
    decisions[i].remaining = fields[1].integer;
    decisions[i].retry_after_us = fields[2].integer;
    decisions[i].reset_us = fields[3].integer;
  }
  co_return decisions;
}

}  // namespace tracker::redis
