// Counters, gauges and latency histograms, and their Prometheus text rendering for /metrics.
#include "metrics/metrics.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

using tracker::metrics::Counter;
using tracker::metrics::Gauge;
using tracker::metrics::Histogram;
using tracker::metrics::Registry;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Sample lines by series ("name{labels}") → value text.
std::map<std::string, std::string> samples_of(const std::string& text) {
  std::map<std::string, std::string> samples;
  for (const std::string& line : lines_of(text)) {
    if (line.empty() || line[0] == '#') continue;
    auto space = line.rfind(' ');
    samples[line.substr(0, space)] = line.substr(space + 1);
  }
  return samples;
}

// The metric family a sample belongs to: its name without labels or histogram suffixes.
std::string family_of(std::string series, const std::set<std::string>& histograms) {
  series = series.substr(0, series.find('{'));
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    std::string_view s = suffix;
    if (series.size() > s.size() && series.ends_with(s) &&
        histograms.count(series.substr(0, series.size() - s.size()))) {
      return series.substr(0, series.size() - s.size());
    }
  }
  return series;
}

// ---------------------------------------------------------------------------------------
// The metrics themselves

TEST(Counter, StartsAtZeroAndCountsUp) {
  Counter counter;
  EXPECT_EQ(counter.value(), 0u);
  counter.inc();
  counter.inc(41);
  EXPECT_EQ(counter.value(), 42u);
}

TEST(Gauge, SetsAndAddsIncludingNegativeValues) {
  Gauge gauge;
  gauge.set(10);
  gauge.add(-15);
  EXPECT_EQ(gauge.value(), -5);
  gauge.add(7);
  EXPECT_EQ(gauge.value(), 2);
}

TEST(Histogram, PutsEachObservationInTheFirstBucketThatHoldsIt) {
  Histogram histogram;
  histogram.observe(0.0);        // bucket 0 (<= 0.0001)
  histogram.observe(0.0001);     // bucket 0: bounds are inclusive
  histogram.observe(0.00010001); // bucket 1 (<= 0.00025)
  histogram.observe(0.003);      // bucket 5 (<= 0.005)
  histogram.observe(2.5);        // bucket 11 (<= 2.5)
  histogram.observe(2.5001);     // overflow (+Inf)
  histogram.observe(1000.0);     // overflow (+Inf)
  auto buckets = histogram.buckets();
  ASSERT_EQ(buckets.size(), Histogram::kBounds.size() + 1);
  std::array<std::uint64_t, 13> expected{2, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 2};
  EXPECT_EQ(buckets, expected);
}

TEST(Histogram, SumsObservationsInSeconds) {
  Histogram histogram;
  histogram.observe(0.25);
  histogram.observe(0.5);
  histogram.observe(0.000001);
  EXPECT_NEAR(histogram.sum(), 0.750001, 1e-9);
}

TEST(Histogram, BoundsAreIncreasing) {
  for (std::size_t i = 1; i < Histogram::kBounds.size(); ++i) {
    EXPECT_LT(Histogram::kBounds[i - 1], Histogram::kBounds[i]);
  }
}

// ---------------------------------------------------------------------------------------
// Registry

TEST(Registry, ReturnsTheSameMetricForTheSameNameAndLabels) {
  Registry registry;
  Counter& a = registry.counter("tracker_events_accepted_total", "Events accepted");
  Counter& b = registry.counter("tracker_events_accepted_total", "ignored second help");
  EXPECT_EQ(&a, &b);
  Counter& other = registry.counter("tracker_events_accepted_total", "Events accepted",
                                    "type=\"CLICK\"");
  EXPECT_NE(&a, &other);
  EXPECT_EQ(&registry.gauge("g", "h"), &registry.gauge("g", "h"));
  EXPECT_EQ(&registry.histogram("h", "h", "route=\"/a\""), &registry.histogram("h", "h", "route=\"/a\""));
}

TEST(Registry, ReferencesStayValidAsMoreMetricsAreAdded) {
  Registry registry;
  Counter& first = registry.counter("first_total", "the first");
  first.inc(3);
  for (int i = 0; i < 1000; ++i) {
    std::string name = "tracker_extra_";
    name += std::to_string(i);
    registry.counter(name, "more");
  }
  first.inc();
  EXPECT_EQ(samples_of(registry.render_prometheus()).at("first_total"), "4");
}

TEST(Registry, EmptyRegistryRendersNothing) {
  Registry registry;
  EXPECT_EQ(registry.render_prometheus(), "");
}

TEST(Registry, RendersACounterWithHelpAndType) {
  Registry registry;
  registry.counter("tracker_http_requests_total", "HTTP requests answered").inc(7);
  EXPECT_EQ(registry.render_prometheus(),
            "# HELP tracker_http_requests_total HTTP requests answered\n"
            "# TYPE tracker_http_requests_total counter\n"
            "tracker_http_requests_total 7\n");
}

TEST(Registry, RendersAGauge) {
  Registry registry;
  registry.gauge("tracker_http_connections", "Open HTTP connections").set(-3);
  EXPECT_EQ(registry.render_prometheus(),
            "# HELP tracker_http_connections Open HTTP connections\n"
            "# TYPE tracker_http_connections gauge\n"
            "tracker_http_connections -3\n");
}

TEST(Registry, DescribesALabelledFamilyOnce) {
  Registry registry;
  registry.counter("tracker_redis_commands_rejected_total", "Redis commands refused",
                   "reason=\"disconnected\"")
      .inc(2);
  registry.counter("tracker_redis_commands_rejected_total", "Redis commands refused",
                   "reason=\"queue_full\"")
      .inc(5);
  EXPECT_EQ(registry.render_prometheus(),
            "# HELP tracker_redis_commands_rejected_total Redis commands refused\n"
            "# TYPE tracker_redis_commands_rejected_total counter\n"
            "tracker_redis_commands_rejected_total{reason=\"disconnected\"} 2\n"
            "tracker_redis_commands_rejected_total{reason=\"queue_full\"} 5\n");
}

TEST(Registry, RendersAHistogramWithCumulativeBuckets) {
  Registry registry;
  Histogram& latency = registry.histogram("tracker_http_request_duration_seconds",
                                          "Time to answer a request");
  latency.observe(0.0002);
  latency.observe(0.003);
  latency.observe(0.003);
  latency.observe(7.0);
  EXPECT_EQ(registry.render_prometheus(),
            "# HELP tracker_http_request_duration_seconds Time to answer a request\n"
            "# TYPE tracker_http_request_duration_seconds histogram\n"
            "tracker_http_request_duration_seconds_bucket{le=\"0.0001\"} 0\n"
            "tracker_http_request_duration_seconds_bucket{le=\"0.00025\"} 1\n"
            "tracker_http_request_duration_seconds_bucket{le=\"0.0005\"} 1\n"
            "tracker_http_request_duration_seconds_bucket{le=\"0.001\"} 1\n"
            "tracker_http_request_duration_seconds_bucket{le=\"0.0025\"} 1\n"
            "tracker_http_request_duration_seconds_bucket{le=\"0.005\"} 3\n"
            "tracker_http_request_duration_seconds_bucket{le=\"0.01\"} 3\n"
            "tracker_http_request_duration_seconds_bucket{le=\"0.025\"} 3\n"
            "tracker_http_request_duration_seconds_bucket{le=\"0.05\"} 3\n"
            "tracker_http_request_duration_seconds_bucket{le=\"0.1\"} 3\n"
            "tracker_http_request_duration_seconds_bucket{le=\"0.5\"} 3\n"
            "tracker_http_request_duration_seconds_bucket{le=\"2.5\"} 3\n"
            "tracker_http_request_duration_seconds_bucket{le=\"+Inf\"} 4\n"
            "tracker_http_request_duration_seconds_sum 7.0062\n"
            "tracker_http_request_duration_seconds_count 4\n");
}

TEST(Registry, PutsLeAfterTheHistogramsOwnLabels) {
  Registry registry;
  registry.histogram("tracker_stage_seconds", "Stage time", "stage=\"lua\"").observe(0.01);
  auto samples = samples_of(registry.render_prometheus());
  EXPECT_EQ(samples.at("tracker_stage_seconds_bucket{stage=\"lua\",le=\"0.005\"}"), "0");
  EXPECT_EQ(samples.at("tracker_stage_seconds_bucket{stage=\"lua\",le=\"0.01\"}"), "1");
  EXPECT_EQ(samples.at("tracker_stage_seconds_bucket{stage=\"lua\",le=\"+Inf\"}"), "1");
  EXPECT_EQ(samples.at("tracker_stage_seconds_sum{stage=\"lua\"}"), "0.01");
  EXPECT_EQ(samples.at("tracker_stage_seconds_count{stage=\"lua\"}"), "1");
}

TEST(Registry, EmptyHistogramRendersZeros) {
  Registry registry;
  registry.histogram("idle_seconds", "never observed");
  auto samples = samples_of(registry.render_prometheus());
  EXPECT_EQ(samples.size(), Histogram::kBounds.size() + 3);
  EXPECT_EQ(samples.at("idle_seconds_bucket{le=\"+Inf\"}"), "0");
  EXPECT_EQ(samples.at("idle_seconds_sum"), "0");
  EXPECT_EQ(samples.at("idle_seconds_count"), "0");
}

TEST(Registry, RendersCurrentValuesOnEveryCall) {
  Registry registry;
  Counter& counter = registry.counter("tracker_events_accepted_total", "Events accepted");
  Gauge& gauge = registry.gauge("tracker_backlog", "Unpersisted events");
  EXPECT_EQ(samples_of(registry.render_prometheus()).at("tracker_events_accepted_total"), "0");
  counter.inc(3);
  gauge.set(12);
  auto samples = samples_of(registry.render_prometheus());
  EXPECT_EQ(samples.at("tracker_events_accepted_total"), "3");
  EXPECT_EQ(samples.at("tracker_backlog"), "12");
}

TEST(Registry, LargeCounterValuesAreExact) {
  Registry registry;
  registry.counter("big_total", "big").inc(18446744073709551615ULL);
  EXPECT_EQ(samples_of(registry.render_prometheus()).at("big_total"), "18446744073709551615");
}

TEST(Registry, EveryLineIsNewlineTerminatedAndEveryFamilyTyped) {
  Registry registry;
  registry.counter("a_total", "a").inc();
  registry.gauge("b", "b").set(1);
  registry.histogram("c_seconds", "c").observe(0.1);
  std::string text = registry.render_prometheus();
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  std::set<std::string> typed;
  for (const std::string& line : lines_of(text)) {
    if (line.starts_with("# TYPE ")) {
      typed.insert(line.substr(7, line.find(' ', 7) - 7));
    } else if (!line.starts_with("#")) {
      EXPECT_TRUE(typed.count(family_of(line.substr(0, line.rfind(' ')), {"c_seconds"})))
          << "sample before its TYPE line: " << line;
    }
  }
  EXPECT_EQ(typed, (std::set<std::string>{"a_total", "b", "c_seconds"}));
}

// The exposition format requires all lines of one metric family to form a single group
// after its HELP and TYPE lines, whatever order the series were registered in.
TEST(Registry, KeepsEachFamilyInOneGroupWhenRegistrationsInterleave) {
  Registry registry;
  registry.counter("tracker_http_requests_total", "HTTP requests answered", "status=\"202\"").inc();
  registry.counter("tracker_events_invalid_total", "Events rejected by validation").inc();
  registry.counter("tracker_http_requests_total", "HTTP requests answered", "status=\"400\"").inc();

  std::vector<std::string> order;  // families in the order their lines appear
  for (const std::string& line : lines_of(registry.render_prometheus())) {
    std::string family;
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
      family = line.substr(7, line.find(' ', 7) - 7);
    } else {
      family = family_of(line.substr(0, line.rfind(' ')), {});
    }
    if (order.empty() || order.back() != family) order.push_back(family);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"tracker_http_requests_total",
                                             "tracker_events_invalid_total"}))
      << registry.render_prometheus();
}

// rate(x_sum) / rate(x_count) is how dashboards read mean latency; the rendered sum has to
// keep sub-second resolution even after the process has been up for a long time.
TEST(Registry, HistogramSumKeepsItsPrecision) {
  Registry registry;
  Histogram& latency = registry.histogram("tracker_http_request_duration_seconds", "latency");
  latency.observe(1234.5678);
  std::string rendered =
      samples_of(registry.render_prometheus()).at("tracker_http_request_duration_seconds_sum");
  EXPECT_NEAR(std::strtod(rendered.c_str(), nullptr), latency.sum(), 1e-6) << rendered;
}

}  // namespace
