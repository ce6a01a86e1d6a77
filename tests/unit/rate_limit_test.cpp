// Rate limits: the gate on write routes over a fake limiter (buckets asked for, 429 and its
// headers, fail open), the in-memory limiter (shared buckets, all-or-nothing, bounded map),
// and their options.
#include "app/local_rate_limiter.hpp"
#include "config/config.hpp"
#include "http/rate_limit.hpp"
#include "ports/errors.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace ip = boost::asio::ip;
using tracker::app::LocalRateLimiter;
using tracker::domain::rate_limit;
using tracker::domain::RateDecision;
using tracker::http::Access;
using tracker::http::Caller;
using tracker::http::RateLimitGate;
using tracker::http::RateLimitOptions;
using tracker::http::Request;
using tracker::http::Response;
using tracker::ports::RateBucket;

constexpr std::int64_t kSecond = 1'000'000;

// Answers from a script and records the buckets it was asked for.
class FakeLimiter final : public tracker::ports::RateLimiter {
 public:
  asio::awaitable<std::vector<RateDecision>> take(std::span<const RateBucket> buckets) override {
    asked.push_back({});
    for (const RateBucket& bucket : buckets) asked.back().push_back(bucket.key);
    if (fail) throw tracker::ports::StoreUnavailable("redis is down");
    std::vector<RateDecision> out;
    for (std::size_t i = 0; i < buckets.size(); ++i) out.push_back(i < answers.size() ? answers[i] : RateDecision{});
    co_return out;
  }
  std::vector<std::vector<std::string>> asked;
  std::vector<RateDecision> answers;
  bool fail = false;
};

std::optional<Response> admit(const RateLimitGate& gate, Caller& caller, Access access = Access::write) {
  Request request{tracker::http::beast_http::verb::post, "/api/events", 11};
  asio::io_context io;
  std::optional<Response> answer;
  bool done = false;
  asio::co_spawn(io, gate.admit(request, caller, access), [&](std::exception_ptr error, std::optional<Response> result) {
    if (error) std::rethrow_exception(error);
    answer = std::move(result);
    done = true;
  });
  io.run();
  EXPECT_TRUE(done);
  return answer;
}

Caller caller_from(const std::string& address, std::string key = "") {
  Caller caller;
  caller.peer = ip::make_address("10.0.0.1");
  caller.client = ip::make_address(address);
  caller.key_name = std::move(key);
  return caller;
}

RateDecision refused(std::int64_t retry_after_us, std::int64_t reset_us) {
  RateDecision decision;
  decision.allowed = false;
  decision.retry_after_us = retry_after_us;
  decision.reset_us = reset_us;
  return decision;
}

RateDecision allowed(std::int64_t remaining, std::int64_t reset_us) {
  RateDecision decision;
  decision.remaining = remaining;
  decision.reset_us = reset_us;
  return decision;
}

class RateLimitGateTest : public ::testing::Test {
 protected:
  RateLimitOptions both() {
    RateLimitOptions options;
    options.per_address = rate_limit(10, 20);
    options.per_key = rate_limit(100, 200);
    return options;
  }
  double metric(const std::string& labels) {
    std::string text = metrics.render_prometheus();
    std::string name = "tracker_rate_limited_total{" + labels + "} ";
    auto at = text.find(name);
    return at == std::string::npos ? -1 : std::atof(text.c_str() + at + name.size());
  }
  double failures() {
    std::string text = metrics.render_prometheus();
    auto at = text.find("\ntracker_rate_limit_failures_total ");
    return at == std::string::npos ? -1 : std::atof(text.c_str() + at + 35);
  }
  tracker::metrics::Registry metrics;
  FakeLimiter limiter;
};

TEST_F(RateLimitGateTest, OnlyWriteRoutesAndOnlyLimitsThatAreOn) {
  RateLimitGate gate(limiter, both(), metrics);
  Caller caller = caller_from("203.0.113.7");
  for (Access access : {Access::open, Access::read, Access::admin}) EXPECT_FALSE(admit(gate, caller, access));
  EXPECT_TRUE(limiter.asked.empty());

  RateLimitGate off(limiter, RateLimitOptions{}, metrics);
  EXPECT_FALSE(off.enabled());
  EXPECT_FALSE(admit(off, caller));
  EXPECT_TRUE(limiter.asked.empty());
}

TEST_F(RateLimitGateTest, AskedForTheAddressAndTheKeyInOneCall) {
  RateLimitGate gate(limiter, both(), metrics);
  Caller anonymous = caller_from("203.0.113.7");
  Caller keyed = caller_from("2001:db8:1:2::99", "shop");
  EXPECT_FALSE(admit(gate, anonymous));
  EXPECT_FALSE(admit(gate, keyed));
  ASSERT_EQ(limiter.asked.size(), 2u);
  EXPECT_EQ(limiter.asked[0], (std::vector<std::string>{"ip:203.0.113.7"})) << "no key: the address alone";
  EXPECT_EQ(limiter.asked[1], (std::vector<std::string>{"ip:2001:db8:1:2::/64", "key:shop"}));

  RateLimitOptions key_only;
  key_only.per_key = rate_limit(1, 1);
  RateLimitGate keys(limiter, key_only, metrics);
  EXPECT_FALSE(admit(keys, anonymous));
  EXPECT_FALSE(admit(keys, keyed));
  ASSERT_EQ(limiter.asked.size(), 3u) << "a request without a key under a key-only limit asks nothing";
  EXPECT_EQ(limiter.asked[2], (std::vector<std::string>{"key:shop"}));
}

TEST_F(RateLimitGateTest, RefusalIs429WithRetryAfterAndRateLimitHeaders) {
  RateLimitGate gate(limiter, both(), metrics);
  Caller caller = caller_from("203.0.113.7", "shop");
  limiter.answers = {refused(1'200'000, 1'900'000), allowed(50, 0)};
  auto answer = admit(gate, caller);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->result_int(), 429);
  auto body = boost::json::parse(answer->body());
  EXPECT_EQ(body.at("error").at("code").as_string(), "RATE_LIMITED");
  EXPECT_EQ((*answer)["Retry-After"], "2") << "1.2 s rounded up";
  EXPECT_EQ((*answer)["RateLimit-Limit"], "20");
  EXPECT_EQ((*answer)["RateLimit-Remaining"], "0");
  EXPECT_EQ((*answer)["RateLimit-Reset"], "2");
  EXPECT_EQ((*answer)["RateLimit-Policy"], "20;w=2");
  EXPECT_EQ(metric("reason=\"ip\""), 1);
  EXPECT_EQ(metric("reason=\"key\""), 0);

  limiter.answers = {allowed(3, 100), refused(10, 20)};
  answer = admit(gate, caller);
  ASSERT_TRUE(answer);
  EXPECT_EQ((*answer)["Retry-After"], "1") << "never 0";
  EXPECT_EQ((*answer)["RateLimit-Limit"], "200") << "the key's bucket refused";
  EXPECT_EQ((*answer)["RateLimit-Policy"], "200;w=2");
  EXPECT_EQ(metric("reason=\"key\""), 1);
}

TEST_F(RateLimitGateTest, AllowedAnswersCarryTheHeadersOnlyWhenAskedTo) {
  RateLimitGate quiet(limiter, both(), metrics);
  Caller caller = caller_from("203.0.113.7", "shop");
  limiter.answers = {allowed(7, 1'300'000), allowed(150, 500'000)};
  EXPECT_FALSE(admit(quiet, caller));
  EXPECT_TRUE(caller.answer_headers.empty());

  RateLimitOptions options = both();
  options.headers_on_allowed = true;
  RateLimitGate loud(limiter, options, metrics);
  EXPECT_FALSE(admit(loud, caller));
  std::vector<std::pair<std::string, std::string>> expected = {
      {"RateLimit-Limit", "20"}, {"RateLimit-Remaining", "7"}, {"RateLimit-Reset", "2"}, {"RateLimit-Policy", "20;w=2"}};
  EXPECT_EQ(caller.answer_headers, expected) << "the bucket with the fewest left";
}

TEST_F(RateLimitGateTest, AFailingStoreLetsRequestsThroughAndIsCounted) {
  RateLimitGate gate(limiter, both(), metrics);
  Caller caller = caller_from("203.0.113.7");
  limiter.fail = true;
  EXPECT_FALSE(admit(gate, caller));
  EXPECT_FALSE(admit(gate, caller));
  EXPECT_EQ(failures(), 2);
}

// The in-memory limiter behind the gate: a burst, then 429 until the clock moves.
TEST(LocalRateLimiter, ThroughTheGate) {
  std::int64_t now = 1000 * kSecond;
  LocalRateLimiter limiter(100, [&] { return now; });
  tracker::metrics::Registry metrics;
  RateLimitOptions options;
  options.per_address = rate_limit(1, 2);
  RateLimitGate gate(limiter, options, metrics);
  Caller caller = caller_from("203.0.113.7");
  Caller other = caller_from("203.0.113.8");
  EXPECT_FALSE(admit(gate, caller));
  EXPECT_FALSE(admit(gate, caller));
  auto refusal = admit(gate, caller);
  ASSERT_TRUE(refusal);
  EXPECT_EQ((*refusal)["Retry-After"], "1");
  EXPECT_FALSE(admit(gate, other)) << "another address has its own bucket";
  now += kSecond;
  EXPECT_FALSE(admit(gate, caller));
  EXPECT_TRUE(admit(gate, caller));
}

TEST(LocalRateLimiter, TakesFromAllBucketsOrFromNone) {
  std::int64_t now = 1000 * kSecond;
  LocalRateLimiter limiter(100, [&] { return now; });
  std::vector<RateBucket> address_only = {{"ip:a", rate_limit(1, 3)}};
  std::vector<RateBucket> both = {{"ip:a", rate_limit(1, 3)}, {"key:k", rate_limit(1, 1)}};
  auto first = limiter.take_now(both);
  EXPECT_TRUE(first[0].allowed && first[1].allowed);
  EXPECT_EQ(first[0].remaining, 2);
  auto second = limiter.take_now(both);
  EXPECT_TRUE(second[0].allowed);
  EXPECT_FALSE(second[1].allowed);
  // The refusal took nothing from the address's bucket: two are left.
  EXPECT_TRUE(limiter.take_now(address_only)[0].allowed);
  auto last = limiter.take_now(address_only);
  EXPECT_TRUE(last[0].allowed);
  EXPECT_EQ(last[0].remaining, 0);
  EXPECT_FALSE(limiter.take_now(address_only)[0].allowed);
}

TEST(LocalRateLimiter, StaysWithinItsBoundDroppingFullBucketsFirst) {
  std::int64_t now = 1000 * kSecond;
  LocalRateLimiter limiter(8, [&] { return now; });
  auto take = [&](const std::string& key) {
    // The busy client's bucket refills slowly: 1 per 10 s.
    std::vector<RateBucket> one = {{key, key == "busy" ? rate_limit(0.1, 2) : rate_limit(1, 2)}};
    return limiter.take_now(one)[0];
  };
  // A busy client: its bucket is empty.
  take("busy");
  take("busy");
  for (int i = 0; i < 7; ++i) take("idle-" + std::to_string(i));
  EXPECT_EQ(limiter.size(), 8u);
  now += 1'500'000;  // the idle ones are full again, the busy one is not
  take("new-0");
  EXPECT_LE(limiter.size(), 8u);
  EXPECT_FALSE(take("busy").allowed) << "the busy bucket was kept";
  // Everyone busy: the map still stays within its bound.
  for (int i = 0; i < 100; ++i) {
    take("flood-" + std::to_string(i));
    EXPECT_LE(limiter.size(), 8u);
  }
}

TEST(RateLimitOptions, ParsedAndRefusedAtStartUp) {
  tracker::config::Config config;
  std::vector<std::string> args = {"event-tracker", "--rate-limit-ip=10/20", "--rate-limit-key=0.5",
                                   "--rate-limit-store=memory", "--rate-limit-headers=true",
                                   "--trusted-proxies=10.0.0.0/8, ::1"};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  ASSERT_TRUE(tracker::config::load(config, static_cast<int>(argv.size()), argv.data()));
  EXPECT_EQ(config.rate_limit_ip.per_second, 10);
  EXPECT_EQ(config.rate_limit_ip.burst, 20);
  EXPECT_EQ(config.rate_limit_key.burst, 1);
  EXPECT_EQ(config.rate_limit_store, "memory");
  EXPECT_TRUE(config.rate_limit_headers);
  EXPECT_EQ(config.trusted_proxies, "10.0.0.0/8, ::1");
  EXPECT_NE(tracker::config::describe(config).find("rate-limit-ip = 10/20"), std::string::npos);

  tracker::config::Config defaults;
  EXPECT_EQ(defaults.rate_limit_ip.burst, 0) << "off by default";
  EXPECT_EQ(defaults.rate_limit_store, "redis");
  for (std::string bad : {"--rate-limit-ip=fast", "--rate-limit-key=10/0", "--rate-limit-store=disk",
                          "--trusted-proxies=10.0.0.0/33", "--trusted-proxies=proxy.internal"}) {
    std::vector<std::string> bad_args = {"event-tracker", bad};
    std::vector<char*> bad_argv;
    for (std::string& arg : bad_args) bad_argv.push_back(arg.data());
    tracker::config::Config ignored;
    EXPECT_THROW(tracker::config::load(ignored, 2, bad_argv.data()), std::invalid_argument) << bad;
  }
}

}  // namespace
