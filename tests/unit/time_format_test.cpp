// RFC 3339 parsing and formatting, and the floor-division buckets of the counters.
#include "domain/time_format.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>

namespace {

using tracker::domain::bucket_start;
using tracker::domain::format_rfc3339_ms;
using tracker::domain::kDayMs;
using tracker::domain::kHourMs;
using tracker::domain::kMinuteMs;
using tracker::domain::parse_rfc3339_ms;

constexpr std::int64_t k2026 = 1795610760123;  // 2026-11-25T12:46:00.123Z

struct Parsed {
  const char* text;
  std::int64_t ms;
};

void expect_parses(std::initializer_list<Parsed> cases) {
  for (const Parsed& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(parse_rfc3339_ms(c.text), std::optional<std::int64_t>(c.ms));
  }
}

void expect_rejects(std::initializer_list<const char*> texts) {
  for (const char* text : texts) {
    SCOPED_TRACE(text);
    EXPECT_EQ(parse_rfc3339_ms(text), std::nullopt);
  }
}

// ---------------------------------------------------------------------------------------
// parse_rfc3339_ms

TEST(ParseRfc3339, ParsesUtc) {
  expect_parses({{"1970-01-01T00:00:00Z", 0},
                 {"2000-01-01T00:00:00Z", 946684800000},
                 {"2026-11-25T12:46:00.123Z", k2026},
                 {"1969-12-31T23:59:59.999Z", -1},
                 {"1900-03-01T00:00:00Z", -2203891200000}});
}

TEST(ParseRfc3339, AppliesNumericOffsets) {
  expect_parses({{"2026-11-25T21:46:00.123+09:00", k2026},
                 {"2026-11-25T12:46:00.123+00:00", k2026},
                 {"2026-11-25T12:46:00.123-00:00", k2026},
                 {"2026-11-25T07:16:00.123-05:30", k2026},
                 {"2026-11-26T00:31:00.123+11:45", k2026},
                 {"2026-11-25T00:46:00.123-12:00", k2026},
                 {"2025-12-31T18:30:00-05:30", 1767225600000},  // crosses into the new year
                 {"1970-01-01T09:00:00+09:00", 0}});
}

TEST(ParseRfc3339, AcceptsFractionsOfAnyLength) {
  expect_parses({{"2026-11-25T12:46:00.1Z", k2026 - 23},
                 {"2026-11-25T12:46:00.12Z", k2026 - 3},
                 {"2026-11-25T12:46:00.123Z", k2026},
                 {"2026-11-25T12:46:00.123456Z", k2026},
                 {"2026-11-25T12:46:00.123999999Z", k2026},  // truncated, not rounded
                 {"2026-11-25T12:46:00.000Z", k2026 - 123},
                 {"2026-11-25T12:46:00.999+09:00", k2026 - 123 + 999 - 9 * kHourMs},
                 {"2026-11-25T12:46:00.5-00:00", k2026 - 123 + 500}});
}

TEST(ParseRfc3339, AcceptsLowerCaseSeparatorsAndASpace) {
  expect_parses({{"2026-11-25t12:46:00.123z", k2026},
                 {"2026-11-25t21:46:00.123+09:00", k2026},
                 {"2026-11-25 12:46:00.123Z", k2026}});
}

TEST(ParseRfc3339, HandlesLeapDaysAndALeapSecond) {
  expect_parses({{"2024-02-29T23:59:59.999Z", 1709251199999},
                 {"2000-02-29T00:00:00Z", 951782400000},
                 // A leap second is held at :59 rather than spilling into the next minute.
                 {"2016-12-31T23:59:60Z", 1483228799000}});
}

TEST(ParseRfc3339, RejectsImpossibleDates) {
  expect_rejects({"2026-02-30T00:00:00Z", "2026-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
                  "2026-04-31T00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z",
                  "2026-01-00T00:00:00Z", "2026-01-32T00:00:00Z"});
}

TEST(ParseRfc3339, RejectsImpossibleTimes) {
  expect_rejects({"2026-11-25T24:00:00Z", "2026-11-25T23:60:00Z", "2026-11-25T23:59:61Z",
                  "2026-11-25T12:46:00+24:00", "2026-11-25T12:46:00+09:60"});
}

TEST(ParseRfc3339, RejectsMissingOrMalformedZones) {
  expect_rejects({"2026-11-25T12:46:00", "2026-11-25T12:46:00.123", "2026-11-25T12:46:00 Z",
                  "2026-11-25T12:46:00+09", "2026-11-25T12:46:00+0900", "2026-11-25T12:46:00+9:00",
                  "2026-11-25T12:46:00+09:0", "2026-11-25T12:46:00UTC", "2026-11-25T12:46:00GMT",
                  "2026-11-25T12:46:00ZZ", "2026-11-25T12:46:00Z ", "2026-11-25T12:46:00+09:00Z"});
}

TEST(ParseRfc3339, RejectsMalformedText) {
  expect_rejects({"", "2026", "2026-11-25", "12:46:00Z", " 2026-11-25T12:46:00Z",
                  "2026/11/25T12:46:00Z", "2026-11-25X12:46:00Z", "2026-11-25T12.46.00Z",
                  "2026-1-25T12:46:00Z", "26-11-25T12:46:00Z", "+2026-11-25T12:46:00Z",
                  "2026-11-25T12:46:00.Z", "2026-11-25T12:46:00,123Z", "2026-11-25T1a:46:00Z",
                  "1795610760123", "2026-11-25T12:46Z", "２０２６-11-25T12:46:00Z"});
}

// ---------------------------------------------------------------------------------------
// format_rfc3339_ms

TEST(FormatRfc3339, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(format_rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339_ms(k2026), "2026-11-25T12:46:00.123Z");
  EXPECT_EQ(format_rfc3339_ms(1709251199999), "2024-02-29T23:59:59.999Z");
  EXPECT_EQ(format_rfc3339_ms(253402300799999), "9999-12-31T23:59:59.999Z");
}

TEST(FormatRfc3339, FormatsTimesBeforeTheEpoch) {
  EXPECT_EQ(format_rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_rfc3339_ms(-kDayMs), "1969-12-31T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339_ms(-kDayMs - 1), "1969-12-30T23:59:59.999Z");
  EXPECT_EQ(format_rfc3339_ms(-2203891200000), "1900-03-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339_ms(-62135596800000), "0001-01-01T00:00:00.000Z");
}

TEST(FormatRfc3339, YearsPastFourDigits) {
  EXPECT_EQ(format_rfc3339_ms(253402300800000), "10000-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339_ms(-62167219200000), "0000-01-01T00:00:00.000Z");
}

TEST(FormatRfc3339, AppendsToText) {
  std::string text = "at ";
  tracker::domain::append_rfc3339_ms(text, k2026);
  EXPECT_EQ(text, "at 2026-11-25T12:46:00.123Z");
}

TEST(FormatRfc3339, TimestampWriterWritesWhatFormatWrites) {
  // Minutes across day, month, year and leap-day boundaries, going back and forth, and
  // years the short form cannot hold.
  std::vector<std::int64_t> times;
  for (std::int64_t start : {std::int64_t{1709164800000} - 3 * 60'000, std::int64_t{1735689600000} - 90'000,
                             std::int64_t{-kDayMs} - 120'000}) {
    for (int i = 0; i < 8; ++i) times.push_back(start + i * 60'000 + (i % 3) * 17);
  }
  times.insert(times.end(), {0, k2026, -62135596800000, 253402300799999, 253402300800000, -62135596800001,
                             k2026 + 1, -1});
  tracker::domain::TimestampWriter writer;
  std::string written, expected;
  for (std::int64_t ms : times) {
    writer.append(written, ms);
    written += ',';
    expected += format_rfc3339_ms(ms) + ',';
  }
  EXPECT_EQ(written, expected);
  std::string one;
  tracker::domain::append_rfc3339_ms(one, k2026);
  EXPECT_EQ(one, "2026-11-25T12:46:00.123Z");
}

TEST(FormatRfc3339, RoundTripsThroughParse) {
  for (std::int64_t ms : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{1}, k2026,
                          std::int64_t{951782400000}, std::int64_t{-62135596800000},
                          std::int64_t{253402300799999}, std::int64_t{-2203891200001}}) {
    SCOPED_TRACE(ms);
    EXPECT_EQ(parse_rfc3339_ms(format_rfc3339_ms(ms)), ms);
  }
  // Every millisecond of a day boundary, and a stride through a few centuries.
  for (std::int64_t ms = -1500; ms <= 1500; ++ms) {
    ASSERT_EQ(parse_rfc3339_ms(format_rfc3339_ms(ms)), ms) << ms;
  }
  for (std::int64_t ms = -4'000'000'000'000; ms <= 4'000'000'000'000; ms += 7'777'777'777) {
    ASSERT_EQ(parse_rfc3339_ms(format_rfc3339_ms(ms)), ms) << ms;
  }
}

TEST(FormatRfc3339, NormalisesOffsetsToUtc) {
  auto ms = parse_rfc3339_ms("2026-11-25T21:46:00.123+09:00");
  ASSERT_TRUE(ms);
  EXPECT_EQ(format_rfc3339_ms(*ms), "2026-11-25T12:46:00.123Z");
}

// ---------------------------------------------------------------------------------------
// bucket_start

TEST(BucketStart, FloorsPositiveTimes) {
  EXPECT_EQ(bucket_start(0, kMinuteMs), 0);
  EXPECT_EQ(bucket_start(59'999, kMinuteMs), 0);
  EXPECT_EQ(bucket_start(60'000, kMinuteMs), 60'000);
  EXPECT_EQ(bucket_start(k2026, kMinuteMs), k2026 - 123);
  EXPECT_EQ(bucket_start(k2026, kHourMs), k2026 - 123 - 46 * kMinuteMs);
  EXPECT_EQ(bucket_start(k2026, kDayMs), k2026 - 123 - 46 * kMinuteMs - 12 * kHourMs);
}

TEST(BucketStart, FloorsNegativeTimesDownwards) {
  EXPECT_EQ(bucket_start(-1, kMinuteMs), -kMinuteMs);
  EXPECT_EQ(bucket_start(-59'999, kMinuteMs), -kMinuteMs);
  EXPECT_EQ(bucket_start(-60'000, kMinuteMs), -kMinuteMs);
  EXPECT_EQ(bucket_start(-60'001, kMinuteMs), -2 * kMinuteMs);
  EXPECT_EQ(bucket_start(-1, kDayMs), -kDayMs);
  EXPECT_EQ(bucket_start(-kDayMs, kDayMs), -kDayMs);
  EXPECT_EQ(bucket_start(-2203891200001, kDayMs), -2203891200000 - kDayMs);
}

TEST(BucketStart, IsAlwaysAtOrBeforeTheTimeAndWithinOneWidth) {
  for (std::int64_t width : {kMinuteMs, kHourMs, kDayMs}) {
    for (std::int64_t ms = -3 * kDayMs; ms <= 3 * kDayMs; ms += 999'983) {
      std::int64_t start = bucket_start(ms, width);
      ASSERT_LE(start, ms);
      ASSERT_GT(start + width, ms);
      ASSERT_EQ(start % width, 0);
    }
  }
}

}  // namespace
