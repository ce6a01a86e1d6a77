#include "domain/text.hpp"

#include <algorithm>
#include <cstdint>

namespace tracker::domain {

namespace {

// The code point at `at` and its length in bytes; length 0 where no well-formed sequence
// starts (overlong forms, surrogates and values past U+10FFFF are not well-formed).
struct Decoded {
  char32_t code_point;
  std::size_t length;
};
constexpr Decoded kInvalid{0xFFFD, 0};

Decoded decode(std::string_view text, std::size_t at) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[at + i]); };
  auto continuation = [&](std::size_t i) { return at + i < text.size() && (byte(i) & 0xC0) == 0x80; };
  unsigned char lead = byte(0);
  if (lead < 0x80) return {lead, 1};
  std::size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0;
  if (length == 0 || lead > 0xF4) return kInvalid;
  char32_t value = lead & (0x7F >> length);
  for (std::size_t i = 1; i < length; ++i) {
    if (!continuation(i)) return kInvalid;
    value = (value << 6) | (byte(i) & 0x3F);
  }
  static constexpr char32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (value < kSmallest[length] || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return kInvalid;
  return {value, length};
}

// Unicode's White_Space property.
bool is_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// The length of the white-space character that starts at `at`, or 0.
std::size_t space_at(std::string_view text, std::size_t at) {
  Decoded d = decode(text, at);
  return d.length > 0 && is_space(d.code_point) ? d.length : 0;
}

// The length of the white-space character that ends at `end`, or 0.
std::size_t space_before(std::string_view text, std::size_t end) {
  std::size_t start = end;
  while (start > 0 && end - start < 4) {
    --start;
    if ((static_cast<unsigned char>(text[start]) & 0xC0) != 0x80) break;
  }
  std::size_t length = space_at(text, start);
  return start + length == end ? length : 0;
}

}  // namespace

bool is_blank(std::string_view text) { return trim(text).empty(); }

bool has_white_space(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (space_at(text, i) > 0) return true;
  }
  return false;
}

std::string_view trim(std::string_view text) {
  while (std::size_t n = text.empty() ? 0 : space_at(text, 0)) text.remove_prefix(n);
  while (std::size_t n = text.empty() ? 0 : space_before(text, text.size())) text.remove_suffix(n);
  return text;
}

bool is_valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    Decoded d = decode(text, i);
    if (d.length == 0) return false;
    i += d.length;
  }
  return true;
}

std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  // A character is at most four bytes: past three continuation bytes the text is not
  // UTF-8, and any cut will do.
  std::size_t end = max_bytes;
  while (end > 0 && max_bytes - end < 3 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

bool has_control_characters(std::string_view text, std::string_view allowed) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && allowed.find(static_cast<char>(c)) == std::string_view::npos) || c == 0x7F) return true;
    if (c == 0xC2 && i + 1 < text.size()) {  // U+0080..U+009F are C2 80 .. C2 9F
      auto next = static_cast<unsigned char>(text[i + 1]);
      if (next >= 0x80 && next <= 0x9F) return true;
    }
  }
  return false;
}

std::variant<std::string, KeywordRejection> normalize_keyword(std::string_view text, std::size_t max_bytes) {
  text = trim(text);
  if (!text.empty() && text.front() == '#') text = trim(text.substr(1));
  if (text.empty()) return KeywordRejection{"must not be blank", true};
  if (has_control_characters(text)) return KeywordRejection{"must not contain control characters"};
  if (text.size() > max_bytes) return KeywordRejection{"is longer than " + std::to_string(max_bytes) + " bytes"};
  std::string normalized(text);
  for (char& c : normalized) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return normalized;
}

}  // namespace tracker::domain
