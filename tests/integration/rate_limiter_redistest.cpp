// Token buckets in a real Redis (lua/rate_limit.lua): the same allow/deny sequence,
// remaining, retry-after and reset as domain/token_bucket, all-or-nothing over two
// buckets, buckets that expire once full, and the requests of one loop turn decided by one
// script call in their order.
#include "domain/token_bucket.hpp"
#include "redis/keys.hpp"
#include "redis/rate_limiter.hpp"
#include "redis_support.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
using tracker::domain::rate_limit;
using tracker::domain::RateDecision;
using tracker::ports::RateBucket;
using tracker::redis::Connection;

constexpr std::int64_t kSecond = 1'000'000;

// One command. Views, not strings: GCC 12 frees a temporary std::string argument of a
// coroutine call twice.
asio::awaitable<tracker::redis::Reply> command(Connection& redis, std::string_view verb, std::string_view key1,
                                               std::string_view key2 = {}) {
  std::vector<std::string_view> words = {verb, key1};
  if (!key2.empty()) words.push_back(key2);
  co_return co_await redis.execute(words);
}

asio::awaitable<std::int64_t> redis_micros(Connection& redis) {
  const std::string_view time[] = {"TIME"};
  auto reply = co_await redis.execute(time);
  co_return std::stoll(reply.elements.at(0).text) * kSecond + std::stoll(reply.elements.at(1).text);
}

asio::awaitable<std::vector<RateDecision>> take(tracker::redis::RateLimiter& limiter, std::vector<RateBucket> buckets) {
  co_return co_await limiter.take(buckets);
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds time) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(time);
  co_await timer.async_wait(asio::use_awaitable);
}

TEST(RedisRateLimiter, BurstThenRefusedWithTheDomainsNumbers) {
  auto body = [](std::shared_ptr<Connection> redis, tracker::metrics::Registry& metrics) -> asio::awaitable<void> {
    tracker::redis::RateLimiter limiter(redis, metrics);
    // One per 1000 s: the milliseconds between the calls do not change the outcome.
    const std::string key = tracker::testing::unique_key("rl");
    std::vector<RateBucket> bucket = {{key, rate_limit(0.001, 3)}};
    std::string outcome;
    std::vector<RateDecision> seen;
    std::int64_t before = co_await redis_micros(*redis);
    for (int i = 0; i < 5; ++i) {
      auto decisions = co_await take(limiter, bucket);
      outcome += decisions.at(0).allowed ? 'A' : 'D';
      seen.push_back(decisions.at(0));
    }
    std::int64_t after = co_await redis_micros(*redis);
    EXPECT_EQ(outcome, "AAADD");
    EXPECT_EQ(seen[0].remaining, 2);
    EXPECT_EQ(seen[1].remaining, 1);
    EXPECT_EQ(seen[2].remaining, 0);
    EXPECT_EQ(seen[3].remaining, 0);
    const std::int64_t interval = 1000 * kSecond, elapsed = after - before;
    EXPECT_EQ(seen[0].retry_after_us, 0);
    EXPECT_LE(seen[0].reset_us, interval);
    EXPECT_GE(seen[0].reset_us, interval - elapsed);
    // Refused: the first token comes back one interval after the first request.
    EXPECT_LE(seen[3].retry_after_us, interval);
    EXPECT_GE(seen[3].retry_after_us, interval - elapsed);
    EXPECT_LE(seen[3].reset_us, 3 * interval);
    EXPECT_GE(seen[3].reset_us, 3 * interval - elapsed);

    // The stored TAT is three intervals after the first request, on Redis's clock, and
    // the bucket expires when it would be full again.
    std::string stored_key = tracker::redis::keys::rate_bucket(key);
    auto stored = co_await command(*redis, "GET", stored_key);
    std::int64_t tat = std::stoll(stored.text);
    EXPECT_GE(tat, before + 3 * interval);
    EXPECT_LE(tat, after + 3 * interval);
    auto ttl = co_await command(*redis, "PTTL", stored_key);
    EXPECT_LE(ttl.integer, 3 * interval / 1000 + 1);
    EXPECT_GE(ttl.integer, (3 * interval - elapsed) / 1000 - 1000);
    co_await command(*redis, "DEL", stored_key);
  };
  tracker::testing::with_shared_connection(tracker::testing::options(), body);
}

TEST(RedisRateLimiter, TwoBucketsTakeTogetherOrNotAtAll) {
  auto body = [](std::shared_ptr<Connection> redis, tracker::metrics::Registry& metrics) -> asio::awaitable<void> {
    tracker::redis::RateLimiter limiter(redis, metrics);
    const std::string address = tracker::testing::unique_key("rl-ip");
    const std::string key = tracker::testing::unique_key("rl-key");
    std::vector<RateBucket> both = {{address, rate_limit(0.001, 3)}, {key, rate_limit(0.001, 1)}};
    std::vector<RateBucket> address_only = {both[0]};
    auto first = co_await take(limiter, both);
    EXPECT_TRUE(first.at(0).allowed);
    EXPECT_TRUE(first.at(1).allowed);
    std::string address_key = tracker::redis::keys::rate_bucket(address);
    auto tat_before = (co_await command(*redis, "GET", address_key)).text;
    auto second = co_await take(limiter, both);
    EXPECT_TRUE(second.at(0).allowed);
    EXPECT_FALSE(second.at(1).allowed);
    EXPECT_EQ((co_await command(*redis, "GET", address_key)).text, tat_before) << "a refusal takes nothing";
    // Two left in the address's bucket.
    EXPECT_EQ((co_await take(limiter, address_only)).at(0).remaining, 1);
    EXPECT_EQ((co_await take(limiter, address_only)).at(0).remaining, 0);
    EXPECT_FALSE((co_await take(limiter, address_only)).at(0).allowed);
    std::string key_key = tracker::redis::keys::rate_bucket(key);
    co_await command(*redis, "DEL", address_key, key_key);
  };
  tracker::testing::with_shared_connection(tracker::testing::options(), body);
}

TEST(RedisRateLimiter, ABucketExpiresOnceFullAndThenAllowsTheBurstAgain) {
  auto body = [](std::shared_ptr<Connection> redis, tracker::metrics::Registry& metrics) -> asio::awaitable<void> {
    tracker::redis::RateLimiter limiter(redis, metrics);
    const std::string key = tracker::testing::unique_key("rl-expiry");
    std::vector<RateBucket> bucket = {{key, rate_limit(20, 2)}};  // 50 ms per token
    std::string stored_key = tracker::redis::keys::rate_bucket(key);
    EXPECT_TRUE((co_await take(limiter, bucket)).at(0).allowed);
    EXPECT_TRUE((co_await take(limiter, bucket)).at(0).allowed);
    auto ttl = co_await command(*redis, "PTTL", stored_key);
    EXPECT_GT(ttl.integer, 0);
    EXPECT_LE(ttl.integer, 100);
    co_await sleep_for(std::chrono::milliseconds(150));
    EXPECT_EQ((co_await command(*redis, "EXISTS", stored_key)).integer, 0) << "gone once full";
    auto again = co_await take(limiter, bucket);
    EXPECT_TRUE(again.at(0).allowed);
    EXPECT_EQ(again.at(0).remaining, 1);
    co_await command(*redis, "DEL", stored_key);
  };
  tracker::testing::with_shared_connection(tracker::testing::options(), body);
}

TEST(RedisRateLimiter, RequestsOfOneTurnAreDecidedByOneCallInTheirOrder) {
  auto body = [](std::shared_ptr<Connection> redis, tracker::metrics::Registry& metrics) -> asio::awaitable<void> {
    tracker::redis::RateLimiter limiter(redis, metrics);
    const std::string address = tracker::testing::unique_key("rl-ip");
    const std::string key = tracker::testing::unique_key("rl-key");
    const RateBucket by_address{address, rate_limit(0.001, 5)};
    const RateBucket by_key{key, rate_limit(0.001, 1)};
    // Request 2 and 3 draw from both buckets: 2 takes the key's one token, 3 is refused and
    // must take nothing from the address's bucket, which the rest share.
    const std::vector<std::vector<RateBucket>> requests = {
        {by_address}, {by_address, by_key}, {by_address, by_key}, {by_address}, {by_address},
        {by_address}, {by_address}, {by_address}};
    std::vector<std::vector<RateDecision>> decided(requests.size());
    std::size_t answered = 0;
    const auto calls_before = metrics.counter("tracker_rate_limit_script_calls_total", "").value();
    auto executor = co_await asio::this_coro::executor;
    for (std::size_t i = 0; i < requests.size(); ++i) {
      asio::co_spawn(executor, [&, i]() -> asio::awaitable<void> {
        decided[i] = co_await limiter.take(requests[i]);
        ++answered;
      }, asio::detached);
    }
    while (answered < requests.size()) co_await sleep_for(std::chrono::milliseconds(5));

    std::string outcome;
    for (const auto& decisions : decided) {
      bool allowed = true;
      for (const RateDecision& decision : decisions) allowed = allowed && decision.allowed;
      outcome += allowed ? 'A' : 'D';
    }
    EXPECT_EQ(outcome, "AADAAADD");
    EXPECT_TRUE(decided[2].at(0).allowed) << "the address alone would have allowed it";
    EXPECT_FALSE(decided[2].at(1).allowed);
    EXPECT_EQ(decided[0].at(0).remaining, 4);
    EXPECT_EQ(decided[5].at(0).remaining, 0);
    EXPECT_EQ(metrics.counter("tracker_rate_limit_script_calls_total", "").value() - calls_before, 1u);
    std::string address_key = tracker::redis::keys::rate_bucket(address);
    std::string key_key = tracker::redis::keys::rate_bucket(key);
    co_await command(*redis, "DEL", address_key, key_key);
  };
  tracker::testing::with_shared_connection(tracker::testing::options(), body);
}

}  // namespace
