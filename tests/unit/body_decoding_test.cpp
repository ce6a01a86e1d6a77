// Compressed request bodies: Content-Encoding names, inflating within a limit and a memory
// budget, and every way a stream can be bad.
#include "http/body_decoding.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <random>
#include <string>

namespace {

using tracker::http::ContentCoding;
using tracker::http::inflate_body;
using tracker::http::InflateFailure;
using tracker::http::parse_content_encoding;

// 31: gzip, 15: zlib, -15: raw deflate.
std::string compress(std::string_view text, int window_bits, int level = Z_BEST_COMPRESSION) {
  z_stream stream{};
  EXPECT_EQ(deflateInit2(&stream, level, Z_DEFLATED, window_bits, 9, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&stream, text.size()) + 64, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  stream.avail_in = static_cast<uInt>(text.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}
std::string gzip(std::string_view text) { return compress(text, 31); }

const std::string kBatch = R"({"events": [{"eventType": "CLICK", "sessionId": "s-1", "metadata": {"componentId": 1002}}]})";

struct Inflated {
  std::optional<InflateFailure> failure;
  std::string body;
  std::size_t most_asked = 0;  // the largest buffer may_hold was asked about
};

Inflated inflate(std::string_view compressed, ContentCoding coding, std::size_t limit,
                 std::size_t budget = SIZE_MAX) {
  Inflated result;
  result.failure = inflate_body(compressed, coding, limit, result.body, [&](std::size_t bytes) {
    result.most_asked = std::max(result.most_asked, bytes);
    return bytes <= budget;
  });
  return result;
}

// Text that compresses only a little, so that streams are long.
std::string noise(std::size_t size) {
  std::mt19937 random(7);
  std::string text(size, ' ');
  for (char& c : text) c = static_cast<char>('a' + random() % 26);
  return text;
}

TEST(ContentEncoding, NamesTheCodingsClientsSend) {
  EXPECT_EQ(parse_content_encoding(""), ContentCoding::identity);
  EXPECT_EQ(parse_content_encoding("identity"), ContentCoding::identity);
  EXPECT_EQ(parse_content_encoding("gzip"), ContentCoding::gzip);
  EXPECT_EQ(parse_content_encoding("x-gzip"), ContentCoding::gzip);
  EXPECT_EQ(parse_content_encoding(" GZip "), ContentCoding::gzip);
  EXPECT_EQ(parse_content_encoding("deflate"), ContentCoding::deflate);
  EXPECT_EQ(parse_content_encoding("identity, gzip"), ContentCoding::gzip) << "identity adds nothing";
}

TEST(ContentEncoding, RefusesUnknownAndStackedCodings) {
  for (const char* header : {"br", "compress", "zstd", "gzip, deflate", "gzip,gzip", "gzip;q=1", "*"}) {
    SCOPED_TRACE(header);
    EXPECT_EQ(parse_content_encoding(header), std::nullopt);
  }
}

TEST(InflateBody, Gzip) {
  Inflated result = inflate(gzip(kBatch), ContentCoding::gzip, 1024);
  EXPECT_EQ(result.failure, std::nullopt);
  EXPECT_EQ(result.body, kBatch);
}

TEST(InflateBody, DeflateZlibWrappedAndRaw) {
  for (int window_bits : {15, -15, 9, -9}) {
    SCOPED_TRACE(window_bits);
    Inflated result = inflate(compress(kBatch, window_bits), ContentCoding::deflate, 1024);
    EXPECT_EQ(result.failure, std::nullopt);
    EXPECT_EQ(result.body, kBatch);
  }
}

TEST(InflateBody, LongBodiesAcrossManySteps) {
  std::string text = noise(300'000);
  for (auto [coding, bits] : {std::pair{ContentCoding::gzip, 31}, std::pair{ContentCoding::deflate, 15},
                              std::pair{ContentCoding::deflate, -15}}) {
    Inflated result = inflate(compress(text, bits, Z_BEST_SPEED), coding, 300'000);
    EXPECT_EQ(result.failure, std::nullopt);
    EXPECT_TRUE(result.body == text);
  }
}

TEST(InflateBody, TheLimitHoldsForTheInflatedSize) {
  std::string text = noise(5000);
  EXPECT_EQ(inflate(gzip(text), ContentCoding::gzip, 5000).failure, std::nullopt) << "exactly the limit";
  EXPECT_EQ(inflate(gzip(text), ContentCoding::gzip, 4999).failure, InflateFailure::too_large);
  EXPECT_EQ(inflate(gzip(text), ContentCoding::gzip, 0).failure, InflateFailure::too_large);
}

TEST(InflateBody, ABombStopsJustPastTheLimit) {
  // 20 MB of zeros in about 20 KB: never inflated whole.
  std::string zeros(20'000'000, '\0');
  std::string bomb = gzip(zeros);
  zeros.clear();
  zeros.shrink_to_fit();
  ASSERT_LT(bomb.size(), 50'000u);
  const std::size_t limit = 64 * 1024;
  Inflated result = inflate(bomb, ContentCoding::gzip, limit);
  EXPECT_EQ(result.failure, InflateFailure::too_large);
  EXPECT_LE(result.most_asked, 2 * (limit + 1)) << "the output buffer stayed near the limit";
  EXPECT_LE(result.body.capacity(), 2 * (limit + 1));
}

TEST(InflateBody, TheMemoryBudgetIsAskedBeforeTheBufferGrows) {
  std::string text = noise(200'000);
  Inflated refused = inflate(gzip(text), ContentCoding::gzip, 1'000'000, 100'000);
  EXPECT_EQ(refused.failure, InflateFailure::no_memory);
  EXPECT_LE(refused.body.capacity(), 100'000u);
  Inflated enough = inflate(gzip(text), ContentCoding::gzip, 1'000'000, 600'000);
  EXPECT_EQ(enough.failure, std::nullopt);
  EXPECT_LE(enough.body.capacity(), enough.most_asked) << "never more than it asked for";
}

TEST(InflateBody, TruncatedStreamsAreCorrupt) {
  std::string whole = gzip(noise(20'000));
  for (std::size_t keep : {std::size_t{0}, std::size_t{1}, std::size_t{10}, whole.size() / 2, whole.size() - 8,
                           whole.size() - 1}) {
    SCOPED_TRACE(keep);
    EXPECT_EQ(inflate(whole.substr(0, keep), ContentCoding::gzip, 1'000'000).failure, InflateFailure::corrupt);
  }
  std::string deflated = compress(kBatch, 15);
  EXPECT_EQ(inflate(deflated.substr(0, deflated.size() - 2), ContentCoding::deflate, 1024).failure,
            InflateFailure::corrupt)
      << "the zlib checksum cut short";
}

TEST(InflateBody, GarbageIsCorrupt) {
  for (std::string garbage : {std::string("{\"events\": []}"), std::string("\x1f\x8b garbage"), noise(1000),
                              std::string(100, '\xff')}) {
    EXPECT_EQ(inflate(garbage, ContentCoding::gzip, 1'000'000).failure, InflateFailure::corrupt);
  }
  EXPECT_EQ(inflate(std::string(100, '\xff'), ContentCoding::deflate, 1'000'000).failure, InflateFailure::corrupt);
}

TEST(InflateBody, ADamagedChecksumIsCorrupt) {
  std::string stream = gzip(kBatch);
  stream[stream.size() - 6] ^= 0x01;  // the CRC-32 of the trailer
  EXPECT_EQ(inflate(stream, ContentCoding::gzip, 1024).failure, InflateFailure::corrupt);
}

TEST(InflateBody, ConcatenatedGzipMembersAreOneBody) {
  std::string first = R"({"events": [)";
  std::string second = R"({"eventType": "CLICK"}]})";
  Inflated result = inflate(gzip(first) + gzip(second) + gzip(""), ContentCoding::gzip, 1024);
  EXPECT_EQ(result.failure, std::nullopt);
  EXPECT_EQ(result.body, first + second);
  EXPECT_EQ(inflate(gzip(first) + gzip(second), ContentCoding::gzip, first.size() + second.size() - 1).failure,
            InflateFailure::too_large)
      << "the limit holds over all members";
}

TEST(InflateBody, BytesAfterTheStreamAreCorrupt) {
  EXPECT_EQ(inflate(gzip(kBatch) + "x", ContentCoding::gzip, 1024).failure, InflateFailure::corrupt);
  EXPECT_EQ(inflate(gzip(kBatch) + std::string(8, '\0'), ContentCoding::gzip, 1024).failure,
            InflateFailure::corrupt);
  EXPECT_EQ(inflate(compress(kBatch, 15) + "x", ContentCoding::deflate, 1024).failure, InflateFailure::corrupt);
}

TEST(InflateBody, IdentityIsCopiedWithinTheLimit) {
  EXPECT_EQ(inflate(kBatch, ContentCoding::identity, 1024).body, kBatch);
  EXPECT_EQ(inflate(kBatch, ContentCoding::identity, 10).failure, InflateFailure::too_large);
}

}  // namespace
