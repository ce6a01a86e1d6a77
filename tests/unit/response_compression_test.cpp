// Answer compression: which Accept-Encoding headers allow gzip, and which answers are
// compressed (large, textual, not yet encoded) and say Vary: Accept-Encoding.
#include "http/response_compression.hpp"

#include "http/body_decoding.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace tracker::http;

TEST(AcceptsGzip, ReadsCodingsAndQValues) {
  for (const char* yes : {"gzip", "GZIP", "x-gzip", "gzip, deflate, br", "br;q=1.0, gzip;q=0.8, *;q=0.1", "deflate, *",
                          " gzip ; q=0.001", "identity;q=0, gzip", "gzip;q=1"}) {
    EXPECT_TRUE(accepts_gzip(yes)) << yes;
  }
  for (const char* no : {"", "identity", "deflate, br", "gzip;q=0", "gzip; q=0.000", "*;q=0", "gzip;q=0, *",
                         "gzip;q=abc", "gzip;q=2", "gzipper", "*;q=0, deflate"}) {
    EXPECT_FALSE(accepts_gzip(no)) << no;
  }
}

Request get_with(std::string_view accept_encoding) {
  Request request{beast_http::verb::get, "/api/statistics/series?eventType=CLICK", 11};
  if (!accept_encoding.empty()) request.set(beast_http::field::accept_encoding, accept_encoding);
  return request;
}

std::string large_json() {
  std::string body = R"({"counts":[)";
  for (int i = 0; i < 1440; ++i) body += std::to_string(i % 5) + ",";
  body.back() = ']';
  return body + "}";
}

std::string inflated(const std::string& gzipped) {
  std::string out;
  auto failure = inflate_body(gzipped, ContentCoding::gzip, 1 << 20, out, [](std::size_t) { return true; });
  EXPECT_FALSE(failure.has_value());
  return out;
}

TEST(CompressAnswer, ALargeJsonAnswerIsGzippedWhenAccepted) {
  Response response = json_text_response(Status::ok, large_json());
  compress_answer(get_with("gzip, deflate"), response);
  EXPECT_EQ(response[beast_http::field::content_encoding], "gzip");
  EXPECT_EQ(response[beast_http::field::vary], "Accept-Encoding");
  EXPECT_LT(response.body().size(), large_json().size() / 2);
  EXPECT_EQ(inflated(response.body()), large_json());
}

TEST(CompressAnswer, NotAcceptedStaysIdentityButVaries) {
  for (const char* header : {"", "identity", "gzip;q=0"}) {
    Response response = json_text_response(Status::ok, large_json());
    compress_answer(get_with(header), response);
    EXPECT_EQ(response.count(beast_http::field::content_encoding), 0u) << header;
    EXPECT_EQ(response.body(), large_json()) << header;
    EXPECT_EQ(response[beast_http::field::vary], "Accept-Encoding") << header;
  }
}

TEST(CompressAnswer, SmallAnswersAreLeftAlone) {
  std::string small(kGzipMinBytes - 1, 'a');
  Response response = json_text_response(Status::ok, "\"" + small.substr(2) + "\"");
  compress_answer(get_with("gzip"), response);
  EXPECT_EQ(response.count(beast_http::field::content_encoding), 0u);
  EXPECT_EQ(response.count(beast_http::field::vary), 0u);
}

TEST(CompressAnswer, OnlyTextualBodiesNotYetEncoded) {
  Response png = json_text_response(Status::ok, large_json());
  png.set(beast_http::field::content_type, "image/png");
  compress_answer(get_with("gzip"), png);
  EXPECT_EQ(png.count(beast_http::field::content_encoding), 0u);

  Response encoded = json_text_response(Status::ok, large_json());
  encoded.set(beast_http::field::content_encoding, "br");
  compress_answer(get_with("gzip"), encoded);
  EXPECT_EQ(encoded[beast_http::field::content_encoding], "br");
  EXPECT_EQ(encoded.body(), large_json());

  Response script = json_text_response(Status::ok, large_json());
  script.set(beast_http::field::content_type, "text/javascript; charset=utf-8");
  compress_answer(get_with("gzip"), script);
  EXPECT_EQ(script[beast_http::field::content_encoding], "gzip");
}

TEST(CompressAnswer, VaryKeepsWhatCorsPutThere) {
  Response response = json_text_response(Status::ok, large_json());
  response.set(beast_http::field::vary, "Origin");
  compress_answer(get_with("gzip"), response);
  EXPECT_EQ(response[beast_http::field::vary], "Origin, Accept-Encoding");
}

TEST(CompressAnswer, AStrongEtagBecomesWeak) {
  Response file = json_text_response(Status::ok, large_json());
  file.set(beast_http::field::etag, "\"abc\"");
  compress_answer(get_with("gzip"), file);
  EXPECT_EQ(file[beast_http::field::etag], "W/\"abc\"");

  Response plain = json_text_response(Status::ok, large_json());
  plain.set(beast_http::field::etag, "\"abc\"");
  compress_answer(get_with("identity"), plain);
  EXPECT_EQ(plain[beast_http::field::etag], "\"abc\"");

  // A 304 has no body to compress, but its tag must be the one the 200 gave.
  Response not_modified{Status::not_modified, 11};
  not_modified.set(beast_http::field::etag, "\"abc\"");
  compress_answer(get_with("gzip"), not_modified);
  EXPECT_EQ(not_modified[beast_http::field::etag], "W/\"abc\"");
  compress_answer(get_with("gzip"), not_modified);
  EXPECT_EQ(not_modified[beast_http::field::etag], "W/\"abc\"") << "weakened once";
}

TEST(CompressAnswer, APrecompressedBodyIsSentAsItIs) {
  const std::string made_once = *gzip(large_json());
  Response response = json_text_response(Status::ok, large_json());
  compress_answer(get_with("gzip"), response, &made_once);
  EXPECT_EQ(response[beast_http::field::content_encoding], "gzip");
  EXPECT_EQ(response.body(), made_once);
  EXPECT_EQ(inflated(response.body()), large_json());

  Response identity = json_text_response(Status::ok, large_json());
  compress_answer(get_with("identity"), identity, &made_once);
  EXPECT_EQ(identity.body(), large_json()) << "not accepted: the body as it was";
}

// The static routes compress with their copy made at start, then the server's writer runs
// compress_answer again on every answer: the second pass must change nothing.
TEST(CompressAnswer, ASecondPassChangesNothing) {
  for (const char* header : {"gzip", "identity"}) {
    Response once = json_text_response(Status::ok, large_json());
    once.set(beast_http::field::etag, "\"abc\"");
    compress_answer(get_with(header), once);
    Response twice = once;
    compress_answer(get_with(header), twice);
    EXPECT_EQ(twice[beast_http::field::vary], "Accept-Encoding") << header;
    EXPECT_EQ(twice[beast_http::field::etag], once[beast_http::field::etag]) << header;
    EXPECT_EQ(twice.body(), once.body()) << header;
  }
  Response with_origin = json_text_response(Status::ok, large_json());
  with_origin.set(beast_http::field::vary, "Origin, accept-encoding");
  compress_answer(get_with("gzip"), with_origin);
  EXPECT_EQ(with_origin[beast_http::field::vary], "Origin, accept-encoding");
}

TEST(Gzip, RoundTripsAnyBytes) {
  std::string bytes;
  for (int i = 0; i < 70'000; ++i) bytes.push_back(static_cast<char>((i * 7919) % 256));
  auto compressed = gzip(bytes);
  ASSERT_TRUE(compressed.has_value());
  EXPECT_EQ(inflated(*compressed), bytes);
  auto empty = gzip("");
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(inflated(*empty), "");
}

}  // namespace
