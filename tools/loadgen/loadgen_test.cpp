// The load generator's histogram and request bodies.
#include "histogram.hpp"
#include "workload.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <fstream>

#include <random>
#include <set>

namespace loadgen {
namespace {

TEST(LoadgenHistogram, SmallValuesAreExact) {
  for (std::uint64_t v = 0; v < 2 * Histogram::kHalf; ++v) {
    EXPECT_EQ(Histogram::lowest_of(Histogram::index_of(v)), v);
    EXPECT_EQ(Histogram::highest_of(Histogram::index_of(v)), v);
  }
}

TEST(LoadgenHistogram, BucketsHoldTheirValuesWithinOnePercent) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100000; ++i) {
    std::uint64_t v = rng() >> (24 + rng() % 40);
    std::size_t index = Histogram::index_of(v);
    ASSERT_LE(Histogram::lowest_of(index), v);
    ASSERT_GE(Histogram::highest_of(index), v);
    ASSERT_LE(Histogram::highest_of(index) - Histogram::lowest_of(index), v / Histogram::kHalf + 1);
  }
  // Buckets tile the range without gaps.
  for (std::size_t i = 1; i < Histogram::kBuckets; ++i) {
    ASSERT_EQ(Histogram::lowest_of(i), Histogram::highest_of(i - 1) + 1) << i;
  }
}

TEST(LoadgenHistogram, Percentiles) {
  Histogram h;
  for (std::uint64_t v = 1; v <= 100000; ++v) h.record(v * 1000);  // 1 us .. 100 ms
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_EQ(h.max(), 100000u * 1000);
  auto near = [](std::uint64_t got, double want) { return std::abs(static_cast<double>(got) - want) <= want / 100; };
  EXPECT_TRUE(near(h.percentile(50), 50e6)) << h.percentile(50);
  EXPECT_TRUE(near(h.percentile(99), 99e6)) << h.percentile(99);
  EXPECT_TRUE(near(h.percentile(99.9), 99.9e6)) << h.percentile(99.9);
  EXPECT_EQ(h.percentile(100), h.max());
  Histogram other;
  other.record(5);
  h.add(other);
  EXPECT_EQ(h.count(), 100001u);
  EXPECT_EQ(h.min(), 5u);
  EXPECT_EQ(Histogram{}.percentile(99), 0u);
}

TEST(LoadgenWorkload, MixEventMatchesTheWrkScript) {
  // bench/lib/events.lua, event(3): a LIKE.
  EXPECT_EQ(mix_event(3, "session-"),
            R"({"eventType":"LIKE","userId":58,"sessionId":"session-93","metadata":{"componentId":1874,)"
            R"("elementId":"element-4","keyword":null,"postId":4,"page":"/posts/4"}})");
  auto search = boost::json::parse(mix_event(6, "lt-x-")).as_object();
  EXPECT_EQ(search.at("eventType").as_string(), "SEARCH");
  EXPECT_EQ(search.at("sessionId").as_string(), "lt-x-186");
  EXPECT_EQ(search.at("metadata").at("keyword").as_string(), "keyword-7");
}

TEST(LoadgenWorkload, TargetsAreTheFilesPathsAtRandom) {
  std::string path = ::testing::TempDir() + "loadgen_targets.txt";
  {
    std::ofstream out(path);
    out << "/api/statistics?eventType=CLICK&componentId=1\n\nnot a path\n/api/statistics/summary\n";
  }
  WorkloadOptions o;
  o.scenario = "targets";
  o.targets_file = path;
  o.host_header = "127.0.0.1:8080";
  auto workload = make_workload(o);
  std::mt19937_64 rng(3);
  std::uint64_t seq = 0;
  Request scratch;
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const Request& r = workload->next(rng, seq, scratch);
    seen.insert(r.bytes.substr(0, r.bytes.find(" HTTP/1.1\r\n")));
  }
  EXPECT_EQ(seen, (std::set<std::string>{"GET /api/statistics?eventType=CLICK&componentId=1", "GET /api/statistics/summary"}));
  o.targets_file = ::testing::TempDir() + "no-such-file";
  EXPECT_THROW(make_workload(o), std::invalid_argument);
}

std::string body_of(const std::string& request) { return request.substr(request.find("\r\n\r\n") + 4); }

TEST(LoadgenWorkload, EveryScenarioBuildsWellFormedRequests) {
  for (std::string scenario : {"events", "batch", "users", "stats", "posts"}) {
    WorkloadOptions o;
    o.scenario = scenario;
    o.batch = 5;
    o.host_header = "127.0.0.1:8080";
    auto workload = make_workload(o);
    std::mt19937_64 rng(1);
    std::uint64_t seq = 0;
    Request scratch;
    for (int i = 0; i < 200; ++i) {
      const Request& r = workload->next(rng, seq, scratch);
      ASSERT_NE(r.bytes.find(" HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"), std::string::npos) << r.bytes;
      std::string body = body_of(r.bytes);
      if (r.bytes.starts_with("POST ")) {
        ASSERT_NE(r.bytes.find("Content-Length: " + std::to_string(body.size()) + "\r\n"), std::string::npos);
        auto value = boost::json::parse(body);
        if (r.kind == Kind::Batch) {
          ASSERT_EQ(value.at("events").as_array().size(), 5u);
          ASSERT_EQ(r.events, 5u);
        }
      } else {
        ASSERT_TRUE(r.bytes.starts_with("GET /api/")) << r.bytes;
        ASSERT_TRUE(body.empty());
      }
    }
  }
  WorkloadOptions unknown;
  unknown.scenario = "nope";
  EXPECT_THROW(make_workload(unknown), std::invalid_argument);
}

}  // namespace
}  // namespace loadgen
