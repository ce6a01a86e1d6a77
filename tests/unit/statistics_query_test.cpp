// Statistics query parsing: every combination of from, to and interval is either refused
// or a range that is never empty, aligned, and printable as RFC 3339 at both ends.
#include "domain/statistics_query.hpp"
#include "domain/time_format.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace {

using namespace tracker::domain;

constexpr std::int64_t kNow = 1'795'000'000'000;  // 2026-11-18

const std::vector<std::optional<std::string>> kTimes = {
    std::nullopt,
    "",
    "garbage",
    "1970-01-01T00:00:00Z",
    "1969-12-31T23:59:59.999Z",
    format_rfc3339_ms(kNow - kHourMs),
    format_rfc3339_ms(kNow + 4 * kMinuteMs),
    format_rfc3339_ms(kNow + 30),
    "0000-01-01T00:00:00Z",
    "0000-01-01T00:00:00+01:00",
    "0000-01-01T00:00:00-01:00",
    "9999-12-31T23:59:59.999Z",
    "9999-12-31T23:59:59-23:59",
    "9999-12-31T00:00:00Z",
    "9999-12-30T23:59:00Z",
};

QueryParams params_of(std::initializer_list<std::pair<const char*, std::optional<std::string>>> items) {
  QueryParams params;
  for (const auto& [name, value] : items) {
    if (value) params[name] = *value;
  }
  return params;
}

bool printable(std::int64_t ms) {
  static const std::regex rfc3339(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$)");
  return std::regex_match(format_rfc3339_ms(ms), rfc3339);
}

TEST(CountQuery, ToAloneIsARangeFromTheEarliestTime) {
  auto parsed = parse_count_query(params_of({{"eventType", "CLICK"}, {"componentId", "1"}, {"to", "1970-01-01T00:00:00Z"}}));
  ASSERT_TRUE(std::holds_alternative<CountQuery>(parsed));
  const auto& range = std::get<CountQuery>(parsed).range;
  ASSERT_TRUE(range);
  EXPECT_EQ(range->from_ms, kEarliestMs);
  EXPECT_EQ(range->to_ms, 0);
}

TEST(CountQuery, FromAloneIsARangeToTheLatestTime) {
  auto parsed = parse_count_query(params_of({{"eventType", "CLICK"}, {"componentId", "1"},
                                             {"from", format_rfc3339_ms(kNow + 4 * kMinuteMs)}}));
  ASSERT_TRUE(std::holds_alternative<CountQuery>(parsed));
  const auto& range = std::get<CountQuery>(parsed).range;
  ASSERT_TRUE(range);
  EXPECT_EQ(range->from_ms, bucket_start(kNow + 4 * kMinuteMs, kMinuteMs));
  EXPECT_EQ(range->to_ms, kLatestMs + 1);
}

TEST(CountQuery, NoTimesIsAllTime) {
  auto parsed = parse_count_query(params_of({{"eventType", "CLICK"}, {"componentId", "1"}}));
  ASSERT_TRUE(std::holds_alternative<CountQuery>(parsed));
  EXPECT_FALSE(std::get<CountQuery>(parsed).range);
}

TEST(CountQuery, EveryCombinationIsRefusedOrANonEmptyMinuteRange) {
  for (const auto& from : kTimes) {
    for (const auto& to : kTimes) {
      SCOPED_TRACE(from.value_or("-") + " .. " + to.value_or("-"));
      auto parsed = parse_count_query(params_of({{"eventType", "CLICK"}, {"componentId", "1"}, {"from", from}, {"to", to}}));
      if (auto* error = std::get_if<FieldError>(&parsed)) {
        EXPECT_TRUE(error->field == "from" || error->field == "to") << error->field;
        continue;
      }
      const auto& range = std::get<CountQuery>(parsed).range;
      ASSERT_EQ(range.has_value(), from || to);
      if (!range) continue;
      EXPECT_LT(range->from_ms, range->to_ms);
      EXPECT_EQ(range->from_ms % kMinuteMs, 0);
      EXPECT_EQ(range->to_ms % kMinuteMs, 0);
      EXPECT_GE(range->from_ms, kEarliestMs);
      EXPECT_LE(range->to_ms, kLatestMs + 1);
    }
  }
}

TEST(SeriesQuery, EveryCombinationIsRefusedOrAPrintableAlignedRange) {
  for (const char* interval : {"minute", "hour", "day"}) {
    const std::int64_t width = interval_ms(interval[0] == 'm' ? Interval::Minute : interval[0] == 'h' ? Interval::Hour : Interval::Day);
    for (const auto& from : kTimes) {
      for (const auto& to : kTimes) {
        SCOPED_TRACE(std::string(interval) + " " + from.value_or("-") + " .. " + to.value_or("-"));
        auto parsed = parse_series_query(
            params_of({{"eventType", "CLICK"}, {"interval", interval}, {"from", from}, {"to", to}}), kNow);
        if (std::holds_alternative<FieldError>(parsed)) continue;
        const auto& query = std::get<SeriesQuery>(parsed);
        EXPECT_LT(query.from_ms, query.to_ms);
        EXPECT_EQ(query.from_ms % width, 0);
        EXPECT_EQ(query.to_ms % width, 0);
        EXPECT_LE((query.to_ms - query.from_ms) / width, static_cast<std::int64_t>(kMaxSeriesBuckets));
        EXPECT_TRUE(printable(query.from_ms)) << format_rfc3339_ms(query.from_ms);
        EXPECT_TRUE(printable(query.to_ms)) << format_rfc3339_ms(query.to_ms);
      }
    }
  }
}

TEST(SeriesQuery, EndingInYear9999) {
  auto parsed = parse_series_query(params_of({{"eventType", "CLICK"}, {"interval", "day"},
                                              {"from", "9999-12-01T00:00:00Z"}, {"to", "9999-12-31T00:00:00Z"}}),
                                   kNow);
  ASSERT_TRUE(std::holds_alternative<SeriesQuery>(parsed));
  EXPECT_EQ(format_rfc3339_ms(std::get<SeriesQuery>(parsed).to_ms), "9999-12-31T00:00:00.000Z");
  parsed = parse_series_query(params_of({{"eventType", "CLICK"}, {"interval", "day"},
                                         {"from", "9999-12-01T00:00:00Z"}, {"to", "9999-12-31T00:00:01Z"}}),
                              kNow);
  ASSERT_TRUE(std::holds_alternative<FieldError>(parsed));
  EXPECT_EQ(std::get<FieldError>(parsed).field, "to");
}

TEST(StatisticsFilter, KeywordsAreNormalisedLikeEverywhere) {
  for (const char* spelling : {"Cats", " cats", "#cats", "\u3000CATS\u00a0"}) {
    auto parsed = parse_count_query(params_of({{"eventType", "SEARCH"}, {"componentId", "1"}, {"keyword", spelling}}));
    ASSERT_TRUE(std::holds_alternative<CountQuery>(parsed)) << spelling;
    EXPECT_EQ(std::get<CountQuery>(parsed).filter.keyword, "cats");
  }
  for (const char* blank : {"", " ", "\u3000", "\u00a0", "#"}) {
    auto parsed = parse_count_query(params_of({{"eventType", "SEARCH"}, {"componentId", "1"}, {"keyword", blank}}));
    ASSERT_TRUE(std::holds_alternative<FieldError>(parsed)) << blank;
    EXPECT_EQ(std::get<FieldError>(parsed).field, "keyword");
  }
  auto star = parse_count_query(params_of({{"eventType", "SEARCH"}, {"componentId", "1"}, {"keyword", "*"}}));
  ASSERT_TRUE(std::holds_alternative<CountQuery>(star));
  EXPECT_EQ(shape_of(std::get<CountQuery>(star).filter), (QueryShape{"SEARCH", 1, 0, "*"}));
}

}  // namespace

namespace {

TEST(SeriesQuery, FormatIsBucketsUnlessColumnsIsAsked) {
  auto plain = parse_series_query(params_of({{"eventType", "CLICK"}}), kNow);
  ASSERT_TRUE(std::holds_alternative<SeriesQuery>(plain));
  EXPECT_EQ(std::get<SeriesQuery>(plain).format, SeriesFormat::Buckets);
  for (auto [given, wanted] : {std::pair{"buckets", SeriesFormat::Buckets}, std::pair{"columns", SeriesFormat::Columns}}) {
    auto parsed = parse_series_query(params_of({{"eventType", "CLICK"}, {"format", given}}), kNow);
    ASSERT_TRUE(std::holds_alternative<SeriesQuery>(parsed)) << given;
    EXPECT_EQ(std::get<SeriesQuery>(parsed).format, wanted) << given;
  }
  for (const char* unknown : {"", "COLUMNS", "csv", "column"}) {
    auto parsed = parse_series_query(params_of({{"eventType", "CLICK"}, {"format", unknown}}), kNow);
    ASSERT_TRUE(std::holds_alternative<FieldError>(parsed)) << unknown;
    EXPECT_EQ(std::get<FieldError>(parsed).field, "format") << unknown;
  }
}

}  // namespace
