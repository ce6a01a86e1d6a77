#pragma once
// What the harnesses share: a property check that libFuzzer reports as a crash, with
// the failed condition in the report.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#define FUZZ_CHECK(condition)                                                                \
  do {                                                                                       \
    if (!(condition)) {                                                                      \
      std::fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (false)

namespace tracker::fuzz {

// A fixed receive time (2026-11-25T12:00:00Z), so that a crash replays the same way.
inline constexpr long long kNowMs = 1795608000000LL;

// Whether `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates,
// nothing past U+10FFFF).
inline bool valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    std::size_t length = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (length == 0 || i + length > text.size()) return false;
    std::uint32_t code = length == 1 ? c : c & (0x7F >> length);
    for (std::size_t k = 1; k < length; ++k) {
      auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    constexpr std::uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kSmallest[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += length;
  }
  return true;
}

// A hashtag or keyword as normalize_hashtag() leaves it: 1..50 characters, no white
// space or control characters, no ASCII capitals. (Not a fixed point of it: only one
// leading '#' goes, so "##Cats" becomes "#cats", and that again "cats".)
inline bool normal_form(std::string_view tag) {
  std::size_t characters = 0;
  for (unsigned char c : tag) {
    if (c < 0x21 || c == 0x7F || (c >= 'A' && c <= 'Z')) return false;
    if ((c & 0xC0) != 0x80) ++characters;
  }
  return characters >= 1 && characters <= 50;
}

inline std::string_view as_text(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace tracker::fuzz
