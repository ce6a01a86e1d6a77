// The ingestion rules of the API contract (../shared/API.md, "Event ingestion"), checked one
// by one against validate_event and validate_batch_envelope.
#include "domain/event_validation.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace {

namespace json = boost::json;
using tracker::domain::Event;
using tracker::domain::EventType;
using tracker::domain::FieldError;
using tracker::domain::ValidationLimits;
using tracker::domain::validate_batch_envelope;
using tracker::domain::validate_event;

// 2026-11-25T12:46:00.123Z, the server's receive time in every test.
constexpr std::int64_t kNow = 1795610760123;
constexpr std::int64_t kMinute = 60'000;
constexpr std::int64_t kHour = 60 * kMinute;

json::object parse_object(std::string_view text) { return json::parse(text).as_object(); }

// The load-test payloads of the contract, one per kind of rule.
json::object click() {
  return parse_object(R"({"eventType": "CLICK", "userId": 42, "sessionId": "session-3f1c",
      "metadata": {"componentId": 1002, "elementId": "element-7", "keyword": null, "postId": null}})");
}
json::object like() {
  return parse_object(R"({"eventType": "LIKE", "userId": 42, "sessionId": "session-3f1c",
      "metadata": {"componentId": 1003, "postId": 7}})");
}
json::object search() {
  return parse_object(R"({"eventType": "SEARCH", "userId": 42, "sessionId": "session-3f1c",
      "metadata": {"componentId": 1001, "keyword": "keyword-1"}})");
}

json::object& metadata(json::object& body) { return body["metadata"].as_object(); }

// Validates `body` expecting success; reports the rejection otherwise.
Event accepted(const json::value& body, std::int64_t now = kNow,
               const ValidationLimits& limits = {}) {
  auto result = validate_event(body, now, limits);
  if (auto* error = std::get_if<FieldError>(&result)) {
    ADD_FAILURE() << "rejected " << json::serialize(body) << ": " << error->code << " on '"
                  << error->field << "': " << error->message;
    return {};
  }
  return std::get<Event>(std::move(result));
}

// Validates `body` expecting a rejection; reports an acceptance otherwise.
FieldError rejected(const json::value& body, std::int64_t now = kNow,
                    const ValidationLimits& limits = {}) {
  auto result = validate_event(body, now, limits);
  if (auto* error = std::get_if<FieldError>(&result)) return *error;
  ADD_FAILURE() << "accepted " << json::serialize(body);
  return {};
}

#define EXPECT_REJECTED(body, expected_code, expected_field) \
  do {                                                       \
    FieldError error_ = rejected(body);                      \
    EXPECT_EQ(error_.code, expected_code);                   \
    EXPECT_EQ(error_.field, expected_field);                 \
    EXPECT_FALSE(error_.message.empty());                    \
  } while (false)

// A JSON value as a client would send it, by its source text.
struct Sample {
  const char* json_text;
  json::value value() const { return json::parse(json_text); }
};

// Values that are not JSON strings.
const std::vector<Sample> kNotStrings = {{"42"}, {"1.5"}, {"1.0"}, {"true"}, {"false"},
                                         {"[\"a\"]"}, {"{\"a\": \"b\"}"}};

// ---------------------------------------------------------------------------------------
// The happy path

TEST(EventValidation, AcceptsTheContractExampleAndCopiesEveryField) {
  Event event = accepted(click());
  EXPECT_EQ(event.type, EventType::Click);
  EXPECT_EQ(event.user_id, 42);
  EXPECT_EQ(event.session_id, "session-3f1c");
  EXPECT_EQ(event.component_id, 1002);
  EXPECT_EQ(event.element_id, "element-7");
  EXPECT_EQ(event.post_id, std::nullopt);
  EXPECT_EQ(event.keyword, std::nullopt);
  EXPECT_EQ(event.client_event_id, std::nullopt);
  EXPECT_EQ(event.client_time_ms, std::nullopt);
  EXPECT_EQ(event.server_time_ms, kNow);
  EXPECT_EQ(event.event_time_ms, kNow);
  EXPECT_TRUE(event.id.empty()) << "the id is assigned after validation";
  EXPECT_EQ(json::value(event.metadata), click()["metadata"]);
}

TEST(EventValidation, AcceptsEveryLoadTestScenarioPayload) {
  Event liked = accepted(like());
  EXPECT_EQ(liked.type, EventType::Like);
  EXPECT_EQ(liked.post_id, 7);

  Event searched = accepted(search());
  EXPECT_EQ(searched.type, EventType::Search);
  EXPECT_EQ(searched.keyword, "keyword-1");

  auto page_view = parse_object(
      R"({"eventType": "PAGE_VIEW", "sessionId": "s", "metadata": {"componentId": 1000}})");
  EXPECT_EQ(accepted(page_view).type, EventType::PageView);
}

TEST(EventValidation, RejectsABodyThatIsNotAnObject) {
  for (const char* text : {"[]", "[{\"eventType\": \"CLICK\"}]", "\"CLICK\"", "42", "null", "true"}) {
    SCOPED_TRACE(text);
    EXPECT_REJECTED(json::parse(text), "INVALID_BODY", "");
  }
}

TEST(EventValidation, RejectsUnknownTopLevelFields) {
  auto body = click();
  body["eventtype"] = "CLICK";  // field names are case-sensitive
  EXPECT_REJECTED(body, "UNKNOWN_FIELD", "eventtype");

  body = click();
  body["componentId"] = 1002;  // belongs under metadata
  EXPECT_REJECTED(body, "UNKNOWN_FIELD", "componentId");

  body = click();
  body["extra"] = nullptr;  // even when null
  EXPECT_REJECTED(body, "UNKNOWN_FIELD", "extra");
}

TEST(EventValidation, UnknownFieldNameInTheErrorIsTruncated) {
  auto body = click();
  std::string long_name(500, 'x');
  body[long_name] = 1;
  FieldError error = rejected(body);
  EXPECT_EQ(error.code, "UNKNOWN_FIELD");
  EXPECT_EQ(error.field, std::string(64, 'x'));
}

// Found by tests/fuzz/event_validation: the cut fell inside a character, and the answer
// carried a text that is not UTF-8.
TEST(EventValidation, UnknownFieldNameIsCutBetweenCharacters) {
  auto body = click();
  body[std::string(63, 'x') + "\u00e9tc"] = 1;
  FieldError error = rejected(body);
  EXPECT_EQ(error.code, "UNKNOWN_FIELD");
  EXPECT_EQ(error.field, std::string(63, 'x'));
  EXPECT_EQ(error.message, "unknown field '" + std::string(63, 'x') + "'");
}

// ---------------------------------------------------------------------------------------
// eventType

TEST(EventValidation, EventTypeIsRequired) {
  auto body = click();
  body.erase("eventType");
  EXPECT_REJECTED(body, "MISSING_FIELD", "eventType");
  body["eventType"] = nullptr;
  EXPECT_REJECTED(body, "MISSING_FIELD", "eventType");
}

TEST(EventValidation, EventTypeMustBeAString) {
  for (const Sample& sample : kNotStrings) {
    SCOPED_TRACE(sample.json_text);
    auto body = click();
    body["eventType"] = sample.value();
    EXPECT_REJECTED(body, "INVALID_TYPE", "eventType");
  }
}

TEST(EventValidation, EventTypeIsCaseInsensitive) {
  struct Case {
    const char* name;
    EventType type;
  };
  for (Case c : {Case{"click", EventType::Click}, Case{"Click", EventType::Click},
                 Case{"cLiCk", EventType::Click}, Case{"page_view", EventType::PageView},
                 Case{"Page_View", EventType::PageView}, Case{"search", EventType::Search},
                 Case{"unlike", EventType::Unlike}, Case{"Scroll", EventType::Scroll},
                 Case{"comment", EventType::Comment}, Case{"SHARE", EventType::Share}}) {
    SCOPED_TRACE(c.name);
    auto body = search();  // carries a keyword, so SEARCH passes too
    body["eventType"] = c.name;
    metadata(body)["postId"] = 7;  // and a postId, so UNLIKE passes too
    EXPECT_EQ(accepted(body).type, c.type);
  }
}

TEST(EventValidation, AcceptsEveryEventTypeOfTheContract) {
  for (const char* name :
       {"PAGE_VIEW", "SEARCH", "CLICK", "LIKE", "UNLIKE", "SCROLL", "COMMENT", "SHARE"}) {
    SCOPED_TRACE(name);
    auto body = search();
    body["eventType"] = name;
    metadata(body)["postId"] = 7;
    accepted(body);
  }
}

TEST(EventValidation, RejectsUnknownEventTypes) {
  for (const char* name : {"", " ", "VIEW", "PAGEVIEW", "PAGE-VIEW", "PAGE VIEW", " CLICK",
                           "CLICK ", "CLICKS", "LIKE\n", "클릭"}) {
    SCOPED_TRACE(name);
    auto body = click();
    body["eventType"] = name;
    EXPECT_REJECTED(body, "INVALID_VALUE", "eventType");
  }
}

// ---------------------------------------------------------------------------------------
// userId

TEST(EventValidation, UserIdIsOptionalForAnonymousEventTypes) {
  for (const char* name : {"PAGE_VIEW", "SEARCH", "CLICK", "SCROLL", "COMMENT", "SHARE"}) {
    SCOPED_TRACE(name);
    auto body = search();
    body["eventType"] = name;
    body.erase("userId");
    EXPECT_EQ(accepted(body).user_id, std::nullopt);
    body["userId"] = nullptr;
    EXPECT_EQ(accepted(body).user_id, std::nullopt);
  }
}

TEST(EventValidation, UserIdIsRequiredForLikeAndUnlike) {
  for (const char* name : {"LIKE", "UNLIKE", "like", "Unlike"}) {
    SCOPED_TRACE(name);
    auto body = like();
    body["eventType"] = name;
    body.erase("userId");
    EXPECT_REJECTED(body, "MISSING_FIELD", "userId");
    body["userId"] = nullptr;
    EXPECT_REJECTED(body, "MISSING_FIELD", "userId");
  }
}

TEST(EventValidation, UserIdMustBeAJsonInteger) {
  struct Case {
    const char* json_text;
    const char* code;
  };
  for (Case c : {Case{"\"42\"", "INVALID_TYPE"}, Case{"true", "INVALID_TYPE"},
                 Case{"[42]", "INVALID_TYPE"}, Case{"{\"id\": 42}", "INVALID_TYPE"},
                 Case{"1.5", "INVALID_VALUE"}, Case{"1.0", "INVALID_VALUE"},
                 Case{"4.2e1", "INVALID_VALUE"}, Case{"9223372036854775808", "INVALID_VALUE"},
                 Case{"0", "INVALID_VALUE"}, Case{"-1", "INVALID_VALUE"}}) {
    SCOPED_TRACE(c.json_text);
    auto body = click();
    body["userId"] = json::parse(c.json_text);
    EXPECT_REJECTED(body, c.code, "userId");
  }
}

TEST(EventValidation, UserIdAcceptsTheWholePositiveInt64Range) {
  auto body = click();
  body["userId"] = json::parse("9223372036854775807");
  EXPECT_EQ(accepted(body).user_id, INT64_MAX);
  body["userId"] = 1;
  EXPECT_EQ(accepted(body).user_id, 1);
}

// ---------------------------------------------------------------------------------------
// sessionId

TEST(EventValidation, SessionIdIsRequired) {
  auto body = click();
  body.erase("sessionId");
  EXPECT_REJECTED(body, "MISSING_FIELD", "sessionId");
  body["sessionId"] = nullptr;
  EXPECT_REJECTED(body, "MISSING_FIELD", "sessionId");
}

TEST(EventValidation, SessionIdMustBeAString) {
  for (const Sample& sample : kNotStrings) {
    SCOPED_TRACE(sample.json_text);
    auto body = click();
    body["sessionId"] = sample.value();
    EXPECT_REJECTED(body, "INVALID_TYPE", "sessionId");
  }
}

TEST(EventValidation, SessionIdMustNotBeBlank) {
  for (const char* blank : {"", " ", "   ", "\t", " \r\n ", "\f\v"}) {
    SCOPED_TRACE(json::serialize(json::value(blank)));
    auto body = click();
    body["sessionId"] = blank;
    EXPECT_REJECTED(body, "INVALID_VALUE", "sessionId");
  }
}

TEST(EventValidation, SessionIdKeepsSurroundingSpacesVerbatim) {
  auto body = click();
  body["sessionId"] = " s-1 ";
  EXPECT_EQ(accepted(body).session_id, " s-1 ");
}

TEST(EventValidation, SessionIdRejectsControlCharacters) {
  for (const char* text : {R"("a\tb")", R"("a\nb")", R"("a\rb")", R"("a\u0000b")",
                           R"("a\u0001b")", R"("a\u001fb")", R"("a\u007fb")", R"("\u001b[31m")"}) {
    SCOPED_TRACE(text);
    auto body = click();
    body["sessionId"] = json::parse(text);
    EXPECT_REJECTED(body, "INVALID_VALUE", "sessionId");
  }
}

TEST(EventValidation, SessionIdAcceptsUnicode) {
  for (const char* text : {"세션-한국어", "session-🎉", "日本語セッション", "ümlaut"}) {
    SCOPED_TRACE(text);
    auto body = click();
    body["sessionId"] = text;
    EXPECT_EQ(accepted(body).session_id, text);
  }
}

TEST(EventValidation, TextLengthLimitIsInBytes) {
  auto body = click();
  body["sessionId"] = std::string(256, 's');
  EXPECT_EQ(accepted(body).session_id.size(), 256u);

  body["sessionId"] = std::string(257, 's');
  EXPECT_REJECTED(body, "INVALID_VALUE", "sessionId");

  // 86 Korean syllables are 258 bytes of UTF-8.
  std::string korean;
  for (int i = 0; i < 86; ++i) korean += "한";
  body["sessionId"] = korean;
  EXPECT_REJECTED(body, "INVALID_VALUE", "sessionId");
}

TEST(EventValidation, TextLengthLimitIsConfigurable) {
  ValidationLimits limits;
  limits.max_text_length = 4;
  auto body = click();
  metadata(body).erase("elementId");
  body["sessionId"] = "abcd";
  accepted(body, kNow, limits);
  body["sessionId"] = "abcde";
  FieldError error = rejected(body, kNow, limits);
  EXPECT_EQ(error.code, "INVALID_VALUE");
  EXPECT_EQ(error.field, "sessionId");
}

// ---------------------------------------------------------------------------------------
// metadata

TEST(EventValidation, MetadataIsRequired) {
  auto body = click();
  body.erase("metadata");
  EXPECT_REJECTED(body, "MISSING_FIELD", "metadata");
  body["metadata"] = nullptr;
  EXPECT_REJECTED(body, "MISSING_FIELD", "metadata");
}

TEST(EventValidation, MetadataMustBeAnObject) {
  for (const char* text : {"42", "1.5", "\"{}\"", "true", "[]", "[{\"componentId\": 1002}]"}) {
    SCOPED_TRACE(text);
    auto body = click();
    body["metadata"] = json::parse(text);
    EXPECT_REJECTED(body, "INVALID_TYPE", "metadata");
  }
}

TEST(EventValidation, MetadataFieldCountIsLimited) {
  auto body = click();
  json::object& meta = metadata(body);
  while (meta.size() < 64) meta["extra" + std::to_string(meta.size())] = 1;
  accepted(body);
  meta["one_too_many"] = 1;
  EXPECT_REJECTED(body, "INVALID_VALUE", "metadata");
}

TEST(EventValidation, OtherMetadataIsKeptVerbatim) {
  auto body = click();
  json::value extra = json::parse(R"({
      "componentId": 1002, "elementId": "element-7",
      "position": {"x": 1.5, "y": -3, "tags": ["a", null, true, {"deep": [1, 2, 3]}]},
      "referrer": "https://example.com/a?b=c\\d", "score": 1e30, "big": 18446744073709551615,
      "empty": {}, "none": null, "korean": "검색", "emoji": "🎉", "ctl": "tab\there"})");
  body["metadata"] = extra;
  Event event = accepted(body);
  EXPECT_EQ(json::value(event.metadata), extra);
  EXPECT_EQ(event.metadata.at("ctl").as_string(), "tab\there")
      << "only U+0000 is refused outside the typed fields";
}

TEST(EventValidation, MetadataAcceptsTheSixCharacterTextBackslashU0000) {
  // An escaped backslash followed by u0000 is plain text, not the character U+0000.
  auto body = click();
  metadata(body)["note"] = json::parse(R"("\\u0000")");
  EXPECT_EQ(accepted(body).metadata.at("note").as_string(), "\\u0000");
}

TEST(EventValidation, MetadataRejectsNulAnywhere) {
  struct Case {
    const char* description;
    const char* metadata_json;
    const char* field;
  };
  for (Case c : {
           Case{"in a string value", R"({"componentId": 1, "note": "a\u0000b"})", "metadata"},
           Case{"as a whole value", R"({"componentId": 1, "note": "\u0000"})", "metadata"},
           Case{"in a key", R"({"componentId": 1, "k\u0000": 1})", "metadata"},
           Case{"in a nested object value", R"({"componentId": 1, "o": {"a": {"b": "\u0000"}}})",
                "metadata"},
           Case{"in a nested object key", R"({"componentId": 1, "o": {"a": {"\u0000": 1}}})",
                "metadata"},
           Case{"in an array", R"({"componentId": 1, "list": ["ok", "x\u0000"]})", "metadata"},
           Case{"in an array of objects", R"({"componentId": 1, "list": [[{"k": "\u0000"}]]})",
                "metadata"},
           Case{"in elementId", R"({"componentId": 1, "elementId": "e\u0000"})",
                "metadata.elementId"},
           Case{"in keyword", R"({"componentId": 1, "keyword": "k\u0000"})", "metadata.keyword"},
       }) {
    SCOPED_TRACE(c.description);
    auto body = click();
    body["metadata"] = json::parse(c.metadata_json);
    EXPECT_REJECTED(body, "INVALID_VALUE", c.field);
  }
}

// ---------------------------------------------------------------------------------------
// metadata.componentId

TEST(EventValidation, ComponentIdIsRequired) {
  auto body = click();
  metadata(body).erase("componentId");
  EXPECT_REJECTED(body, "MISSING_FIELD", "metadata.componentId");
  metadata(body)["componentId"] = nullptr;
  EXPECT_REJECTED(body, "MISSING_FIELD", "metadata.componentId");
}

TEST(EventValidation, ComponentIdMustBeAnIntegerOfAtLeastOne) {
  struct Case {
    const char* json_text;
    const char* code;
  };
  for (Case c : {Case{"\"1002\"", "INVALID_TYPE"}, Case{"true", "INVALID_TYPE"},
                 Case{"false", "INVALID_TYPE"}, Case{"[1002]", "INVALID_TYPE"},
                 Case{"{\"id\": 1002}", "INVALID_TYPE"}, Case{"1.5", "INVALID_VALUE"},
                 Case{"1.0", "INVALID_VALUE"}, Case{"1e3", "INVALID_VALUE"},
                 Case{"1e30", "INVALID_VALUE"}, Case{"0", "INVALID_VALUE"},
                 Case{"-0", "INVALID_VALUE"}, Case{"-1", "INVALID_VALUE"},
                 Case{"-9223372036854775808", "INVALID_VALUE"},
                 Case{"9223372036854775808", "INVALID_VALUE"},          // 2^63
                 Case{"18446744073709551615", "INVALID_VALUE"},         // 2^64 - 1
                 Case{"18446744073709551616", "INVALID_VALUE"}}) {      // 2^64
    SCOPED_TRACE(c.json_text);
    auto body = click();
    metadata(body)["componentId"] = json::parse(c.json_text);
    EXPECT_REJECTED(body, c.code, "metadata.componentId");
  }
}

TEST(EventValidation, ComponentIdAcceptsOneToInt64Max) {
  struct Case {
    const char* json_text;
    std::int64_t expected;
  };
  for (Case c : {Case{"1", 1}, Case{"200", 200}, Case{"1003", 1003},
                 Case{"9223372036854775807", INT64_MAX}}) {
    SCOPED_TRACE(c.json_text);
    auto body = click();
    metadata(body)["componentId"] = json::parse(c.json_text);
    EXPECT_EQ(accepted(body).component_id, c.expected);
  }
}

// ---------------------------------------------------------------------------------------
// metadata.elementId

TEST(EventValidation, ElementIdIsOptional) {
  auto body = click();
  metadata(body).erase("elementId");
  EXPECT_EQ(accepted(body).element_id, std::nullopt);
  metadata(body)["elementId"] = nullptr;
  EXPECT_EQ(accepted(body).element_id, std::nullopt);
}

TEST(EventValidation, ElementIdMustBeANonBlankString) {
  for (const Sample& sample : kNotStrings) {
    SCOPED_TRACE(sample.json_text);
    auto body = click();
    metadata(body)["elementId"] = sample.value();
    EXPECT_REJECTED(body, "INVALID_TYPE", "metadata.elementId");
  }
  for (const char* blank : {"", " ", "\t\n"}) {
    auto body = click();
    metadata(body)["elementId"] = blank;
    EXPECT_REJECTED(body, "INVALID_VALUE", "metadata.elementId");
  }
}

TEST(EventValidation, ElementIdRejectsControlCharactersAndOverlongText) {
  auto body = click();
  metadata(body)["elementId"] = "element\x01";
  EXPECT_REJECTED(body, "INVALID_VALUE", "metadata.elementId");
  metadata(body)["elementId"] = std::string(257, 'e');
  EXPECT_REJECTED(body, "INVALID_VALUE", "metadata.elementId");
}

TEST(EventValidation, ElementIdAcceptsUnicode) {
  auto body = click();
  metadata(body)["elementId"] = "버튼-👍";
  EXPECT_EQ(accepted(body).element_id, "버튼-👍");
}

// ---------------------------------------------------------------------------------------
// metadata.keyword

TEST(EventValidation, KeywordIsRequiredForSearch) {
  auto body = search();
  metadata(body).erase("keyword");
  EXPECT_REJECTED(body, "MISSING_FIELD", "metadata.keyword");
  metadata(body)["keyword"] = nullptr;
  EXPECT_REJECTED(body, "MISSING_FIELD", "metadata.keyword");
}

TEST(EventValidation, KeywordMustNotBeBlankForSearch) {
  for (const char* blank : {"", " ", "  \t "}) {
    SCOPED_TRACE(json::serialize(json::value(blank)));
    auto body = search();
    metadata(body)["keyword"] = blank;
    EXPECT_REJECTED(body, "INVALID_VALUE", "metadata.keyword");
  }
}

TEST(EventValidation, KeywordMustBeAStringForSearch) {
  for (const Sample& sample : kNotStrings) {
    SCOPED_TRACE(sample.json_text);
    auto body = search();
    metadata(body)["keyword"] = sample.value();
    EXPECT_REJECTED(body, "INVALID_TYPE", "metadata.keyword");
  }
}

TEST(EventValidation, KeywordIsOptionalForOtherTypes) {
  auto body = click();
  metadata(body).erase("keyword");
  EXPECT_EQ(accepted(body).keyword, std::nullopt);
}

TEST(EventValidation, BlankKeywordIsIgnoredForOtherTypes) {
  for (const char* blank : {"", " ", "\t"}) {
    SCOPED_TRACE(json::serialize(json::value(blank)));
    auto body = click();
    metadata(body)["keyword"] = blank;
    Event event = accepted(body);
    EXPECT_EQ(event.keyword, std::nullopt);
    EXPECT_EQ(event.metadata.at("keyword"), json::value(blank)) << "still kept in metadata";
  }
}

TEST(EventValidation, NonBlankKeywordIsStillCheckedForOtherTypes) {
  auto body = click();
  metadata(body)["keyword"] = "keyword-3";
  EXPECT_EQ(accepted(body).keyword, "keyword-3");

  metadata(body)["keyword"] = 3;
  EXPECT_REJECTED(body, "INVALID_TYPE", "metadata.keyword");

  metadata(body)["keyword"] = "bad\nkeyword";
  EXPECT_REJECTED(body, "INVALID_VALUE", "metadata.keyword");
}

TEST(EventValidation, KeywordAcceptsUnicode) {
  for (const char* text : {"맛집", "서울 카페", "🍜", "ramen 🍜 라면", "naïve"}) {
    SCOPED_TRACE(text);
    auto body = search();
    metadata(body)["keyword"] = text;
    EXPECT_EQ(accepted(body).keyword, text);
  }
}

TEST(EventValidation, KeywordRejectsControlCharacters) {
  for (const char* text : {R"("key\tword")", R"("key\u0000")", R"("\u007f")", R"("a\u0002")"}) {
    SCOPED_TRACE(text);
    auto body = search();
    metadata(body)["keyword"] = json::parse(text);
    EXPECT_REJECTED(body, "INVALID_VALUE", "metadata.keyword");
  }
}

// ---------------------------------------------------------------------------------------
// metadata.postId

TEST(EventValidation, PostIdIsRequiredForLikeAndUnlike) {
  for (const char* name : {"LIKE", "UNLIKE"}) {
    SCOPED_TRACE(name);
    auto body = like();
    body["eventType"] = name;
    metadata(body).erase("postId");
    EXPECT_REJECTED(body, "MISSING_FIELD", "metadata.postId");
    metadata(body)["postId"] = nullptr;
    EXPECT_REJECTED(body, "MISSING_FIELD", "metadata.postId");
  }
}

TEST(EventValidation, PostIdIsOptionalForOtherTypes) {
  auto body = click();
  EXPECT_EQ(accepted(body).post_id, std::nullopt);
  metadata(body)["postId"] = 11;
  EXPECT_EQ(accepted(body).post_id, 11);
}

TEST(EventValidation, PostIdMustBeAPositiveInteger) {
  struct Case {
    const char* json_text;
    const char* code;
  };
  for (Case c : {Case{"\"7\"", "INVALID_TYPE"}, Case{"true", "INVALID_TYPE"},
                 Case{"[7]", "INVALID_TYPE"}, Case{"{}", "INVALID_TYPE"},
                 Case{"7.5", "INVALID_VALUE"}, Case{"7.0", "INVALID_VALUE"},
                 Case{"0", "INVALID_VALUE"}, Case{"-7", "INVALID_VALUE"},
                 Case{"9223372036854775808", "INVALID_VALUE"}}) {
    SCOPED_TRACE(c.json_text);
    auto body = like();
    metadata(body)["postId"] = json::parse(c.json_text);
    EXPECT_REJECTED(body, c.code, "metadata.postId");
  }
}

TEST(EventValidation, PostIdAcceptsInt64Max) {
  auto body = like();
  metadata(body)["postId"] = json::parse("9223372036854775807");
  EXPECT_EQ(accepted(body).post_id, INT64_MAX);
}

// ---------------------------------------------------------------------------------------
// Order of the checks: the first fault in the documented order is the one reported.

TEST(EventValidation, ReportsTheFirstFaultInFieldOrder) {
  auto body = parse_object(R"({"eventType": "LIKE", "metadata": {"componentId": 0}})");
  EXPECT_REJECTED(body, "MISSING_FIELD", "userId");
  body["userId"] = 1;
  EXPECT_REJECTED(body, "MISSING_FIELD", "sessionId");
  body["sessionId"] = "s";
  EXPECT_REJECTED(body, "INVALID_VALUE", "metadata.componentId");
  metadata(body)["componentId"] = 1003;
  EXPECT_REJECTED(body, "MISSING_FIELD", "metadata.postId");
  metadata(body)["postId"] = 1;
  accepted(body);
}

// ---------------------------------------------------------------------------------------
// eventId (extension)

TEST(EventValidation, EventIdIsOptional) {
  auto body = click();
  EXPECT_EQ(accepted(body).client_event_id, std::nullopt);
  body["eventId"] = nullptr;
  EXPECT_EQ(accepted(body).client_event_id, std::nullopt);
}

TEST(EventValidation, EventIdAcceptsAnyUuidVersion) {
  for (const char* id : {"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "123e4567-e89b-12d3-a456-426614174000",
                         "00000000-0000-0000-0000-000000000000"}) {
    SCOPED_TRACE(id);
    auto body = click();
    body["eventId"] = id;
    EXPECT_EQ(accepted(body).client_event_id, id);
  }
}

TEST(EventValidation, EventIdIsNormalisedToLowerCase) {
  auto body = click();
  body["eventId"] = "0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B";
  EXPECT_EQ(accepted(body).client_event_id, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
  body["eventId"] = "0190a1B2-c3D4-7e5F-8A9b-0c1d2E3F4a5B";
  EXPECT_EQ(accepted(body).client_event_id, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
}

TEST(EventValidation, EventIdMustBeAUuidString) {
  for (const char* text : {"42", "1.5", "true", "[\"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\"]", "{}"}) {
    SCOPED_TRACE(text);
    auto body = click();
    body["eventId"] = json::parse(text);
    EXPECT_REJECTED(body, "INVALID_TYPE", "eventId");
  }
  for (const char* id : {"", "not-a-uuid",
                         "0190a1b2c3d47e5f8a9b0c1d2e3f4a5b",          // no dashes
                         "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5",       // one short
                         "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b0",     // one long
                         "0190a1b2-c3d4-7e5f-8a9b0-c1d2e3f4a5b",      // dash misplaced
                         "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5g",      // not hex
                         "{0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b}",    // braces
                         "urn:uuid:0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
                         " 0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5",
                         "0190a1b2_c3d4_7e5f_8a9b_0c1d2e3f4a5b"}) {
    SCOPED_TRACE(id);
    auto body = click();
    body["eventId"] = id;
    EXPECT_REJECTED(body, "INVALID_VALUE", "eventId");
  }
}

// ---------------------------------------------------------------------------------------
// timestamp (extension)

TEST(EventValidation, TimestampAbsentOrNullMeansServerTime) {
  auto body = click();
  body["timestamp"] = nullptr;
  Event event = accepted(body);
  EXPECT_EQ(event.client_time_ms, std::nullopt);
  EXPECT_EQ(event.event_time_ms, kNow);
  EXPECT_EQ(event.server_time_ms, kNow);
}

TEST(EventValidation, TimestampAcceptsRfc3339) {
  auto body = click();
  body["timestamp"] = "2026-11-25T21:45:00.123+09:00";  // a minute before kNow
  Event event = accepted(body);
  EXPECT_EQ(event.client_time_ms, kNow - kMinute);
  EXPECT_EQ(event.event_time_ms, kNow - kMinute);
  EXPECT_EQ(event.server_time_ms, kNow);

  body["timestamp"] = "2026-11-25T12:46:00Z";
  EXPECT_EQ(accepted(body).event_time_ms, kNow - 123);
}

TEST(EventValidation, TimestampAcceptsEpochMilliseconds) {
  auto body = click();
  body["timestamp"] = kNow - 5000;
  Event event = accepted(body);
  EXPECT_EQ(event.client_time_ms, kNow - 5000);
  EXPECT_EQ(event.event_time_ms, kNow - 5000);
}

TEST(EventValidation, TimestampRejectsWrongJsonTypes) {
  for (const char* text : {"true", "1.5", "1795610760123.0", "1.795610760123e12", "[]",
                           "{\"ms\": 1795610760123}"}) {
    SCOPED_TRACE(text);
    auto body = click();
    body["timestamp"] = json::parse(text);
    EXPECT_REJECTED(body, "INVALID_TYPE", "timestamp");
  }
}

TEST(EventValidation, TimestampRejectsUnparsableText) {
  for (const char* text : {"", "now", "1795610760123", "2026-11-25", "2026-11-25T21:46:00",
                           "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z",
                           "2026-11-25T25:00:00Z", "Wed, 25 Nov 2026 12:46:00 GMT"}) {
    SCOPED_TRACE(text);
    auto body = click();
    body["timestamp"] = text;
    EXPECT_REJECTED(body, "INVALID_VALUE", "timestamp");
  }
}

TEST(EventValidation, TimestampOutsideYearsOneTo9999IsRejected) {
  for (const char* text : {"253402300800000", "-62135596800001", "9223372036854775807",
                           "-9223372036854775808", "\"0000-12-31T23:59:59Z\"",
                           "\"9999-12-31T23:59:59-00:01\""}) {
    SCOPED_TRACE(text);
    auto body = click();
    body["timestamp"] = json::parse(text);
    EXPECT_REJECTED(body, "INVALID_VALUE", "timestamp");
  }
}

TEST(EventValidation, TimestampAtTheEdgesOfYearsOneTo9999IsKept) {
  struct Case {
    const char* json_text;
    std::int64_t ms;
  };
  for (Case c : {Case{"-62135596800000", -62135596800000},
                 Case{"\"0001-01-01T00:00:00Z\"", -62135596800000},
                 Case{"253402300799000", 253402300799000},
                 Case{"\"9999-12-31T23:59:59Z\"", 253402300799000},
                 Case{"\"9999-12-31T23:59:59.999Z\"", 253402300799999},
                 Case{"253402300799999", 253402300799999}}) {
    SCOPED_TRACE(c.json_text);
    auto body = click();
    body["timestamp"] = json::parse(c.json_text);
    Event event = accepted(body);
    EXPECT_EQ(event.client_time_ms, c.ms);
    EXPECT_EQ(event.event_time_ms, kNow) << "implausible, so the server time counts";
  }
}

TEST(EventValidation, ImplausibleClientTimeKeepsServerTimeForCounting) {
  struct Case {
    const char* description;
    std::int64_t client_ms;
    bool plausible;
  };
  const std::int64_t day = 24 * kHour;
  for (Case c : {Case{"exactly now", kNow, true},
                 Case{"5 minutes ahead", kNow + 5 * kMinute, true},
                 Case{"5 minutes and 1 ms ahead", kNow + 5 * kMinute + 1, false},
                 Case{"an hour ahead", kNow + kHour, false},
                 Case{"24 hours old", kNow - day, true},
                 Case{"24 hours and 1 ms old", kNow - day - 1, false},
                 Case{"a year old", kNow - 365 * day, false},
                 Case{"the epoch", 0, false},
                 Case{"before the epoch", -1, false}}) {
    SCOPED_TRACE(c.description);
    auto body = click();
    body["timestamp"] = c.client_ms;
    Event event = accepted(body);
    EXPECT_EQ(event.client_time_ms, c.client_ms) << "the client time is kept as sent";
    EXPECT_EQ(event.server_time_ms, kNow);
    EXPECT_EQ(event.event_time_ms, c.plausible ? c.client_ms : kNow);
  }
}

TEST(EventValidation, PlausibilityWindowIsConfigurable) {
  ValidationLimits limits;
  limits.max_future_skew_ms = 0;
  limits.max_past_age_ms = kMinute;
  auto body = click();
  body["timestamp"] = kNow + 1;
  EXPECT_EQ(accepted(body, kNow, limits).event_time_ms, kNow);
  body["timestamp"] = kNow - kMinute;
  EXPECT_EQ(accepted(body, kNow, limits).event_time_ms, kNow - kMinute);
  body["timestamp"] = kNow - kMinute - 1;
  EXPECT_EQ(accepted(body, kNow, limits).event_time_ms, kNow);
}

// ---------------------------------------------------------------------------------------
// Batch envelope (extension)

json::value batch_of(std::size_t count) {
  json::array events;
  for (std::size_t i = 0; i < count; ++i) events.push_back(click());
  return json::object{{"events", std::move(events)}};
}

FieldError envelope_error(const json::value& body, const ValidationLimits& limits = {}) {
  auto result = validate_batch_envelope(body, limits);
  if (auto* error = std::get_if<FieldError>(&result)) return *error;
  ADD_FAILURE() << "accepted the envelope " << json::serialize(body).substr(0, 200);
  return {};
}

TEST(BatchEnvelope, ReturnsTheEventsArrayWithoutValidatingItsItems) {
  json::value body = json::parse(R"({"events": [{"eventType": "CLICK"}, 42, null]})");
  auto result = validate_batch_envelope(body);
  ASSERT_TRUE(std::holds_alternative<tracker::domain::BatchEnvelope>(result));
  const json::array* events = std::get<tracker::domain::BatchEnvelope>(result).events;
  EXPECT_EQ(events, &body.at("events").as_array()) << "points into the body, not a copy";
  EXPECT_EQ(events->size(), 3u);
}

TEST(BatchEnvelope, AcceptsOneToAThousandEvents) {
  for (std::size_t count : {1u, 2u, 1000u}) {
    SCOPED_TRACE(count);
    json::value body = batch_of(count);
    auto result = validate_batch_envelope(body);
    ASSERT_TRUE(std::holds_alternative<tracker::domain::BatchEnvelope>(result));
    EXPECT_EQ(std::get<tracker::domain::BatchEnvelope>(result).events->size(), count);
  }
}

TEST(BatchEnvelope, RejectsABodyThatIsNotAnObject) {
  for (const char* text : {"[]", "[{\"eventType\": \"CLICK\"}]", "\"events\"", "1", "null"}) {
    SCOPED_TRACE(text);
    FieldError error = envelope_error(json::parse(text));
    EXPECT_EQ(error.code, "INVALID_BODY");
    EXPECT_EQ(error.field, "");
  }
}

TEST(BatchEnvelope, EventsIsRequired) {
  for (const char* text : {"{}", "{\"events\": null}"}) {
    SCOPED_TRACE(text);
    FieldError error = envelope_error(json::parse(text));
    EXPECT_EQ(error.code, "MISSING_FIELD");
    EXPECT_EQ(error.field, "events");
  }
}

TEST(BatchEnvelope, EventsMustBeAnArray) {
  for (const char* text : {"{\"events\": {}}", "{\"events\": \"[]\"}", "{\"events\": 3}",
                           "{\"events\": true}"}) {
    SCOPED_TRACE(text);
    FieldError error = envelope_error(json::parse(text));
    EXPECT_EQ(error.code, "INVALID_TYPE");
    EXPECT_EQ(error.field, "events");
  }
}

TEST(BatchEnvelope, RejectsAnEmptyBatch) {
  FieldError error = envelope_error(json::parse(R"({"events": []})"));
  EXPECT_EQ(error.code, "INVALID_VALUE");
  EXPECT_EQ(error.field, "events");
}

TEST(BatchEnvelope, RejectsMoreThanAThousandEvents) {
  FieldError error = envelope_error(batch_of(1001));
  EXPECT_EQ(error.code, "INVALID_VALUE");
  EXPECT_EQ(error.field, "events");
  EXPECT_NE(error.message.find("1000"), std::string::npos) << error.message;
}

TEST(BatchEnvelope, BatchSizeLimitIsConfigurable) {
  ValidationLimits limits;
  limits.max_batch_events = 2;
  json::value two = batch_of(2);
  EXPECT_TRUE(std::holds_alternative<tracker::domain::BatchEnvelope>(validate_batch_envelope(two, limits)));
  EXPECT_EQ(envelope_error(batch_of(3), limits).code, "INVALID_VALUE");
}

TEST(BatchEnvelope, RejectsUnknownFields) {
  json::value body = batch_of(1);
  body.as_object()["event"] = json::array{};
  FieldError error = envelope_error(body);
  EXPECT_EQ(error.code, "UNKNOWN_FIELD");
  EXPECT_EQ(error.field, "event");

  error = envelope_error(json::parse(R"({"Events": [{}]})"));
  EXPECT_EQ(error.code, "UNKNOWN_FIELD");
  EXPECT_EQ(error.field, "Events");
}

// ---------------------------------------------------------------------------------------
// One keyword rule (domain/text.hpp) and Unicode blanks

TEST(EventValidation, KeywordsAreNormalisedLikeSearchKeywords) {
  for (const char* spelling : {"Cats", "cats", " cats", "#cats", "\u3000#CATS\u00a0"}) {
    SCOPED_TRACE(spelling);
    auto body = search();
    metadata(body)["keyword"] = spelling;
    Event event = accepted(body);
    EXPECT_EQ(event.keyword, "cats");
    EXPECT_EQ(event.metadata.at("keyword"), json::value(spelling)) << "metadata keeps what was sent";
  }
  auto body = search();
  metadata(body)["keyword"] = "*";
  EXPECT_EQ(accepted(body).keyword, "*");
}

TEST(EventValidation, KeywordBlankAfterNormalising) {
  for (const char* blank : {"#", " # ", "\u3000", "\u00a0", "#\u3000"}) {
    SCOPED_TRACE(blank);
    auto body = search();
    metadata(body)["keyword"] = blank;
    EXPECT_REJECTED(body, "INVALID_VALUE", "metadata.keyword");
    body = click();
    metadata(body)["keyword"] = blank;
    EXPECT_EQ(accepted(body).keyword, std::nullopt);
  }
}

TEST(EventValidation, BlankTextsSeeUnicodeWhiteSpace) {
  for (const char* blank : {"\u3000", "\u00a0", " \u2003\u200a", "\u2028"}) {
    SCOPED_TRACE(blank);
    auto body = click();
    body["sessionId"] = blank;
    EXPECT_REJECTED(body, "INVALID_VALUE", "sessionId");
    body = click();
    metadata(body)["elementId"] = blank;
    EXPECT_REJECTED(body, "INVALID_VALUE", "metadata.elementId");
  }
}

TEST(BatchEnvelope, UnknownFieldNameIsCutBetweenCharacters) {
  json::value body = batch_of(1);
  body.as_object()[std::string(62, 'x') + "\u20ac"] = 1;  // the euro sign takes 3 bytes
  EXPECT_EQ(envelope_error(body).field, std::string(62, 'x'));
}

}  // namespace
