// Query parameters as every route decodes them: empty ones left out, names and values held
// to the rules of texts in bodies (valid UTF-8, no control characters).
#include "http/query.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using tracker::domain::FieldError;
using tracker::domain::QueryParams;
using tracker::http::query_params;
using tracker::http::Request;
using tracker::http::beast_http::verb;

std::variant<QueryParams, FieldError> decode(std::string target) {
  return query_params(Request{verb::get, target, 11});
}

TEST(QueryParams, EmptyParametersAreLeftOut) {
  for (const char* target : {"/x?", "/x?&", "/x?&&", "/x?a=1&", "/x?&a=1", "/x?a=1&&", "/x?a=1&="}) {
    auto params = decode(target);
    ASSERT_TRUE(std::holds_alternative<QueryParams>(params)) << target;
    QueryParams& got = std::get<QueryParams>(params);
    EXPECT_EQ(got.count(""), 0u) << target;
    if (std::string(target).find("a=1") != std::string::npos) {
      EXPECT_EQ(got["a"], "1");
    }
  }
}

TEST(QueryParams, ValuesAreDecodedAndTheLastRepeatWins) {
  auto params = decode("/x?keyword=caf%C3%A9&keyword=%EA%B3%A0%EC%96%91%EC%9D%B4&k=a%7Cb%3A*");
  ASSERT_TRUE(std::holds_alternative<QueryParams>(params));
  EXPECT_EQ(std::get<QueryParams>(params).at("keyword"), "고양이");
  EXPECT_EQ(std::get<QueryParams>(params).at("k"), "a|b:*");
}

TEST(QueryParams, InvalidUtf8AndControlCharactersAreRefused) {
  for (const char* target : {"/x?keyword=%C3", "/x?keyword=%FF", "/x?keyword=x2%00zzz", "/x?keyword=a%0Ab",
                             "/x?keyword=%7F", "/x?keyword=%C2%85", "/x?keyword=%ED%A0%80", "/x?keyword=%C0%AF"}) {
    auto params = decode(target);
    ASSERT_TRUE(std::holds_alternative<FieldError>(params)) << target;
    EXPECT_EQ(std::get<FieldError>(params).field, "keyword") << target;
  }
  auto params = decode("/x?%FF=1");
  ASSERT_TRUE(std::holds_alternative<FieldError>(params));
  EXPECT_EQ(std::get<FieldError>(params).field, "");
}

}  // namespace
