// The series answer in both formats: columns hold the same counts as the buckets, in
// order, and start + i * step is the start of bucket i.
#include "http/series_answer.hpp"

#include "domain/time_format.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace {

namespace json = boost::json;
using namespace tracker;

struct Case {
  domain::Interval interval;
  std::int64_t from_ms;
  std::size_t buckets;
};

std::vector<app::SeriesPoint> points_of(const Case& c) {
  std::vector<app::SeriesPoint> points;
  const std::int64_t step = domain::interval_ms(c.interval);
  for (std::size_t i = 0; i < c.buckets; ++i) {
    // Empty buckets, small counts and counts past 32 bits.
    std::int64_t count = i % 3 == 0 ? 0 : i % 7 == 0 ? 1'000'000'000'000 : static_cast<std::int64_t>(i * 37);
    points.push_back({c.from_ms + static_cast<std::int64_t>(i) * step, count});
  }
  return points;
}

domain::SeriesQuery query_of(const Case& c, domain::SeriesFormat format) {
  domain::SeriesQuery query;
  query.filter.type = domain::EventType::Click;
  query.interval = c.interval;
  query.from_ms = c.from_ms;
  query.to_ms = c.from_ms + static_cast<std::int64_t>(c.buckets) * domain::interval_ms(c.interval);
  query.format = format;
  return query;
}

TEST(SeriesAnswer, ColumnsCarryTheBucketsCountsAndStarts) {
  const std::int64_t day_start = 1'795'000'000'000 / domain::kDayMs * domain::kDayMs;
  for (const Case& c : {Case{domain::Interval::Minute, day_start, 1440}, Case{domain::Interval::Hour, day_start, 25},
                        Case{domain::Interval::Day, day_start - 30 * domain::kDayMs, 31},
                        Case{domain::Interval::Minute, day_start, 1}}) {
    SCOPED_TRACE(std::string(domain::to_string(c.interval)) + " x " + std::to_string(c.buckets));
    auto points = points_of(c);
    json::value buckets = json::parse(http::series_answer(query_of(c, domain::SeriesFormat::Buckets), points));
    json::value columns = json::parse(http::series_answer(query_of(c, domain::SeriesFormat::Columns), points));

    for (const char* member : {"eventType", "interval", "from", "to", "total"}) {
      EXPECT_EQ(buckets.at(member), columns.at(member)) << member;
    }
    EXPECT_FALSE(columns.as_object().contains("buckets"));
    EXPECT_EQ(columns.at("start").as_int64(), c.from_ms);
    EXPECT_EQ(columns.at("step").as_int64(), domain::interval_ms(c.interval));
    const auto& counts = columns.at("counts").as_array();
    const auto& objects = buckets.at("buckets").as_array();
    ASSERT_EQ(counts.size(), objects.size());
    ASSERT_EQ(counts.size(), c.buckets);
    for (std::size_t i = 0; i < counts.size(); ++i) {
      EXPECT_EQ(counts[i].as_int64(), objects[i].at("count").as_int64()) << i;
      EXPECT_EQ(domain::format_rfc3339_ms(columns.at("start").as_int64() + static_cast<std::int64_t>(i) * columns.at("step").as_int64()),
                objects[i].at("start").as_string())
          << i;
    }
  }
}

TEST(SeriesAnswer, ADayOfMinutesInColumnsIsFarSmaller) {
  const Case day{domain::Interval::Minute, 1'795'000'000'000 / domain::kDayMs * domain::kDayMs, 1441};
  auto points = points_of(day);
  auto buckets = http::series_answer(query_of(day, domain::SeriesFormat::Buckets), points);
  auto columns = http::series_answer(query_of(day, domain::SeriesFormat::Columns), points);
  EXPECT_LT(columns.size() * 2, buckets.size());
}

// Each bucket's start and count, as the buckets answer gives them.
std::vector<std::pair<std::string, std::int64_t>> buckets_of(const std::string& answer) {
  std::vector<std::pair<std::string, std::int64_t>> out;
  const json::value parsed = json::parse(answer);
  for (const auto& bucket : parsed.at("buckets").as_array()) {
    out.emplace_back(std::string(bucket.at("start").as_string()), bucket.at("count").as_int64());
  }
  return out;
}

std::vector<std::pair<std::string, std::int64_t>> expected_buckets(const std::vector<app::SeriesPoint>& points) {
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (const auto& point : points) out.emplace_back(domain::format_rfc3339_ms(point.start_ms), point.count);
  return out;
}

// The bucket texts a thread rendered for one range must not leak into the answer for
// another: one after the other on one thread, the same range longer and shorter, moved on
// by a minute, another width, points that are not contiguous and years past 9999.
TEST(SeriesAnswer, EveryAnswerHasItsOwnBucketStarts) {
  const std::int64_t day_start = 1'795'000'000'000 / domain::kDayMs * domain::kDayMs;
  const std::vector<Case> cases = {
      {domain::Interval::Minute, day_start, 1441},  {domain::Interval::Minute, day_start, 10},
      {domain::Interval::Minute, day_start, 1441},  {domain::Interval::Minute, day_start + domain::kMinuteMs, 1441},
      {domain::Interval::Hour, day_start + domain::kMinuteMs, 25}, {domain::Interval::Minute, 253'402'300'740'000, 3},
      {domain::Interval::Minute, day_start, 1441},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::to_string(c.from_ms) + " " + std::string(domain::to_string(c.interval)) + " x " + std::to_string(c.buckets));
    auto points = points_of(c);
    EXPECT_EQ(buckets_of(http::series_answer(query_of(c, domain::SeriesFormat::Buckets), points)), expected_buckets(points));
  }
  Case gaps{domain::Interval::Minute, day_start, 5};
  auto points = points_of(gaps);
  points[3].start_ms += domain::kHourMs;
  EXPECT_EQ(buckets_of(http::series_answer(query_of(gaps, domain::SeriesFormat::Buckets), points)), expected_buckets(points));
}

TEST(SeriesAnswer, AnEmptyRangeIsAnEmptyArray) {
  Case none{domain::Interval::Hour, 0, 0};
  json::value columns = json::parse(http::series_answer(query_of(none, domain::SeriesFormat::Columns), {}));
  EXPECT_TRUE(columns.at("counts").as_array().empty());
  EXPECT_EQ(columns.at("total").as_int64(), 0);
  json::value buckets = json::parse(http::series_answer(query_of(none, domain::SeriesFormat::Buckets), {}));
  EXPECT_TRUE(buckets.at("buckets").as_array().empty());
}

}  // namespace
