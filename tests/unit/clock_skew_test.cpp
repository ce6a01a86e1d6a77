// sentAt: event times moved onto the server's clock (domain/clock_skew.hpp), alone and
// through event and batch validation.
#include "domain/clock_skew.hpp"
#include "domain/event_validation.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cstdint>

namespace {

namespace json = boost::json;
using namespace tracker::domain;

// 2026-11-25T12:46:00.123Z, the server's receive time in every test.
constexpr std::int64_t kNow = 1795610760123;
constexpr std::int64_t kMinute = 60'000;
constexpr std::int64_t kHour = 60 * kMinute;
constexpr std::int64_t kYear = 365 * 24 * kHour;

json::object click() {
  return json::parse(R"({"eventType": "CLICK", "userId": 42, "sessionId": "s-1",
      "metadata": {"componentId": 1002}})")
      .as_object();
}

Event accepted(const json::value& body, std::optional<std::int64_t> batch_sent_at = std::nullopt) {
  auto result = validate_event(body, json::serialize(body), kNow, {}, batch_sent_at);
  if (auto* error = std::get_if<FieldError>(&result)) {
    ADD_FAILURE() << "rejected " << json::serialize(body) << ": " << error->code << " " << error->message;
    return {};
  }
  return std::get<Event>(std::move(result));
}

FieldError rejected(const json::value& body, std::optional<std::int64_t> batch_sent_at = std::nullopt) {
  auto result = validate_event(body, json::serialize(body), kNow, {}, batch_sent_at);
  if (auto* error = std::get_if<FieldError>(&result)) return *error;
  ADD_FAILURE() << "accepted " << json::serialize(body);
  return {};
}

// ---------------------------------------------------------------------------------------
// The arithmetic

TEST(ClockSkew, OffsetIsReceiveTimeMinusSentAt) {
  EXPECT_EQ(skew_of(kNow, kNow).offset_ms, 0);
  EXPECT_EQ(skew_of(kNow, kNow - kHour).offset_ms, kHour) << "a client clock an hour behind";
  EXPECT_EQ(skew_of(kNow, kNow + 3 * kYear).offset_ms, -3 * kYear) << "a client clock years ahead";
}

TEST(ClockSkew, CorrectionAddsTheOffset) {
  // The client's clock is 2 hours behind: it stamped an event 10 s before sending.
  ClockSkew skew = skew_of(kNow, kNow - 2 * kHour);
  EXPECT_EQ(on_server_clock(kNow - 2 * kHour - 10'000, skew), kNow - 10'000);
  EXPECT_EQ(on_server_clock(kNow, ClockSkew{}), kNow) << "no skew, no change";
}

TEST(ClockSkew, CorrectionOutsideYearsOneTo9999IsNone) {
  EXPECT_EQ(on_server_clock(kLatestClientTimeMs, ClockSkew{1}), std::nullopt);
  EXPECT_EQ(on_server_clock(kEarliestClientTimeMs, ClockSkew{-1}), std::nullopt);
  EXPECT_EQ(on_server_clock(kLatestClientTimeMs, ClockSkew{0}), kLatestClientTimeMs);
  EXPECT_EQ(on_server_clock(kEarliestClientTimeMs, ClockSkew{0}), kEarliestClientTimeMs);
  // The largest skews two readable times can have: no overflow, an answer either way.
  ClockSkew widest = skew_of(kLatestClientTimeMs, kEarliestClientTimeMs);
  EXPECT_EQ(on_server_clock(kEarliestClientTimeMs, widest), kLatestClientTimeMs);
  EXPECT_EQ(on_server_clock(0, widest), std::nullopt);
  EXPECT_EQ(on_server_clock(0, ClockSkew{INT64_MAX}), std::nullopt);
  EXPECT_EQ(on_server_clock(0, ClockSkew{INT64_MIN}), std::nullopt);
}

TEST(ClockSkew, ReadsRfc3339AndEpochMilliseconds) {
  EXPECT_EQ(std::get<std::int64_t>(read_client_time(json::value("2026-11-25T12:46:00.123Z"))), kNow);
  EXPECT_EQ(std::get<std::int64_t>(read_client_time(json::value("2026-11-25T21:46:00.123+09:00"))), kNow);
  EXPECT_EQ(std::get<std::int64_t>(read_client_time(json::value(kNow))), kNow);
  EXPECT_EQ(std::get<std::int64_t>(read_client_time(json::value(std::uint64_t(kNow)))), kNow);
}

TEST(ClockSkew, RefusesWhatIsNotATime) {
  EXPECT_EQ(std::get<ClientTimeError>(read_client_time(json::value(1.5))), ClientTimeError::wrong_type);
  EXPECT_EQ(std::get<ClientTimeError>(read_client_time(json::value(true))), ClientTimeError::wrong_type);
  EXPECT_EQ(std::get<ClientTimeError>(read_client_time(json::value("yesterday"))), ClientTimeError::unreadable);
  EXPECT_EQ(std::get<ClientTimeError>(read_client_time(json::value(kLatestClientTimeMs + 1))),
            ClientTimeError::out_of_range);
  EXPECT_EQ(std::get<ClientTimeError>(read_client_time(json::value(UINT64_MAX))), ClientTimeError::out_of_range);
}

// ---------------------------------------------------------------------------------------
// A single event's own sentAt

TEST(ClockSkewEvents, SentAtMovesTheTimestampOntoTheServerClock) {
  auto body = click();
  // The phone's clock is a day behind; the event happened 30 s before it was sent.
  const std::int64_t phone_now = kNow - 24 * kHour;
  body["sentAt"] = phone_now;
  body["timestamp"] = phone_now - 30'000;
  Event event = accepted(body);
  EXPECT_EQ(event.client_time_ms, kNow - 30'000) << "stored on the server's clock";
  EXPECT_EQ(event.event_time_ms, kNow - 30'000) << "plausible after the correction, so it counts";
  EXPECT_EQ(event.server_time_ms, kNow);
}

TEST(ClockSkewEvents, SentAtAsRfc3339) {
  auto body = click();
  body["sentAt"] = "2026-11-25T13:46:00.123+00:00";  // an hour ahead of the server
  body["timestamp"] = "2026-11-25T13:45:00.123Z";
  EXPECT_EQ(accepted(body).client_time_ms, kNow - kMinute);
}

TEST(ClockSkewEvents, WithoutTimestampTheReceiveTimeCounts) {
  auto body = click();
  body["sentAt"] = kNow - 5 * kYear;
  Event event = accepted(body);
  EXPECT_EQ(event.client_time_ms, std::nullopt);
  EXPECT_EQ(event.event_time_ms, kNow);
}

TEST(ClockSkewEvents, NullSentAtIsNone) {
  auto body = click();
  body["sentAt"] = nullptr;
  body["timestamp"] = kNow - 1000;
  EXPECT_EQ(accepted(body).client_time_ms, kNow - 1000);
}

TEST(ClockSkewEvents, BadSentAtIsAFieldError) {
  for (const char* text : {"\"soon\"", "1.5", "true", "[]", "253402300800000", "\"2026-11-25\""}) {
    SCOPED_TRACE(text);
    auto body = click();
    body["sentAt"] = json::parse(text);
    FieldError error = rejected(body);
    EXPECT_EQ(error.field, "sentAt");
    EXPECT_TRUE(error.code == "INVALID_VALUE" || error.code == "INVALID_TYPE") << error.code;
  }
}

TEST(ClockSkewEvents, CorrectionPastYear9999IsRefused) {
  auto body = click();
  body["sentAt"] = kEarliestClientTimeMs;  // a clock at year 1: every time moves forward by ~2026 years
  body["timestamp"] = kLatestClientTimeMs - kYear;
  FieldError error = rejected(body);
  EXPECT_EQ(error.code, "INVALID_VALUE");
  EXPECT_EQ(error.field, "timestamp");
}

TEST(ClockSkewEvents, ImplausibleAfterCorrectionCountsAtReceiveTime) {
  auto body = click();
  body["sentAt"] = kNow;  // no skew
  body["timestamp"] = kNow - 3 * 24 * kHour;  // three days old: kept, not counted then
  Event event = accepted(body);
  EXPECT_EQ(event.client_time_ms, kNow - 3 * 24 * kHour);
  EXPECT_EQ(event.event_time_ms, kNow);
}

// ---------------------------------------------------------------------------------------
// Batches

TEST(ClockSkewBatches, BatchSentAtAppliesToEventsWithoutTheirOwn) {
  auto body = click();
  body["timestamp"] = kNow + kHour - 2000;
  EXPECT_EQ(accepted(body, kNow + kHour).client_time_ms, kNow - 2000);
}

TEST(ClockSkewBatches, AnEventsOwnSentAtWins) {
  auto body = click();
  body["timestamp"] = kNow - kHour - 2000;
  body["sentAt"] = kNow - kHour;
  EXPECT_EQ(accepted(body, kNow + kHour).client_time_ms, kNow - 2000);
}

TEST(ClockSkewBatches, EnvelopeCarriesSentAt) {
  json::value body = json::parse(R"({"sentAt": "2026-11-25T12:46:00.123Z", "events": [{}]})");
  auto result = validate_batch_envelope(body);
  ASSERT_TRUE(std::holds_alternative<BatchEnvelope>(result));
  EXPECT_EQ(std::get<BatchEnvelope>(result).sent_at_ms, kNow);

  json::value without = json::parse(R"({"events": [{}]})");
  EXPECT_EQ(std::get<BatchEnvelope>(validate_batch_envelope(without)).sent_at_ms, std::nullopt);
}

TEST(ClockSkewBatches, EnvelopeRefusesABadSentAt) {
  for (const char* text : {R"({"sentAt": "later", "events": [{}]})", R"({"sentAt": {}, "events": [{}]})",
                           R"({"sentAt": -62135596800001, "events": [{}]})"}) {
    SCOPED_TRACE(text);
    auto result = validate_batch_envelope(json::parse(text));
    ASSERT_TRUE(std::holds_alternative<FieldError>(result));
    EXPECT_EQ(std::get<FieldError>(result).field, "sentAt");
  }
}

}  // namespace
