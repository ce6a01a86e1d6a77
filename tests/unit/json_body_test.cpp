// Reading a JSON request body (411 / 415 / 400) and the contract's error and JSON answers.
#include "http/message.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <string>

namespace {

namespace json = boost::json;
using tracker::http::beast_http::field;
using tracker::http::beast_http::verb;
using tracker::http::error_body;
using tracker::http::error_response;
using tracker::http::json_response;
using tracker::http::JsonBody;
using tracker::http::parse_json_body;
using tracker::http::Request;
using tracker::http::Response;
using tracker::http::Status;

Request post(std::string body, const char* content_type = "application/json") {
  Request request{verb::post, "/api/events", 11};
  if (content_type) request.set(field::content_type, content_type);
  request.body() = std::move(body);
  request.prepare_payload();
  return request;
}

struct Outcome {
  bool ok;
  json::value value;
  Response error;
};

Outcome parse(const Request& request, JsonBody accepted = JsonBody::json_only) {
  Outcome outcome;
  outcome.ok = parse_json_body(request, outcome.value, outcome.error, accepted);
  return outcome;
}

std::string error_code(const Response& response) {
  return std::string(json::parse(response.body()).at("error").at("code").as_string());
}

// ---------------------------------------------------------------------------------------
// parse_json_body

TEST(ParseJsonBody, ParsesAJsonObject) {
  Outcome outcome = parse(post(R"({"eventType": "CLICK", "metadata": {"componentId": 1002}})"));
  ASSERT_TRUE(outcome.ok);
  EXPECT_EQ(outcome.value.at("eventType"), json::value("CLICK"));
  EXPECT_EQ(outcome.value.at("metadata").at("componentId").as_int64(), 1002);
}

TEST(ParseJsonBody, ParsesAnyJsonValueAndLeavesTheShapeToTheCaller) {
  for (const char* text : {"[]", "null", "42", "\"text\"", "  {}  \n"}) {
    SCOPED_TRACE(text);
    Outcome outcome = parse(post(text));
    EXPECT_TRUE(outcome.ok);
    EXPECT_EQ(outcome.value, json::parse(text));
  }
}

TEST(ParseJsonBody, KeepsUnicodeAndEscapedNul) {
  Outcome outcome = parse(post(R"({"keyword": "검색 🎉", "note": "a\u0000b"})"));
  ASSERT_TRUE(outcome.ok);
  EXPECT_EQ(outcome.value.at("keyword").as_string(), "검색 🎉");
  EXPECT_EQ(outcome.value.at("note").as_string(), std::string("a\0b", 3));
}

TEST(ParseJsonBody, EmptyBodyIs411) {
  for (const char* content_type : {"application/json", static_cast<const char*>(nullptr)}) {
    SCOPED_TRACE(content_type ? content_type : "no Content-Type");
    Outcome outcome = parse(post("", content_type));
    EXPECT_FALSE(outcome.ok);
    EXPECT_EQ(outcome.error.result(), Status::length_required);
    EXPECT_EQ(error_code(outcome.error), "BODY_REQUIRED");
  }
}

TEST(ParseJsonBody, AcceptsJsonMediaTypeVariants) {
  for (const char* content_type :
       {"application/json", "application/json; charset=utf-8", "application/json;charset=UTF-8",
        "Application/JSON", "APPLICATION/JSON", " application/json ", "application/json ;"}) {
    SCOPED_TRACE(content_type);
    EXPECT_TRUE(parse(post("{}", content_type)).ok);
  }
}

TEST(ParseJsonBody, OtherMediaTypesAre415) {
  for (const char* content_type :
       {static_cast<const char*>(nullptr), "", "text/plain", "text/json", "application/xml",
        "application/x-www-form-urlencoded", "application/json-patch+json",
        "application/jsonl", "multipart/form-data; boundary=x", "json", "application/ json"}) {
    SCOPED_TRACE(content_type ? content_type : "no Content-Type");
    Outcome outcome = parse(post("{}", content_type));
    EXPECT_FALSE(outcome.ok);
    EXPECT_EQ(outcome.error.result(), Status::unsupported_media_type);
    EXPECT_EQ(error_code(outcome.error), "UNSUPPORTED_MEDIA_TYPE");
  }
}

TEST(ParseJsonBody, BeaconRoutesTakeTextPlainWithAnyCharset) {
  for (const char* content_type : {"text/plain", "text/plain;charset=UTF-8", "Text/Plain; charset=iso-8859-1",
                                   "application/json"}) {
    SCOPED_TRACE(content_type);
    Outcome outcome = parse(post(R"({"a": 1})", content_type), JsonBody::json_or_text);
    EXPECT_TRUE(outcome.ok);
    EXPECT_EQ(outcome.value, json::parse(R"({"a": 1})"));
  }
  for (const char* content_type : {"text/html", "text/plainx", "text", "application/x-www-form-urlencoded"}) {
    SCOPED_TRACE(content_type);
    Outcome outcome = parse(post("{}", content_type), JsonBody::json_or_text);
    EXPECT_EQ(outcome.error.result(), Status::unsupported_media_type);
  }
  EXPECT_EQ(parse(post("{", "text/plain"), JsonBody::json_or_text).error.result(), Status::bad_request)
      << "text/plain is still parsed as JSON";
}

TEST(ParseJsonBody, MalformedJsonIs400) {
  for (const char* text :
       {"{", "}", "{\"a\": }", "{\"a\": 1,}", "[1, 2", "{'a': 1}", "{a: 1}", "{} {}", "{}x",
        "nul", "\"unterminated", "{\"a\": \"raw\ttab\"}", "{\"a\": 01}", "NaN", " "}) {
    SCOPED_TRACE(text);
    Outcome outcome = parse(post(text));
    EXPECT_FALSE(outcome.ok);
    EXPECT_EQ(outcome.error.result(), Status::bad_request);
    EXPECT_EQ(error_code(outcome.error), "MALFORMED_JSON");
  }
}

TEST(ParseJsonBody, InvalidUtf8Is400) {
  for (std::string text : {std::string("{\"k\": \"\xff\"}"), std::string("{\"k\": \"\xc3\"}"),
                           std::string("{\"k\": \"\xed\xa0\x80\"}")}) {
    Outcome outcome = parse(post(text));
    EXPECT_FALSE(outcome.ok);
    EXPECT_EQ(outcome.error.result(), Status::bad_request);
    EXPECT_EQ(error_code(outcome.error), "MALFORMED_JSON");
  }
}

TEST(ParseJsonBody, NestingIsLimitedToSixteenLevels) {
  auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  EXPECT_TRUE(parse(post(nested(16))).ok);
  Outcome deep = parse(post(nested(17)));
  EXPECT_FALSE(deep.ok);
  EXPECT_EQ(deep.error.result(), Status::bad_request);
  EXPECT_EQ(error_code(deep.error), "MALFORMED_JSON");
  EXPECT_FALSE(parse(post(nested(10'000))).ok) << "a deep body must not exhaust the stack";
}

TEST(ParseJsonBody, MalformedJsonMessageSaysWhy) {
  Outcome outcome = parse(post("{"));
  ASSERT_FALSE(outcome.ok);
  std::string message(json::parse(outcome.error.body()).at("error").at("message").as_string());
  EXPECT_TRUE(message.starts_with("the body is not valid JSON: ")) << message;
  EXPECT_GT(message.size(), std::string("the body is not valid JSON: ").size());
}

TEST(ParseJsonBody, ChecksTheBodyBeforeTheMediaTypeAndTheMediaTypeBeforeTheSyntax) {
  EXPECT_EQ(parse(post("", "text/plain")).error.result(), Status::length_required);
  EXPECT_EQ(parse(post("{", "text/plain")).error.result(), Status::unsupported_media_type);
}

// ---------------------------------------------------------------------------------------
// Answers

TEST(ErrorBody, HasCodeMessageAndFieldOnlyWhenGiven) {
  EXPECT_EQ(error_body("MISSING_FIELD", "metadata.postId is required", "metadata.postId"),
            json::parse(R"({"error": {"code": "MISSING_FIELD",
                "message": "metadata.postId is required", "field": "metadata.postId"}})"));
  EXPECT_EQ(error_body("NOT_FOUND", "no such path"),
            json::parse(R"({"error": {"code": "NOT_FOUND", "message": "no such path"}})"));
}

TEST(ErrorResponse, IsJsonWithTheStatusAndLength) {
  Response response = error_response(Status::bad_request, "INVALID_VALUE", "say \"why\"", "userId");
  EXPECT_EQ(response.result(), Status::bad_request);
  EXPECT_EQ(response[field::content_type], "application/json");
  EXPECT_EQ(response[field::content_length], std::to_string(response.body().size()));
  EXPECT_EQ(json::parse(response.body()),
            json::parse(R"({"error": {"code": "INVALID_VALUE", "message": "say \"why\"",
                "field": "userId"}})"));
}

TEST(JsonResponse, SerialisesTheBody) {
  Response response = json_response(Status::accepted, json::object{{"eventId", "abc"}});
  EXPECT_EQ(response.result(), Status::accepted);
  EXPECT_EQ(response.version(), 11u);
  EXPECT_EQ(response.body(), R"({"eventId":"abc"})");
  EXPECT_EQ(response[field::content_length], "17");
}

}  // namespace
