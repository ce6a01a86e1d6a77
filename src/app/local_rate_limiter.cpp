#include "app/local_rate_limiter.hpp"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <vector>

namespace tracker::app {

LocalRateLimiter::LocalRateLimiter(std::size_t max_buckets, Clock clock)
    : max_buckets_(std::max<std::size_t>(max_buckets, 1)), clock_(std::move(clock)) {}

std::int64_t LocalRateLimiter::steady_micros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

boost::asio::awaitable<std::vector<domain::RateDecision>> LocalRateLimiter::take(
    std::span<const ports::RateBucket> buckets) {
  co_return take_now(buckets);
}

std::vector<domain::RateDecision> LocalRateLimiter::take_now(std::span<const ports::RateBucket> buckets) {
  std::vector<domain::RateDecision> decisions;
  decisions.reserve(buckets.size());
  std::lock_guard lock(mutex_);
  const std::int64_t now = clock_();
  bool all_allowed = true;
  for (const ports::RateBucket& bucket : buckets) {
    auto found = tats_.find(bucket.key);
    decisions.push_back(domain::take(bucket.limit, found == tats_.end() ? 0 : found->second, now));
    all_allowed = all_allowed && decisions.back().allowed;
  }
  if (!all_allowed) return decisions;  // nothing is taken
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    auto found = tats_.find(buckets[i].key);
    if (found != tats_.end()) {
      found->second = decisions[i].tat_us;
      continue;
    }
    if (tats_.size() >= max_buckets_) make_room(now);
    tats_.emplace(buckets[i].key, decisions[i].tat_us);
  }
  return decisions;
}

void LocalRateLimiter::make_room(std::int64_t now_us) {
  std::erase_if(tats_, [now_us](const auto& entry) { return entry.second <= now_us; });
  // Done when at least a quarter is free, so that the sweeps below stay rare (amortised
  // O(1) per new bucket) even when every client is busy.
  const std::size_t target = max_buckets_ - max_buckets_ / 4 - 1;
  if (tats_.size() <= target) return;
  std::vector<std::int64_t> tats;
  tats.reserve(tats_.size());
  for (const auto& entry : tats_) tats.push_back(entry.second);
  auto cut = tats.begin() + static_cast<std::ptrdiff_t>(tats.size() - target);
  std::nth_element(tats.begin(), cut, tats.end());
  const std::int64_t threshold = *cut;
  std::erase_if(tats_, [threshold](const auto& entry) { return entry.second < threshold; });
  // Ties at the threshold: drop them too until within the bound.
  for (auto it = tats_.begin(); it != tats_.end() && tats_.size() > target;) {
    it = it->second == threshold ? tats_.erase(it) : std::next(it);
  }
}

std::size_t LocalRateLimiter::size() const {
  std::lock_guard lock(mutex_);
  return tats_.size();
}

}  // namespace tracker::app
