#pragma once
#include <cstddef>
#include <string_view>

namespace tracker::domain {

// The longest start of `text` of at most `max_bytes` bytes that ends between two UTF-8
// characters, for quoting a client's text in an error: a cut inside a character would
// make the answer's JSON invalid.
inline std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  std::size_t end = max_bytes;
  // Step back over at most three continuation bytes (10xxxxxx) to a character's start.
  for (int i = 0; i < 3 && end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80; ++i) --end;
  return text.substr(0, end);
}

}  // namespace tracker::domain
