#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

namespace tracker::metrics {

class Counter {
 public:
  void inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void set(std::int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void add(std::int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// Latency histogram with fixed exponential buckets (seconds), Prometheus style.
class Histogram {
 public:
  static constexpr std::array<double, 12> kBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                     0.005,  0.01,    0.025,  0.05,  0.1,
                                                     0.5,    2.5};
  void observe(double seconds);
  std::array<std::uint64_t, kBounds.size() + 1> buckets() const;
  double sum() const { return static_cast<double>(sum_ns_.load()) / 1e9; }

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> counts_{};
  std::atomic<std::uint64_t> sum_ns_{0};
};

// Metrics are registered once at wiring time (the references stay valid for the
// registry's life) and updated lock-free on hot paths.
class Registry {
 public:
  // `labels` is the Prometheus label set without braces, e.g. `status="202"`.
  Counter& counter(const std::string& name, const std::string& help, const std::string& labels = "");
  Gauge& gauge(const std::string& name, const std::string& help, const std::string& labels = "");
  Histogram& histogram(const std::string& name, const std::string& help,
                       const std::string& labels = "");
  std::string render_prometheus() const;

 private:
  template <class T>
  struct Entry {
    std::string name, help, labels;
    T metric;
  };
  template <class T>
  T& find_or_add(std::deque<Entry<T>>& entries, const std::string& name, const std::string& help,
                 const std::string& labels);

  mutable std::mutex mutex_;
  std::deque<Entry<Counter>> counters_;
  std::deque<Entry<Gauge>> gauges_;
  std::deque<Entry<Histogram>> histograms_;
};

}  // namespace tracker::metrics
