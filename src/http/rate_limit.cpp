#include "http/rate_limit.hpp"

#include "http/client_address.hpp"
#include "ports/errors.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

namespace tracker::http {

namespace {

constexpr std::chrono::seconds kFailureLogEvery{10};

std::int64_t whole_seconds_up(std::int64_t micros) { return micros <= 0 ? 0 : (micros + 999'999) / 1'000'000; }

enum class Reason { address, key };

}  // namespace

std::vector<std::pair<std::string, std::string>> rate_limit_headers(const domain::RateLimit& limit,
                                                                    const domain::RateDecision& decision) {
  std::vector<std::pair<std::string, std::string>> headers;
  headers.reserve(5);
  headers.emplace_back("RateLimit-Limit", std::to_string(limit.burst));
  headers.emplace_back("RateLimit-Remaining", std::to_string(decision.remaining));
  headers.emplace_back("RateLimit-Reset", std::to_string(whole_seconds_up(decision.reset_us)));
  // The quota and the time it takes to come back whole.
  headers.emplace_back("RateLimit-Policy", std::to_string(limit.burst) + ";w=" +
                                               std::to_string(std::max<std::int64_t>(1, whole_seconds_up(limit.window_us()))));
  if (!decision.allowed) {
    headers.emplace_back("Retry-After", std::to_string(std::max<std::int64_t>(1, whole_seconds_up(decision.retry_after_us))));
  }
  return headers;
}

void set_rate_limit_headers(Response& response, const domain::RateLimit& limit, const domain::RateDecision& decision) {
  for (auto& [name, value] : rate_limit_headers(limit, decision)) response.set(name, value);
}

RateLimitGate::RateLimitGate(ports::RateLimiter& limiter, RateLimitOptions options, metrics::Registry& metrics)
    : limiter_(limiter),
      options_(options),
      limited_by_address_(metrics.counter("tracker_rate_limited_total", "Requests refused with 429, by the limit they met",
                                          "reason=\"ip\"")),
      limited_by_key_(metrics.counter("tracker_rate_limited_total", "Requests refused with 429, by the limit they met",
                                      "reason=\"key\"")),
      failures_(metrics.counter("tracker_rate_limit_failures_total",
                                "Requests let through unchecked because the rate limit store failed")) {}

boost::asio::awaitable<std::optional<Response>> RateLimitGate::admit(const Request&, Caller& caller,
                                                                    Access access) const {
  if (access != Access::write) co_return std::nullopt;
  std::array<ports::RateBucket, 2> buckets;
  std::array<Reason, 2> reasons{};
  std::size_t count = 0;
  if (options_.per_address.enabled()) {
    buckets[count] = {"ip:" + address_group(caller.client), options_.per_address};
    reasons[count++] = Reason::address;
  }
  if (options_.per_key.enabled() && !caller.key_name.empty()) {
    buckets[count] = {"key:" + caller.key_name, options_.per_key};
    reasons[count++] = Reason::key;
  }
  if (count == 0) co_return std::nullopt;
  std::span<const ports::RateBucket> taken(buckets.data(), count);
  std::vector<domain::RateDecision> decisions;
  try {
    decisions = co_await limiter_.take(taken);
  } catch (const ports::StoreError& error) {
    note_failure(error);
    co_return std::nullopt;
  }
  // The answer tells of the bucket that refused (the longest wait), else of the emptiest.
  std::size_t shown = 0;
  for (std::size_t i = 1; i < count; ++i) {
    const domain::RateDecision& best = decisions[shown];
    const domain::RateDecision& next = decisions[i];
    bool worse = best.allowed ? (!next.allowed || next.remaining < best.remaining)
                              : (!next.allowed && next.retry_after_us > best.retry_after_us);
    if (worse) shown = i;
  }
  const domain::RateDecision& decision = decisions[shown];
  if (decision.allowed) {
    if (options_.headers_on_allowed) caller.answer_headers = rate_limit_headers(buckets[shown].limit, decision);
    co_return std::nullopt;
  }
  const bool by_key = reasons[shown] == Reason::key;
  (by_key ? limited_by_key_ : limited_by_address_).inc();
  Response refusal = error_response(
      Status::too_many_requests, "RATE_LIMITED",
      by_key ? "too many requests with this API key; retry after the time in Retry-After"
             : "too many requests from this address; retry after the time in Retry-After");
  set_rate_limit_headers(refusal, buckets[shown].limit, decision);
  co_return std::move(refusal);
}

void RateLimitGate::note_failure(const std::exception& error) const {
  failures_.inc();
  auto now = std::chrono::steady_clock::now();
  if (now - last_failure_log_ < kFailureLogEvery) return;
  last_failure_log_ = now;
  spdlog::warn("rate limits: the store failed, requests pass unchecked (fail open): {}", error.what());
}

}  // namespace tracker::http
