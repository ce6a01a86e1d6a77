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

TEST(SeriesAnswer, AnEmptyRangeIsAnEmptyArray) {
  Case none{domain::Interval::Hour, 0, 0};
  json::value columns = json::parse(http::series_answer(query_of(none, domain::SeriesFormat::Columns), {}));
  EXPECT_TRUE(columns.at("counts").as_array().empty());
  EXPECT_EQ(columns.at("total").as_int64(), 0);
}

}  // namespace
