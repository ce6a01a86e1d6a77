#pragma once
// What the harnesses share: a property check that libFuzzer reports as a crash, with
// the failed condition in the report.
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

inline std::string_view as_text(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace tracker::fuzz
