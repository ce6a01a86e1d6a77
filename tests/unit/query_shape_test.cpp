// Query shapes: which counters an event adds to, and their one encoding in Redis fields,
// which no keyword a client can send confuses with "any".
#include "domain/query_shape.hpp"
#include "domain/text.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

using tracker::domain::event_shapes;
using tracker::domain::minute_field;
using tracker::domain::parse_minute_field;
using tracker::domain::QueryShape;
using tracker::domain::shape_field;

// Keywords as a client may send them, after normalisation (every one non-empty).
const std::vector<std::string> kNasty = {"*", "**", "*|*", "|", "a|b", "|*", "*|", ":", "a:b", "\\", "\\*", "%2A",
                                         "'", "\"", "cats", "고양이", "ÄÖ", "🍜 ramen", std::string(256, 'x'),
                                         "\x1f", "\x1f*", "\x1f\x1f", "x\x1f", "a|123", "1700000000000"};

TEST(QueryShape, AnEventAddsToUpToFiveShapes) {
  EXPECT_EQ(event_shapes("CLICK", 7, std::nullopt, std::nullopt),
            (std::vector<QueryShape>{{"CLICK", 0, 0, ""}, {"CLICK", 7, 0, ""}}));
  EXPECT_EQ(event_shapes("SEARCH", 7, 3, std::string("*")),
            (std::vector<QueryShape>{{"SEARCH", 0, 0, ""},
                                     {"SEARCH", 7, 0, ""},
                                     {"SEARCH", 7, 3, ""},
                                     {"SEARCH", 7, 0, "*"},
                                     {"SEARCH", 7, 3, "*"}}));
}

TEST(QueryShape, FieldsOfAnyKeepTheirFormat) {
  // The fields of the shapes without a keyword are those Redis held before the escape.
  EXPECT_EQ(shape_field({"CLICK", 0, 0, ""}), "CLICK|*|*|*");
  EXPECT_EQ(shape_field({"LIKE", 1003, 7, ""}), "LIKE|1003|7|*");
  EXPECT_EQ(shape_field({"SEARCH", 1001, 0, "cats"}), "SEARCH|1001|*|cats");
  EXPECT_EQ(minute_field("CLICK|5|*|*", "60000"), "CLICK|5|*|*|60000");
}

TEST(QueryShape, AKeywordOfStarIsNotAny) {
  EXPECT_NE(shape_field({"SEARCH", 77, 0, "*"}), shape_field({"SEARCH", 77, 0, ""}));
  auto parsed = parse_minute_field(minute_field(shape_field({"SEARCH", 77, 0, "*"}), "120000"));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->shape, (QueryShape{"SEARCH", 77, 0, "*"}));
  EXPECT_EQ(parsed->minute_ms, 120000);
}

TEST(QueryShape, EveryShapeHasItsOwnFieldAndReadsBack) {
  std::vector<QueryShape> shapes;
  for (std::int64_t component : {0, 1, 77}) {
    for (std::int64_t post : {0, 1, 123}) {
      shapes.push_back({"SEARCH", component, post, ""});
      for (const std::string& keyword : kNasty) shapes.push_back({"SEARCH", component, post, keyword});
    }
  }
  std::set<std::string> fields;
  for (const QueryShape& shape : shapes) {
    SCOPED_TRACE(shape.keyword);
    std::string field = shape_field(shape);
    EXPECT_TRUE(fields.insert(field).second) << "two shapes share the field " << field;
    auto parsed = parse_minute_field(minute_field(field, "-60000"));
    ASSERT_TRUE(parsed) << field;
    EXPECT_EQ(parsed->shape, shape);
    EXPECT_EQ(parsed->minute_ms, -60000);
  }
}

TEST(QueryShape, RandomKeywordsReadBackExactly) {
  std::mt19937_64 random(20261204);
  std::uniform_int_distribution<int> length(1, 40), byte(1, 255), pick(0, 5);
  const char specials[] = {'*', '|', ':', '\x1f', '\\', '#'};
  for (int round = 0; round < 5000; ++round) {
    std::string keyword;
    for (int i = length(random); i > 0; --i) {
      keyword += pick(random) == 0 ? specials[pick(random)] : static_cast<char>(byte(random));
    }
    QueryShape shape{"SEARCH", round % 3 == 0 ? 0 : round, round % 2 == 0 ? 0 : round + 1, keyword};
    auto parsed = parse_minute_field(minute_field(shape_field(shape), std::to_string(round * 60000LL)));
    ASSERT_TRUE(parsed) << keyword;
    EXPECT_EQ(parsed->shape, shape);
  }
}

TEST(QueryShape, MalformedFieldsAreRefused) {
  for (const char* field : {"", "CLICK", "CLICK|*|*|*", "CLICK|*|*|*|x", "|*|*|*|0", "CLICK|x|*|*|0",
                            "CLICK|0|*|*|0", "CLICK|*|-1|*|0", "CLICK|*|*||0", "CLICK|*|*|\x1f|0"}) {
    EXPECT_FALSE(parse_minute_field(field)) << field;
  }
}

TEST(QueryShape, FieldsWrittenBeforeTheEscapeReadTheSame) {
  // Live counters in Redis at an upgrade: their keyword part is the keyword as it was.
  auto parsed = parse_minute_field("SEARCH|1001|5|new york|1700000040000");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->shape, (QueryShape{"SEARCH", 1001, 5, "new york"}));
  parsed = parse_minute_field("SEARCH|1001|*|*|1700000040000");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->shape, (QueryShape{"SEARCH", 1001, 0, ""}));
}

}  // namespace
