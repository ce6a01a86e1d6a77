// Server-assigned event ids: UUIDv7 (RFC 9562) with a per-generator sequence that keeps
// the ids of one generator strictly increasing.
#include "domain/event_id.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace {

using tracker::domain::EventIdGenerator;
using tracker::domain::is_uuid;
using tracker::domain::uuid_v7_unix_ms;

constexpr std::int64_t kMs = 1795610760123;  // 2026-11-25T12:46:00.123Z

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The 12 bits after the version nibble (rand_a), where the generator keeps its sequence.
int sequence_of(const std::string& id) {
  return hex_digit(id[15]) * 256 + hex_digit(id[16]) * 16 + hex_digit(id[17]);
}

TEST(EventId, HasTheCanonicalLowerCaseFormat) {
  EventIdGenerator generator;
  std::string id = generator.next(kMs);
  ASSERT_EQ(id.size(), 36u);
  for (std::size_t i = 0; i < id.size(); ++i) {
    SCOPED_TRACE(i);
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      EXPECT_EQ(id[i], '-');
    } else {
      EXPECT_NE(hex_digit(id[i]), -1) << "lower-case hex expected, got '" << id[i] << "'";
    }
  }
  EXPECT_TRUE(is_uuid(id));
}

TEST(EventId, CarriesVersion7AndTheRfc9562Variant) {
  EventIdGenerator generator;
  for (int i = 0; i < 1000; ++i) {
    std::string id = generator.next(kMs + i / 3);
    SCOPED_TRACE(id);
    EXPECT_EQ(id[14], '7');
    // Variant 0b10xx: the first hex digit of the fourth group is 8, 9, a or b.
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos);
  }
}

TEST(EventId, EmbedsTheGivenMillisecondsBigEndian) {
  EventIdGenerator generator;
  std::string id = generator.next(kMs);
  // 1795610760123 = 0x01a2 12bd d3bb
  EXPECT_EQ(id.substr(0, 13), "01a212bd-d3bb");
  EXPECT_EQ(uuid_v7_unix_ms(id), kMs);
}

TEST(EventId, TimeIsExtractableAcrossTheRange) {
  for (std::int64_t ms : {std::int64_t{0}, std::int64_t{1}, std::int64_t{946684800000}, kMs,
                          std::int64_t{253402300799999}, std::int64_t{0xFFFFFFFFFFFF}}) {
    SCOPED_TRACE(ms);
    EventIdGenerator generator;
    EXPECT_EQ(uuid_v7_unix_ms(generator.next(ms)), ms);
  }
}

TEST(EventId, StrictlyIncreasingWithinOneMillisecond) {
  EventIdGenerator generator;
  std::vector<std::string> ids;
  for (int i = 0; i < 10'000; ++i) ids.push_back(generator.next(kMs));

  std::set<std::string> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), ids.size());
  for (std::size_t i = 1; i < ids.size(); ++i) {
    ASSERT_LT(ids[i - 1], ids[i]) << "at " << i;
    ASSERT_LE(uuid_v7_unix_ms(ids[i - 1]), uuid_v7_unix_ms(ids[i])) << "at " << i;
  }
}

TEST(EventId, SequenceOverflowCarriesIntoTheNextMillisecond) {
  EventIdGenerator generator;
  std::vector<std::string> ids;
  for (int i = 0; i < 10'000; ++i) ids.push_back(generator.next(kMs));

  EXPECT_EQ(uuid_v7_unix_ms(ids.front()), kMs);
  // A millisecond holds at most 4096 sequence values, so the 4097th id is past it.
  EXPECT_GT(uuid_v7_unix_ms(ids[4096]), kMs);
  // 10,000 ids need at least three milliseconds, and the carry never runs far ahead.
  EXPECT_GE(uuid_v7_unix_ms(ids.back()), kMs + 2);
  EXPECT_LE(uuid_v7_unix_ms(ids.back()), kMs + 3);
  for (const std::string& id : ids) ASSERT_LE(sequence_of(id), 0x0FFF);
}

TEST(EventId, FirstIdOfAMillisecondLeavesRoomToCountUp) {
  EventIdGenerator generator;
  for (std::int64_t ms = kMs; ms < kMs + 2000; ++ms) {
    std::string id = generator.next(ms);
    ASSERT_LE(sequence_of(id), 0x01FF) << id;
    ASSERT_EQ(uuid_v7_unix_ms(id), ms);
  }
}

TEST(EventId, SequenceCountsUpByOneWithinAMillisecond) {
  EventIdGenerator generator;
  std::string first = generator.next(kMs);
  std::string second = generator.next(kMs);
  EXPECT_EQ(sequence_of(second), sequence_of(first) + 1);
}

TEST(EventId, StillIncreasingWhenTheClockGoesBackwards) {
  EventIdGenerator generator;
  std::vector<std::int64_t> clock = {kMs,        kMs - 1,        kMs - 1000, kMs + 1,
                                     kMs - 3'600'000, kMs + 5, kMs + 4, kMs + 5, 0, kMs + 6};
  std::string previous;
  for (std::int64_t ms : clock) {
    std::string id = generator.next(ms);
    SCOPED_TRACE(ms);
    EXPECT_LT(previous, id);
    EXPECT_GE(uuid_v7_unix_ms(id), uuid_v7_unix_ms(previous.empty() ? id : previous));
    previous = id;
  }
  // After the step back, the ids keep the latest time seen instead of the earlier clock.
  EXPECT_GE(uuid_v7_unix_ms(previous), kMs + 6);
}

TEST(EventId, ClockStepBackKeepsTheLastTime) {
  EventIdGenerator generator;
  generator.next(kMs);
  std::string id = generator.next(kMs - 60'000);
  EXPECT_EQ(uuid_v7_unix_ms(id), kMs);
}

TEST(EventId, ManyMillisecondsAreUniqueAndOrdered) {
  EventIdGenerator generator;
  std::string previous;
  std::set<std::string> seen;
  for (int i = 0; i < 20'000; ++i) {
    std::string id = generator.next(kMs + i / 7);
    ASSERT_LT(previous, id) << "at " << i;
    ASSERT_TRUE(seen.insert(id).second) << id;
    previous = id;
  }
}

TEST(EventId, TwoGeneratorsDoNotCollide) {
  EventIdGenerator a;
  EventIdGenerator b;
  std::set<std::string> ids;
  for (int i = 0; i < 2000; ++i) {
    ids.insert(a.next(kMs));
    ids.insert(b.next(kMs));
  }
  EXPECT_EQ(ids.size(), 4000u);
}

TEST(EventId, RandomTailDiffersBetweenIds) {
  EventIdGenerator generator;
  std::set<std::string> tails;
  for (int i = 0; i < 100; ++i) tails.insert(generator.next(kMs).substr(19));
  EXPECT_EQ(tails.size(), 100u);
}

TEST(IsUuid, AcceptsAnyCaseAndVersion) {
  EXPECT_TRUE(is_uuid("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"));
  EXPECT_TRUE(is_uuid("0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B"));
  EXPECT_TRUE(is_uuid("123e4567-e89b-12d3-a456-426614174000"));
  EXPECT_TRUE(is_uuid("00000000-0000-0000-0000-000000000000"));
  EXPECT_TRUE(is_uuid("ffffffff-ffff-ffff-ffff-ffffffffffff"));
}

TEST(IsUuid, RejectsMalformedText) {
  for (const char* text : {"", "0190a1b2c3d47e5f8a9b0c1d2e3f4a5b",
                           "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b0",
                           "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5g", "0190a1b2-c3d4-7e5f-8a9b0-c1d2e3f4a5b",
                           "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5 ", "0190a1b2+c3d4-7e5f-8a9b-0c1d2e3f4a5b",
                           "{190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5}"}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(is_uuid(text));
  }
}

TEST(UuidV7UnixMs, ReadsUpperCaseToo) {
  EXPECT_EQ(uuid_v7_unix_ms("01A212BD-D3BB-7000-8000-000000000000"), kMs);
}

TEST(UuidV7UnixMs, IsMinusOneForOtherVersionsAndNonUuids) {
  EXPECT_EQ(uuid_v7_unix_ms("01a212bd-d3bb-4000-8000-000000000000"), -1);
  EXPECT_EQ(uuid_v7_unix_ms("123e4567-e89b-12d3-a456-426614174000"), -1);
  EXPECT_EQ(uuid_v7_unix_ms("not a uuid"), -1);
  EXPECT_EQ(uuid_v7_unix_ms(""), -1);
}

}  // namespace
