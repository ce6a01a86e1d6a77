// Metadata is stored as the client wrote it, and refused before acknowledgement where
// PostgreSQL's jsonb would refuse it or could not keep it as written (domain/json_text).
#include "domain/event_record.hpp"
#include "domain/event_validation.hpp"
#include "domain/json_text.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace {

namespace json = boost::json;
namespace json_text = tracker::domain::json_text;
using tracker::domain::Event;
using tracker::domain::FieldError;
using tracker::domain::validate_event;

constexpr std::int64_t kNow = 1795610760123;

std::string click_with(std::string_view x) {
  return R"({"eventType":"CLICK","sessionId":"s","metadata":{"componentId":7301,"x":)" + std::string(x) + "}}";
}

std::variant<Event, FieldError> validate_text(const std::string& text) {
  return validate_event(json::parse(text), text, kNow);
}

// The metadata column of the event's COPY row (the 9th).
std::string metadata_column(const Event& event) {
  std::string row = tracker::domain::to_copy_row(event);
  std::size_t at = 0;
  for (int column = 0; column < 8; ++column) at = row.find('\t', at) + 1;
  return row.substr(at, row.find('\t', at) - at);
}

TEST(MetadataText, NumbersJsonbCannotStoreAreRefused) {
  const std::vector<std::string> refused = {"1e400", "-1e400", "[1e999]", "1E+309", "1e-20000", "0e99999",
                                            "0.5e-16383", "{\"a\":[1,{\"b\":-1e400}]}", "1" + std::string(400, '0')};
  for (const std::string& x : refused) {
    auto result = validate_text(click_with(x));
    ASSERT_TRUE(std::holds_alternative<FieldError>(result)) << x;
    EXPECT_EQ(std::get<FieldError>(result).code, "INVALID_VALUE") << x;
    EXPECT_EQ(std::get<FieldError>(result).field, "metadata") << x;
  }
}

// Without the source text (a body built in memory) the same numbers are refused: they
// are parsed as infinities, which Boost.JSON writes as Infinity.
TEST(MetadataText, InfinitiesAreRefusedWithoutTheSourceText) {
  for (std::string x : {"1e400", "-1e400", "[1e999]"}) {
    auto result = validate_event(json::parse(click_with(x)), kNow);
    ASSERT_TRUE(std::holds_alternative<FieldError>(result)) << x;
    EXPECT_EQ(std::get<FieldError>(result).field, "metadata") << x;
  }
}

TEST(MetadataText, NumbersAreStoredExactlyAsWritten) {
  for (std::string x : {"1.0", "-9223372036854775809", "18446744073709551616", "1e-400", "2.50E+2", "-0.0",
                        "0.1000000000000000055511151231257827", "1.7976931348623157e308", "[1.10, 1e3]",
                        "5e-16383"}) {
    auto result = validate_text(click_with(x));
    ASSERT_TRUE(std::holds_alternative<Event>(result)) << x << ": " << std::get<FieldError>(result).message;
    EXPECT_EQ(metadata_column(std::get<Event>(result)), R"({"componentId":7301,"x":)" + x + "}") << x;
  }
}

TEST(MetadataText, TheTextIsTheMetadataMemberOfTheSource) {
  // Spaces, escapes, a repeated key (the last counts, as in Boost.JSON and jsonb), and a
  // metadata key spelt with an escape.
  std::string text = "{ \"metadata\" : {\"componentId\":1},\n \"eventType\":\"CLICK\",\"sessionId\":\"s\",\n"
                     "  \"meta\\u0064ata\" : {\"componentId\" : 9, \"t\":\"tab\\there \\\"q\\\" }\"} }";
  auto result = validate_text(text);
  ASSERT_TRUE(std::holds_alternative<Event>(result)) << std::get<FieldError>(result).message;
  const Event& event = std::get<Event>(result);
  EXPECT_EQ(event.component_id, 9);
  EXPECT_EQ(event.metadata_text, R"({"componentId" : 9, "t":"tab\there \"q\" }"})");
  EXPECT_EQ(json::parse(event.metadata_text), json::value(event.metadata));
  // COPY text escapes the backslashes of the JSON escapes.
  EXPECT_EQ(metadata_column(event), R"({"componentId" : 9, "t":"tab\\there \\"q\\" }"})");
}

TEST(MetadataText, MemberAndElementsFindEachValuesText) {
  EXPECT_EQ(json_text::member(R"({"a":1,"b":[1,{"c":"]}"}],"d":"x"})", "b"), R"([1,{"c":"]}"}])");
  EXPECT_EQ(json_text::member(R"({"a":1,"a" : true })", "a"), "true");
  EXPECT_EQ(json_text::member(R"({"a":1})", "b"), std::nullopt);
  EXPECT_EQ(json_text::member(R"({})", "a"), std::nullopt);
  EXPECT_EQ(json_text::member(R"([1])", "a"), std::nullopt);
  EXPECT_EQ(json_text::elements(R"([ {"x":[1,2]} , "a\"]" ,3,null])"),
            (std::vector<std::string_view>{R"({"x":[1,2]})", R"("a\"]")", "3", "null"}));
  EXPECT_TRUE(json_text::elements("[]").empty());
  // Broken or cut text: no crash, no read past the end.
  for (std::string_view broken : {"{", "{\"a", "{\"a\":", "{\"a\":[1,", "[\"\\", "[{", "\"", ""}) {
    json_text::member(broken, "a");
    json_text::elements(broken);
    json_text::unstorable(broken);
  }
}

TEST(MetadataText, UnstorableNamesTheFirstOffendingPiece) {
  EXPECT_EQ(json_text::unstorable(R"({"a":[1,2.5,true,null,"1e400"],"b":{"c":-0}})"), std::nullopt);
  EXPECT_EQ(json_text::unstorable(R"({"a":1,"b":1e400,"c":-1e400})"), "1e400");
  EXPECT_EQ(json_text::unstorable(R"({"a":Infinity})"), "Infinity");
  EXPECT_EQ(json_text::unstorable(R"({"a":-Infinity})"), "-Infinity");
  EXPECT_EQ(json_text::unstorable(R"({"a":NaN})"), "NaN");
  EXPECT_EQ(json_text::unstorable(R"({"a":"x\u0000"})"), R"("x\u0000)");
  EXPECT_EQ(json_text::unstorable(R"({"a\u0000":1})"), R"("a\u0000)");
  EXPECT_EQ(json_text::unstorable(R"({"a":"\\u0000"})"), std::nullopt);  // an escaped backslash, then text
}

// Boost.JSON already refuses what it cannot read back: lone surrogates, invalid UTF-8.
TEST(MetadataText, LoneSurrogatesNeverGetThisFar) {
  for (std::string x : {R"("\ud800")", R"("\udc00x")", R"("\ud800\u0041")", "\"\xed\xa0\x80\""}) {
    boost::system::error_code ec;
    json::parse(click_with(x), ec);
    EXPECT_TRUE(ec) << x;
  }
}

// Random JSON texts (random spacing, escapes, repeated keys, nesting): every member and
// element found reads back as exactly the value Boost.JSON parsed for it.
class RandomJson {
 public:
  explicit RandomJson(unsigned seed) : rng_(seed) {}

  std::string value(int depth) {
    switch (pick(depth > 3 ? 4 : 6)) {
      case 0: return number();
      case 1: return string();
      case 2: return std::vector<std::string>{"true", "false", "null"}[pick(3)];
      case 3: return number();
      case 4: return object(depth + 1);
      default: return array(depth + 1);
    }
  }
  std::string object(int depth) {
    return container('{', '}', [&] {
      std::string member = key();
      member += space();
      member += ":";
      member += space();
      member += value(depth);
      return member;
    });
  }
  std::string array(int depth) {
    return container('[', ']', [&] { return value(depth); });
  }

 private:
  template <class Item>
  std::string container(char open, char close, Item item) {
    std::string out(1, open);
    out += space();
    const std::size_t count = pick(5);
    for (std::size_t i = 0; i < count; ++i) {
      if (i > 0) {
        out += ",";
        out += space();
      }
      out += item();
      out += space();
    }
    out += close;
    return out;
  }
  std::size_t pick(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }
  std::string space() { return std::vector<std::string>{"", "", " ", "\n", "\t ", "\r\n  "}[pick(6)]; }
  std::string key() { return std::vector<std::string>{R"("a")", R"("b")", R"("\u0061")", R"("a\"]}")", R"("")"}[pick(5)]; }
  std::string string() {
    return std::vector<std::string>{R"("x")", R"("]},\"[{")", R"("\\")", R"("caf\u00e9 \ud83c\udf89")", R"("")"}[pick(5)];
  }
  std::string number() {
    return std::vector<std::string>{"0", "-1", "1.0", "2.50E+2", "-9223372036854775809", "1e-400", "3.14"}[pick(7)];
  }
  std::mt19937 rng_;
};

TEST(MetadataText, RandomTextsFindExactlyTheParsedValues) {
  RandomJson random(20261204);
  for (int round = 0; round < 2000; ++round) {
    const std::string text = random.object(0);
    const json::value parsed = json::parse(text);
    for (std::string_view key : {"a", "b", "a\"]}", ""}) {
      auto found = json_text::member(text, key);
      const auto* expected = parsed.as_object().if_contains(key);
      ASSERT_EQ(found.has_value(), expected != nullptr) << text << " key " << key;
      if (!expected) continue;
      EXPECT_EQ(json::parse(*found), *expected) << text << " key " << key;
      if (expected->is_array()) {
        auto texts = json_text::elements(*found);
        ASSERT_EQ(texts.size(), expected->as_array().size()) << *found;
        for (std::size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(json::parse(texts[i]), expected->as_array()[i]);
      }
    }
    EXPECT_EQ(json_text::unstorable(text), std::nullopt) << text;
  }
}

}  // namespace
