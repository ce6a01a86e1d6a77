// Text rules shared by bodies, query parameters and keywords: Unicode white space, UTF-8,
// control characters, and the one keyword normalisation.
#include "domain/statistics_query.hpp"
#include "domain/text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace tracker::domain;

std::string normalized(std::string_view text) {
  auto result = normalize_keyword(text, 256);
  if (auto* rejection = std::get_if<KeywordRejection>(&result)) return "<" + rejection->reason + ">";
  return std::get<std::string>(result);
}

TEST(Text, BlankSeesUnicodeWhiteSpace) {
  for (const char* blank : {"", " ", "\t\r\n\f\v", "\u3000", "\u00a0", " \u2003\u200a\u3000", "\u2028\u2029",
                            "\u202f\u205f\u1680", "\u0085"}) {
    EXPECT_TRUE(is_blank(blank)) << blank;
  }
  for (const char* text : {"x", " x ", "\u3000x", "\u200b", "가"}) EXPECT_FALSE(is_blank(text)) << text;
}

TEST(Text, TrimRemovesUnicodeWhiteSpaceAtBothEnds) {
  EXPECT_EQ(trim("\u3000 cats\u00a0 "), "cats");
  EXPECT_EQ(trim("a\u3000b"), "a\u3000b");
  EXPECT_EQ(trim("\xE3\x80"), "\xE3\x80");  // a cut-off sequence is not white space
  EXPECT_TRUE(has_white_space("a\u00a0b"));
  EXPECT_FALSE(has_white_space("ab\xC2"));
}

TEST(Text, Utf8) {
  for (const char* valid : {"", "ascii", "caf\u00e9", "\u3000", "🍜", "\xF4\x8F\xBF\xBF"}) {
    EXPECT_TRUE(is_valid_utf8(valid)) << valid;
  }
  for (const char* invalid : {"\xC3", "\xFF", "a\x80", "\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80",
                              "\xF8\x88\x80\x80\x80", "\xE3\x80"}) {
    EXPECT_FALSE(is_valid_utf8(invalid)) << invalid;
  }
}

TEST(Text, Utf8PrefixKeepsCharactersWhole) {
  EXPECT_EQ(utf8_prefix("abc", 64), "abc");
  EXPECT_EQ(utf8_prefix("aé", 2), "a");  // é is two bytes
  EXPECT_EQ(utf8_prefix("　　", 5), "　");
}

TEST(Text, ControlCharacters) {
  EXPECT_TRUE(has_control_characters(std::string("x2\0zzz", 6)));
  EXPECT_TRUE(has_control_characters("a\nb"));
  EXPECT_TRUE(has_control_characters("\x7f"));
  EXPECT_TRUE(has_control_characters("\u0085"));
  EXPECT_FALSE(has_control_characters("a\nb", "\n"));
  EXPECT_FALSE(has_control_characters("caf\u00e9 \u00a0"));
}

TEST(Text, OneKeywordRule) {
  for (const char* spelling : {"Cats", "cats", " cats", "#cats", "# cats", "\u3000#CATS\u00a0"}) {
    EXPECT_EQ(normalized(spelling), "cats") << spelling;
  }
  EXPECT_EQ(normalized("##double"), "#double");  // one '#' is dropped, as from hashtags
  EXPECT_EQ(normalized("New York"), "new york");
  EXPECT_EQ(normalized("ÄÖ"), "ÄÖ");  // only ASCII letters change case
  EXPECT_EQ(normalized("*"), "*");
  EXPECT_EQ(normalized("|"), "|");
  for (const char* blank : {"", " ", "#", " # ", "\u3000", "#\u00a0"}) {
    EXPECT_EQ(normalized(blank), "<must not be blank>") << blank;
  }
  EXPECT_EQ(normalized("a\tb"), "<must not contain control characters>");
  EXPECT_EQ(normalized(std::string(256, 'x')), std::string(256, 'x'));
  EXPECT_EQ(normalized(std::string(257, 'x')), "<is longer than 256 bytes>");
  EXPECT_EQ(normalized("  " + std::string(256, 'x') + "  "), std::string(256, 'x'));
}

TEST(Text, KeywordRuleIsStableOnItsOwnResults) {
  // What the server stores is what a client asking for it again gets to.
  for (const char* text : {"cats", "*", "new york", "ÄÖ", "#double", "c++"}) {
    std::string once = normalized(text);
    if (once.front() == '#') continue;  // "#double" is stored from "##double"
    EXPECT_EQ(normalized(once), once) << text;
  }
}

TEST(Utf8Prefix, KeepsShortTextsWhole) {
  EXPECT_EQ(tracker::domain::utf8_prefix("", 4), "");
  EXPECT_EQ(tracker::domain::utf8_prefix("abcd", 4), "abcd");
  EXPECT_EQ(tracker::domain::utf8_prefix("h\u00e9", 3), "h\u00e9");
}

TEST(Utf8Prefix, CutsBeforeACharacterThatDoesNotFit) {
  EXPECT_EQ(tracker::domain::utf8_prefix("abcde", 4), "abcd");
  EXPECT_EQ(tracker::domain::utf8_prefix("ab\u00e9", 3), "ab");           // 2 bytes
  EXPECT_EQ(tracker::domain::utf8_prefix("a\u20ac", 3), "a");             // 3 bytes
  EXPECT_EQ(tracker::domain::utf8_prefix("a\U0001F600", 4), "a");         // 4 bytes
  EXPECT_EQ(tracker::domain::utf8_prefix("\U0001F600\U0001F600", 7), "\U0001F600");
}

TEST(Utf8Prefix, CutsTextThatIsNotUtf8AtTheLimit) {
  // Continuation bytes without a lead byte: at most three are stepped back over.
  EXPECT_EQ(tracker::domain::utf8_prefix(std::string(6, '\x80'), 5), std::string(2, '\x80'));
}

// Found by tests/fuzz/query_parsing's error checks: the name was cut inside a character.
TEST(Utf8Prefix, UnknownQueryParameterIsCutBetweenCharacters) {
  tracker::domain::QueryParams params{{std::string(63, 'k') + "\u00e9", "1"}};
  auto error = tracker::domain::reject_unknown(params, {"eventType"});
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->field, std::string(63, 'k'));
}

}  // namespace
