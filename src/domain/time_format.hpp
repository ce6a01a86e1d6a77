#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tracker::domain {

// RFC 3339 date-time ("2026-11-25T21:46:00.123+09:00", "...Z"), to Unix milliseconds.
std::optional<std::int64_t> parse_rfc3339_ms(std::string_view text);
// UTC, millisecond precision: "2026-11-25T21:46:00.123Z".
std::string format_rfc3339_ms(std::int64_t unix_ms);
void append_rfc3339_ms(std::string& out, std::int64_t unix_ms);

// The length of format_rfc3339_ms() for the years 0 to 9999: "YYYY-MM-DDTHH:MM:SS.mmmZ".
inline constexpr std::size_t kTimestampLength = 24;

// Writes many format_rfc3339_ms() texts quickly, for times close together (a series).
class TimestampWriter {
 public:
  // The most a text takes (years past 9999 or before 0 are longer than the usual 24).
  static constexpr std::size_t kMaxLength = 40;

  void append(std::string& out, std::int64_t unix_ms);
  // Writes the text at `at`, which has room for kMaxLength characters; returns its end.
  char* write(char* at, std::int64_t unix_ms);

 private:
  std::int64_t day_start_ = 0;
  int year_ = -1;  // none yet (years before 0 are written the slow way anyway)
  unsigned month_ = 0, day_ = 0;
  char date_[11] = {};  // "YYYY-MM-DDT"
};

inline constexpr std::int64_t kMinuteMs = 60'000;
inline constexpr std::int64_t kHourMs = 3'600'000;
inline constexpr std::int64_t kDayMs = 86'400'000;

// Floor division, so times before 1970 land in the right bucket too.
inline std::int64_t bucket_start(std::int64_t unix_ms, std::int64_t width_ms) {
  std::int64_t q = unix_ms / width_ms;
  if (unix_ms % width_ms < 0) --q;
  return q * width_ms;
}

}  // namespace tracker::domain
