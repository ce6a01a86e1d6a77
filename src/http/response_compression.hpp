#pragma once
#include "http/message.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace tracker::http {

// Answers below this many bytes go out as they are: a gzip header and trailer cost 18
// bytes, and compressing a few hundred bytes costs more time than it saves on the wire.
inline constexpr std::size_t kGzipMinBytes = 1024;

// Whether an Accept-Encoding header (RFC 9110 section 12.5.3) lets the answer be gzip:
// gzip, x-gzip or * with a q-value above 0, unless gzip itself is refused with q=0.
// An absent or empty header accepts no coding but identity.
bool accepts_gzip(std::string_view accept_encoding);

// `body` as one gzip member (RFC 1952); none if zlib fails (out of memory).
std::optional<std::string> gzip(std::string_view body);

// Compresses the answer to `request` in place when it may and it pays: the body is at least
// kGzipMinBytes of a textual type, not already encoded, and the request accepts gzip. Every
// answer that large says Vary: Accept-Encoding, compressed or not, since its form
// depended on that header. For a client that accepts gzip, a strong ETag becomes weak
// (on 304s and small answers too, so that the tags agree). `gzipped`, when given, is the
// body already compressed (a static file's, made once at start), sent instead of
// compressing it again. Applying it twice changes nothing more.
void compress_answer(const Request& request, Response& response, const std::string* gzipped = nullptr);

}  // namespace tracker::http
