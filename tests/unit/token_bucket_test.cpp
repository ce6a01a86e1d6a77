// GCRA arithmetic: exact allow/deny sequences, remaining, retry-after and reset, and the
// RATE[/BURST] option text.
#include "domain/token_bucket.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using tracker::domain::parse_rate_spec;
using tracker::domain::rate_limit;
using tracker::domain::RateDecision;
using tracker::domain::RateLimit;
using tracker::domain::take;

constexpr std::int64_t kSecond = 1'000'000;
constexpr std::int64_t kStart = 1'733'000'000 * kSecond;  // a Unix time in microseconds

// Requests at the given times (µs after kStart) against one bucket; "A" allowed, "D" denied.
std::string run(const RateLimit& limit, const std::vector<std::int64_t>& at) {
  std::string outcome;
  std::int64_t tat = 0;
  for (std::int64_t t : at) {
    RateDecision decision = take(limit, tat, kStart + t);
    tat = decision.tat_us;
    outcome += decision.allowed ? 'A' : 'D';
  }
  return outcome;
}

TEST(TokenBucket, IntervalIsOneSecondOverTheRate) {
  EXPECT_EQ(rate_limit(10, 20).interval_us, 100'000);
  EXPECT_EQ(rate_limit(0.5, 1).interval_us, 2 * kSecond);
  EXPECT_EQ(rate_limit(3, 3).interval_us, 333'333);
  EXPECT_EQ(rate_limit(10, 20).window_us(), 2 * kSecond);
  EXPECT_FALSE(rate_limit(0, 5).enabled());
  EXPECT_FALSE(rate_limit(5, 0).enabled());
  EXPECT_TRUE(rate_limit(5, 1).enabled());
}

TEST(TokenBucket, BurstAtOnceThenOnePerInterval) {
  RateLimit limit = rate_limit(1, 3);  // 1/s, 3 at once
  // Three at once, the fourth refused; one more each second after that.
  EXPECT_EQ(run(limit, {0, 0, 0, 0}), "AAAD");
  EXPECT_EQ(run(limit, {0, 0, 0, 0, kSecond - 1, kSecond, kSecond, 2 * kSecond}), "AAADDADA");
  // Idle long enough, the bucket is full again (never more than the burst).
  EXPECT_EQ(run(limit, {0, 0, 0, 100 * kSecond, 100 * kSecond, 100 * kSecond, 100 * kSecond}), "AAAAAAD");
}

TEST(TokenBucket, SteadyRateAtTheIntervalIsAlwaysAllowed) {
  RateLimit limit = rate_limit(10, 1);
  std::vector<std::int64_t> at;
  for (int i = 0; i < 50; ++i) at.push_back(i * 100'000);
  EXPECT_EQ(run(limit, at), std::string(50, 'A'));
  // A hair faster than the rate and burst 1: every other one fails.
  EXPECT_EQ(run(limit, {0, 99'999, 100'000, 199'999, 200'000}), "ADADA");
}

TEST(TokenBucket, RemainingRetryAfterAndReset) {
  RateLimit limit = rate_limit(2, 4);  // interval 0.5 s, window 2 s
  std::int64_t tat = 0;
  std::int64_t expected_remaining[] = {3, 2, 1, 0};
  for (std::int64_t remaining : expected_remaining) {
    RateDecision decision = take(limit, tat, kStart);
    ASSERT_TRUE(decision.allowed);
    EXPECT_EQ(decision.remaining, remaining);
    EXPECT_EQ(decision.retry_after_us, 0);
    EXPECT_EQ(decision.reset_us, (4 - remaining) * 500'000);
    tat = decision.tat_us;
  }
  RateDecision refused = take(limit, tat, kStart + 100'000);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.remaining, 0);
  EXPECT_EQ(refused.retry_after_us, 400'000);  // the first token is back 0.5 s after the burst
  EXPECT_EQ(refused.reset_us, 1'900'000);      // full 2 s after the burst
  EXPECT_EQ(refused.tat_us, tat);              // a refusal takes nothing

  // Right at retry-after: allowed, and it empties the bucket again.
  RateDecision retried = take(limit, refused.tat_us, kStart + 500'000);
  EXPECT_TRUE(retried.allowed);
  EXPECT_EQ(retried.remaining, 0);
  EXPECT_EQ(retried.reset_us, 2 * kSecond);
  // A while later: tokens came back at one per interval.
  RateDecision later = take(limit, retried.tat_us, kStart + 1'600'000);
  EXPECT_TRUE(later.allowed);
  EXPECT_EQ(later.remaining, 1);  // 2.2 tokens back after 1.1 s, one taken
}

TEST(TokenBucket, AStaleTatCountsAsAFullBucket) {
  RateLimit limit = rate_limit(1, 2);
  RateDecision decision = take(limit, kStart - 3600 * kSecond, kStart);
  EXPECT_TRUE(decision.allowed);
  EXPECT_EQ(decision.remaining, 1);
  EXPECT_EQ(decision.tat_us, kStart + kSecond);
}

TEST(RateSpec, RateAndOptionalBurst) {
  auto spec = parse_rate_spec("10/20");
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->per_second, 10);
  EXPECT_EQ(spec->burst, 20);
  spec = parse_rate_spec("2.5");
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->per_second, 2.5);
  EXPECT_EQ(spec->burst, 3);  // the rate rounded up
  spec = parse_rate_spec("0.1");
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->burst, 1);
  spec = parse_rate_spec("0");
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->burst, 0);  // off
  spec = parse_rate_spec("0/5");
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->burst, 0);
}

TEST(RateSpec, RefusesWhatIsNotOne) {
  for (const char* bad : {"", "/", "x", "10/", "/5", "10/0", "10/-1", "-1", "10/2.5", "10 /5", "10/5x", "nan",
                          "inf", "1e9", "10/5/2", "10/99999999999"}) {
    EXPECT_FALSE(parse_rate_spec(bad)) << bad;
  }
}

}  // namespace
