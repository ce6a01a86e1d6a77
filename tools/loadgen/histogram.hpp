#pragma once
// Log-linear latency histogram in the manner of HdrHistogram: values below 2*kHalf are
// exact, above that every power-of-two range is split into kHalf equal sub-buckets, so
// any recorded value is known to within 1/kHalf (0.8 %) of itself. Values are
// nanoseconds; recording is O(1) and allocation-free.
#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <limits>

namespace loadgen {

class Histogram {
 public:
  static constexpr std::uint64_t kHalf = 128;                // sub-buckets per power of two
  static constexpr int kHalfBits = 7;                        // log2(kHalf)
  static constexpr int kMaxBits = 40;                        // about 1100 s in nanoseconds
  static constexpr std::size_t kBuckets = 2 * kHalf + (kMaxBits - kHalfBits) * kHalf;

  static std::size_t index_of(std::uint64_t v) {
    if (v < 2 * kHalf) return static_cast<std::size_t>(v);
    int msb = 63 - std::countl_zero(v);
    int shift = msb - kHalfBits;  // >= 1; (v >> shift) is in [kHalf, 2*kHalf)
    std::size_t index = 2 * kHalf + static_cast<std::size_t>(shift - 1) * kHalf + ((v >> shift) - kHalf);
    return std::min(index, kBuckets - 1);
  }
  // Smallest and largest value that land in bucket `index`.
  static std::uint64_t lowest_of(std::size_t index) {
    if (index < 2 * kHalf) return index;
    std::size_t shift = (index - 2 * kHalf) / kHalf + 1;
    std::uint64_t top = (index - 2 * kHalf) % kHalf + kHalf;
    return top << shift;
  }
  static std::uint64_t highest_of(std::size_t index) {
    if (index < 2 * kHalf) return index;
    std::size_t shift = (index - 2 * kHalf) / kHalf + 1;
    return lowest_of(index) + (std::uint64_t{1} << shift) - 1;
  }

  void record(std::uint64_t v) {
    ++counts_[index_of(v)];
    ++count_;
    sum_ += v;
    max_ = std::max(max_, v);
    min_ = std::min(min_, v);
  }

  void add(const Histogram& other) {
    for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    sum_ += other.sum_;
    max_ = std::max(max_, other.max_);
    min_ = std::min(min_, other.min_);
  }

  void reset() { *this = Histogram{}; }

  std::uint64_t count() const { return count_; }
  std::uint64_t max() const { return count_ ? max_ : 0; }
  std::uint64_t min() const { return count_ ? min_ : 0; }
  double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }

  // The value at or below which `percent` % of the recorded values lie (the highest
  // value of the bucket holding that rank, capped at the exact maximum).
  std::uint64_t percentile(double percent) const {
    if (count_ == 0) return 0;
    double wanted = percent / 100.0 * static_cast<double>(count_);
    std::uint64_t rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(wanted + 0.999999999));
    rank = std::min(rank, count_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(highest_of(i), max_);
    }
    return max_;
  }

 private:
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t max_ = 0;
  std::uint64_t min_ = std::numeric_limits<std::uint64_t>::max();
};

}  // namespace loadgen
