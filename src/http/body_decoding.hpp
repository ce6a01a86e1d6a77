#pragma once
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace tracker::http {

// Request bodies compressed by the client (Content-Encoding), as analytics clients send
// batches: gzip (also x-gzip) and deflate (zlib-wrapped as RFC 9110 says, or raw as some
// clients send it). identity is no coding.
enum class ContentCoding { identity, gzip, deflate };

// The coding a Content-Encoding header names; none when it names one this server does not
// know or more than one (identity entries aside). An absent header is identity.
std::optional<ContentCoding> parse_content_encoding(std::string_view header);

enum class InflateFailure {
  too_large,  // the inflated body passed the limit
  corrupt,    // not a valid stream of its coding, or cut short
  no_memory,  // `may_hold` refused more memory
};

// Inflates `compressed` into `out`, step by step: it stops as soon as the output passes
// `limit` bytes (a small bomb is never inflated whole) and asks `may_hold(bytes)` before
// the output buffer grows to `bytes`, so that a memory budget can refuse. gzip may hold
// several members one after another (RFC 1952); anything after the last one is corrupt.
std::optional<InflateFailure> inflate_body(std::string_view compressed, ContentCoding coding, std::size_t limit,
                                           std::string& out,
                                           const std::function<bool(std::size_t bytes)>& may_hold);

}  // namespace tracker::http
