// Cutting client texts for error messages (domain/text.hpp) without splitting a character.
#include "domain/statistics_query.hpp"
#include "domain/text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using tracker::domain::utf8_prefix;

TEST(Utf8Prefix, KeepsShortTextsWhole) {
  EXPECT_EQ(utf8_prefix("", 4), "");
  EXPECT_EQ(utf8_prefix("abcd", 4), "abcd");
  EXPECT_EQ(utf8_prefix("h\u00e9", 3), "h\u00e9");
}

TEST(Utf8Prefix, CutsBeforeACharacterThatDoesNotFit) {
  EXPECT_EQ(utf8_prefix("abcde", 4), "abcd");
  EXPECT_EQ(utf8_prefix("ab\u00e9", 3), "ab");           // 2 bytes
  EXPECT_EQ(utf8_prefix("a\u20ac", 3), "a");             // 3 bytes
  EXPECT_EQ(utf8_prefix("a\U0001F600", 4), "a");         // 4 bytes
  EXPECT_EQ(utf8_prefix("\U0001F600\U0001F600", 7), "\U0001F600");
}

TEST(Utf8Prefix, CutsTextThatIsNotUtf8AtTheLimit) {
  // Continuation bytes without a lead byte: at most three are stepped back over.
  EXPECT_EQ(utf8_prefix(std::string(6, '\x80'), 5), std::string(2, '\x80'));
}

// Found by tests/fuzz/query_parsing's error checks: the name was cut inside a character.
TEST(Utf8Prefix, UnknownQueryParameterIsCutBetweenCharacters) {
  tracker::domain::QueryParams params{{std::string(63, 'k') + "\u00e9", "1"}};
  auto error = tracker::domain::reject_unknown(params, {"eventType"});
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->field, std::string(63, 'k'));
}

}  // namespace
