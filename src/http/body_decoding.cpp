#include "http/body_decoding.hpp"

#include <zlib.h>

#include <algorithm>
#include <cctype>

namespace tracker::http {

namespace {

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// A zlib stream begins with a header whose first byte says "deflate, window <= 32K" and
// whose first two bytes, as a big-endian number, are a multiple of 31 (RFC 1950).
bool has_zlib_header(std::string_view data) {
  if (data.size() < 2) return false;
  auto cmf = static_cast<unsigned char>(data[0]);
  auto flg = static_cast<unsigned char>(data[1]);
  return (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && ((cmf << 8) | flg) % 31 == 0;
}

bool has_gzip_magic(std::string_view data) {
  return data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f && static_cast<unsigned char>(data[1]) == 0x8b;
}

class Inflater {
 public:
  explicit Inflater(int window_bits) { ok_ = inflateInit2(&stream_, window_bits) == Z_OK; }
  ~Inflater() {
    if (ok_) inflateEnd(&stream_);
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  bool ok() const { return ok_; }
  z_stream& stream() { return stream_; }

 private:
  z_stream stream_{};
  bool ok_ = false;
};

constexpr std::size_t kFirstStep = 16 * 1024;

}  // namespace

std::optional<ContentCoding> parse_content_encoding(std::string_view header) {
  std::optional<ContentCoding> coding = ContentCoding::identity;
  bool named = false;
  while (true) {
    std::size_t comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!item.empty() && !equals_ignoring_case(item, "identity")) {
      if (named) return std::nullopt;  // stacked codings: no client sends them
      named = true;
      if (equals_ignoring_case(item, "gzip") || equals_ignoring_case(item, "x-gzip")) {
        coding = ContentCoding::gzip;
      } else if (equals_ignoring_case(item, "deflate")) {
        coding = ContentCoding::deflate;
      } else {
        return std::nullopt;
      }
    }
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return coding;
}

std::optional<InflateFailure> inflate_body(std::string_view compressed, ContentCoding coding, std::size_t limit,
                                           std::string& out,
                                           const std::function<bool(std::size_t bytes)>& may_hold) {
  out.clear();
  if (coding == ContentCoding::identity) {
    if (compressed.size() > limit) return InflateFailure::too_large;
    if (!may_hold(compressed.size())) return InflateFailure::no_memory;
    out.assign(compressed);
    return std::nullopt;
  }
  // 16 + 15: gzip with the largest window; 15: zlib; -15: raw deflate.
  int window_bits = coding == ContentCoding::gzip ? 16 + MAX_WBITS : has_zlib_header(compressed) ? MAX_WBITS : -MAX_WBITS;
  Inflater inflater(window_bits);
  if (!inflater.ok()) return InflateFailure::no_memory;
  z_stream& stream = inflater.stream();
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  std::size_t input_left = compressed.size();
  std::size_t produced = 0;
  // One byte past the limit tells "too large" from "exactly the limit".
  const std::size_t cap = limit + 1;
  bool ended = false;
  while (true) {
    if (produced == out.size()) {
      if (out.size() >= cap) return InflateFailure::too_large;
      // Doubling, capped at the limit; allocated exactly (std::string would round a step
      // up to twice its capacity), so may_hold hears of all the output buffer takes.
      std::size_t next = std::min(std::max(2 * out.size(), kFirstStep), cap);
      if (!may_hold(next)) return InflateFailure::no_memory;
      std::string larger;
      larger.reserve(next);
      larger.append(out.data(), produced);
      larger.resize(next);
      out.swap(larger);
    }
    // zlib counts in uInt: feed and take at most 1 GiB per call.
    constexpr std::size_t kMaxStep = std::size_t{1} << 30;
    uInt in_step = static_cast<uInt>(std::min(input_left, kMaxStep));
    uInt out_step = static_cast<uInt>(std::min(out.size() - produced, kMaxStep));
    stream.avail_in = in_step;
    stream.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    stream.avail_out = out_step;
    int status = inflate(&stream, Z_NO_FLUSH);
    input_left -= in_step - stream.avail_in;
    produced += out_step - stream.avail_out;
    if (status == Z_STREAM_END) {
      // Another gzip member may follow (what `cat a.gz b.gz` makes).
      std::string_view rest(reinterpret_cast<const char*>(stream.next_in), input_left);
      if (coding == ContentCoding::gzip && has_gzip_magic(rest)) {
        if (inflateReset(&stream) != Z_OK) return InflateFailure::corrupt;
        continue;
      }
      ended = rest.empty();
      break;
    }
    if (status == Z_BUF_ERROR) {
      // No progress possible: out of input before the end (truncated), or out of room
      // (grown above on the next round).
      if (stream.avail_out != 0) break;
      continue;
    }
    if (status != Z_OK) break;  // Z_DATA_ERROR, Z_NEED_DICT, Z_MEM_ERROR
    if (input_left == 0 && stream.avail_out != 0) break;  // all input taken, no end: truncated
  }
  if (produced > limit) return InflateFailure::too_large;
  if (!ended) return InflateFailure::corrupt;
  out.resize(produced);
  return std::nullopt;
}

}  // namespace tracker::http
