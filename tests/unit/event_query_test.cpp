// GET /api/events parameters: every filter optional, every bad value a 400 naming its
// field, cursors that round-trip and refuse anything else.
#include "domain/event_query.hpp"

#include <gtest/gtest.h>

namespace {

using tracker::domain::EventCursor;
using tracker::domain::EventQuery;
using tracker::domain::FieldError;
using tracker::domain::QueryParams;
using tracker::domain::decode_cursor;
using tracker::domain::encode_cursor;
using tracker::domain::parse_event_query;

constexpr const char* kId = "01a24244-6f11-7112-acc5-1e0982c005fd";

TEST(EventQuery, NoParametersListsEverythingFiftyAtATime) {
  auto parsed = parse_event_query({});
  ASSERT_TRUE(std::holds_alternative<EventQuery>(parsed));
  const auto& query = std::get<EventQuery>(parsed);
  EXPECT_EQ(query.limit, 50u);
  EXPECT_FALSE(query.type || query.user_id || query.session_id || query.component_id || query.post_id ||
               query.keyword || query.from_ms || query.to_ms || query.after);
}

TEST(EventQuery, ReadsEveryFilter) {
  QueryParams params{{"eventType", "like"},   {"userId", "-7"},  {"sessionId", "s-1"},
                     {"componentId", "1003"}, {"postId", "42"},  {"keyword", "cats"},
                     {"from", "2026-11-25T00:00:00Z"}, {"to", "2026-11-26T00:00:00.5Z"},
                     {"limit", "500"}, {"cursor", std::string("1795610760123456_") + kId}};
  auto parsed = parse_event_query(params);
  ASSERT_TRUE(std::holds_alternative<EventQuery>(parsed)) << std::get<FieldError>(parsed).message;
  const auto& query = std::get<EventQuery>(parsed);
  EXPECT_EQ(query.type, tracker::domain::EventType::Like);
  EXPECT_EQ(query.user_id, -7);
  EXPECT_EQ(query.session_id, "s-1");
  EXPECT_EQ(query.component_id, 1003);
  EXPECT_EQ(query.post_id, 42);
  EXPECT_EQ(query.keyword, "cats");
  EXPECT_EQ(query.from_ms, 1795564800000);
  EXPECT_EQ(query.to_ms, 1795651200500);
  EXPECT_EQ(query.limit, 500u);
  ASSERT_TRUE(query.after);
  EXPECT_EQ(query.after->server_time_us, 1795610760123456);
  EXPECT_EQ(query.after->id, kId);
}

struct BadCase {
  QueryParams params;
  std::string field;
};

class EventQueryRejects : public testing::TestWithParam<BadCase> {};

TEST_P(EventQueryRejects, NamingTheField) {
  auto parsed = parse_event_query(GetParam().params);
  ASSERT_TRUE(std::holds_alternative<FieldError>(parsed));
  const auto& error = std::get<FieldError>(parsed);
  EXPECT_EQ(error.field, GetParam().field);
  EXPECT_FALSE(error.code.empty());
  EXPECT_FALSE(error.message.empty());
}

INSTANTIATE_TEST_SUITE_P(
    BadValues, EventQueryRejects,
    testing::Values(BadCase{{{"eventType", "NOPE"}}, "eventType"}, BadCase{{{"eventType", ""}}, "eventType"},
                    BadCase{{{"userId", ""}}, "userId"}, BadCase{{{"userId", "12a"}}, "userId"},
                    BadCase{{{"userId", "99999999999999999999"}}, "userId"},
                    BadCase{{{"componentId", "0"}}, "componentId"}, BadCase{{{"postId", "-3"}}, "postId"},
                    BadCase{{{"sessionId", "  "}}, "sessionId"}, BadCase{{{"keyword", ""}}, "keyword"},
                    BadCase{{{"keyword", std::string(1025, 'k')}}, "keyword"},
                    BadCase{{{"from", "2026-13-01T00:00:00Z"}}, "from"}, BadCase{{{"to", "now"}}, "to"},
                    BadCase{{{"from", "2026-01-02T00:00:00Z"}, {"to", "2026-01-02T00:00:00Z"}}, "to"},
                    BadCase{{{"limit", "0"}}, "limit"}, BadCase{{{"limit", "501"}}, "limit"},
                    BadCase{{{"limit", "ten"}}, "limit"}, BadCase{{{"cursor", ""}}, "cursor"},
                    BadCase{{{"cursor", kId}}, "cursor"}, BadCase{{{"cursor", "12_xyz"}}, "cursor"},
                    BadCase{{{"cursor", std::string("x_") + kId}}, "cursor"},
                    BadCase{{{"cursor", std::string("1_") + kId + "0"}}, "cursor"},
                    BadCase{{{"order", "asc"}}, "order"}));

TEST(EventCursor, RoundTrips) {
  EventCursor cursor{-5, kId};
  auto decoded = decode_cursor(encode_cursor(cursor));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->server_time_us, -5);
  EXPECT_EQ(decoded->id, kId);
}

}  // namespace
