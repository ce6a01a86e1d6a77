#include "domain/token_bucket.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>

namespace tracker::domain {

namespace {
constexpr double kMicrosPerSecond = 1e6;
// Rates and bursts past these make no sense for HTTP requests and would overflow the
// microsecond arithmetic (burst x interval).
constexpr double kMaxPerSecond = 1e6;
constexpr std::int64_t kMaxBurst = 1'000'000'000;
}  // namespace

RateLimit rate_limit(double per_second, std::int64_t burst) {
  if (!(per_second > 0) || burst < 1) return {};
  auto interval = static_cast<std::int64_t>(std::llround(kMicrosPerSecond / per_second));
  return {std::max<std::int64_t>(interval, 1), burst};
}

RateDecision take(const RateLimit& limit, std::int64_t tat_us, std::int64_t now_us) {
  RateDecision decision;
  const std::int64_t tat = std::max(tat_us, now_us);
  const std::int64_t new_tat = tat + limit.interval_us;
  // The earliest time this request fits: its TAT may lie at most burst intervals ahead.
  const std::int64_t allowed_at = new_tat - limit.window_us();
  if (now_us < allowed_at) {
    decision.allowed = false;
    decision.remaining = 0;
    decision.retry_after_us = allowed_at - now_us;
    decision.reset_us = tat - now_us;
    decision.tat_us = tat;
    return decision;
  }
  decision.allowed = true;
  decision.remaining = (now_us - allowed_at) / limit.interval_us;
  decision.retry_after_us = 0;
  decision.reset_us = new_tat - now_us;
  decision.tat_us = new_tat;
  return decision;
}

std::optional<RateSpec> parse_rate_spec(std::string_view text) {
  std::string_view rate_text = text.substr(0, text.find('/'));
  if (rate_text.empty()) return std::nullopt;
  RateSpec spec;
  // std::from_chars for double is in GCC 12's libstdc++.
  auto [end, error] = std::from_chars(rate_text.data(), rate_text.data() + rate_text.size(), spec.per_second);
  if (error != std::errc{} || end != rate_text.data() + rate_text.size()) return std::nullopt;
  if (!std::isfinite(spec.per_second) || spec.per_second < 0 || spec.per_second > kMaxPerSecond) return std::nullopt;
  if (rate_text.size() == text.size()) {
    spec.burst = spec.per_second > 0 ? std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(spec.per_second))) : 0;
    return spec;
  }
  std::string_view burst_text = text.substr(rate_text.size() + 1);
  auto [burst_end, burst_error] =
      std::from_chars(burst_text.data(), burst_text.data() + burst_text.size(), spec.burst);
  if (burst_text.empty() || burst_error != std::errc{} || burst_end != burst_text.data() + burst_text.size()) {
    return std::nullopt;
  }
  if (spec.burst < 1 || spec.burst > kMaxBurst) return std::nullopt;
  if (spec.per_second == 0) spec.burst = 0;  // off, whatever the burst
  return spec;
}

}  // namespace tracker::domain
