#include "metrics/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <set>
#include <vector>
#include <sstream>

namespace tracker::metrics {

void Histogram::observe(double seconds) {
  std::size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<std::uint64_t>(seconds * 1e9), std::memory_order_relaxed);
}

std::array<std::uint64_t, Histogram::kBounds.size() + 1> Histogram::buckets() const {
  std::array<std::uint64_t, kBounds.size() + 1> out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = counts_[i].load(std::memory_order_relaxed);
  return out;
}

template <class T>
T& Registry::find_or_add(std::deque<Entry<T>>& entries, const std::string& name,
                         const std::string& help, const std::string& labels) {
  std::lock_guard lock(mutex_);
  for (auto& entry : entries) {
    if (entry.name == name && entry.labels == labels) return entry.metric;
  }
  auto& entry = entries.emplace_back();
  entry.name = name;
  entry.help = help;
  entry.labels = labels;
  return entry.metric;
}

Counter& Registry::counter(const std::string& name, const std::string& help,
                           const std::string& labels) {
  return find_or_add(counters_, name, help, labels);
}
Gauge& Registry::gauge(const std::string& name, const std::string& help,
                       const std::string& labels) {
  return find_or_add(gauges_, name, help, labels);
}
Histogram& Registry::histogram(const std::string& name, const std::string& help,
                               const std::string& labels) {
  return find_or_add(histograms_, name, help, labels);
}

namespace {
std::string with_labels(const std::string& name, const std::string& labels,
                        const std::string& extra = "") {
  std::string all = labels;
  if (!extra.empty()) all += (all.empty() ? "" : ",") + extra;
  return all.empty() ? name : name + "{" + all + "}";
}
}  // namespace

std::string Registry::render_prometheus() const {
  std::lock_guard lock(mutex_);
  std::ostringstream out;
  std::set<std::string> described;
  auto describe = [&](const std::string& name, const std::string& help, const char* type) {
    if (described.insert(name).second) {
      out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
    }
  };
  // All series of one metric must form one group, whatever the registration order.
  auto in_families = [](const auto& entries) {
    std::vector<const std::remove_cvref_t<decltype(entries.front())>*> ordered;
    for (const auto& e : entries) ordered.push_back(&e);
    std::stable_sort(ordered.begin(), ordered.end(), [&](auto* a, auto* b) {
      auto first_index = [&](const std::string& name) {
        std::size_t i = 0;
        while (entries[i].name != name) ++i;
        return i;
      };
      return first_index(a->name) < first_index(b->name);
    });
    return ordered;
  };
  for (const auto* e : in_families(counters_)) {
    describe(e->name, e->help, "counter");
    out << with_labels(e->name, e->labels) << ' ' << e->metric.value() << '\n';
  }
  for (const auto* e : in_families(gauges_)) {
    describe(e->name, e->help, "gauge");
    out << with_labels(e->name, e->labels) << ' ' << e->metric.value() << '\n';
  }
  for (const auto* entry : in_families(histograms_)) {
    const auto& e = *entry;
    describe(e.name, e.help, "histogram");
    auto counts = e.metric.buckets();
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < counts.size(); ++i) {
      cumulative += counts[i];
      std::ostringstream bound;
      if (i < Histogram::kBounds.size()) bound << Histogram::kBounds[i];
      else bound << "+Inf";
      out << with_labels(e.name + "_bucket", e.labels, "le=\"" + bound.str() + "\"") << ' '
          << cumulative << '\n';
    }
    char sum[32];
    auto end = std::to_chars(sum, sum + sizeof sum, e.metric.sum()).ptr;  // shortest exact form
    out << with_labels(e.name + "_sum", e.labels) << ' ' << std::string_view(sum, end - sum) << '\n';
    out << with_labels(e.name + "_count", e.labels) << ' ' << cumulative << '\n';
  }
  return out.str();
}

}  // namespace tracker::metrics
