// Compressed request bodies: any bytes under any coding inflate within the limit or fail
// cleanly, the memory asked for stays near the limit, and what zlib compresses comes back
// whole. The first byte picks the case; the rest is the input.
#include "fuzz_check.hpp"
#include "http/body_decoding.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

namespace {

using tracker::http::ContentCoding;
using tracker::http::inflate_body;

std::string compress(std::string_view text, int window_bits) {
  z_stream stream{};
  FUZZ_CHECK(deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&stream, text.size()) + 32, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  stream.avail_in = static_cast<uInt>(text.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  FUZZ_CHECK(deflate(&stream, Z_FINISH) == Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  std::string_view input = tracker::fuzz::as_text(data + 1, size - 1);
  const ContentCoding coding = (selector & 1) ? ContentCoding::gzip : ContentCoding::deflate;
  const std::size_t limit = (selector & 2) ? 64 * 1024 : 100;

  std::size_t most_asked = 0;
  auto may_hold = [&](std::size_t bytes) {
    most_asked = std::max(most_asked, bytes);
    return true;
  };
  std::string out;
  if (selector & 4) {
    // What zlib compresses inflates to itself, or past the limit.
    int window_bits = coding == ContentCoding::gzip ? 31 : (selector & 8) ? -15 : 15;
    std::string compressed = compress(input, window_bits);
    auto failure = inflate_body(compressed, coding, limit, out, may_hold);
    if (input.size() <= limit) {
      // Raw deflate is told from zlib by its first two bytes; a raw stream that happens to
      // look like a zlib header may be misread (then it is corrupt, never wrong).
      if (window_bits != -15) FUZZ_CHECK(!failure && out == input);
      else FUZZ_CHECK(failure ? *failure == tracker::http::InflateFailure::corrupt : out == input);
    } else {
      FUZZ_CHECK(failure.has_value());
    }
  } else {
    auto failure = inflate_body(input, coding, limit, out, may_hold);
    if (!failure) FUZZ_CHECK(out.size() <= limit);
  }
  FUZZ_CHECK(most_asked <= 2 * (limit + 1) + 64);
  return 0;
}
