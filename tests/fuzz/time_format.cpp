// RFC 3339 parsing (timestamps of events, from/to of statistics): any text either does
// not parse or gives an instant that prints as RFC 3339 and parses back to itself.
#include "domain/time_format.hpp"
#include "fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace {

using namespace tracker::domain;

// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z: the instants with a four-digit
// year in UTC. A local time near either end with an offset lands outside (year -1 or
// 10000), and those do not print as RFC 3339 (issue 13, item 9); they are left out of
// the round trip until that is settled.
constexpr std::int64_t kFirstMs = -62167219200000LL;
constexpr std::int64_t kLastMs = 253402300799999LL;

void check_round_trip(std::int64_t ms) {
  std::string text = format_rfc3339_ms(ms);
  FUZZ_CHECK(text.size() == 24 && text.back() == 'Z');
  FUZZ_CHECK(parse_rfc3339_ms(text) == ms);

  // The fast writer of series agrees with the plain one, also across a day's end.
  TimestampWriter writer;
  char buffer[TimestampWriter::kMaxLength];
  for (std::int64_t step : {std::int64_t{0}, std::int64_t{1}, kMinuteMs, kDayMs - 1}) {
    std::int64_t at = ms + step;
    if (at > kLastMs) break;
    FUZZ_CHECK(std::string(buffer, writer.write(buffer, at)) == format_rfc3339_ms(at));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto text = tracker::fuzz::as_text(data, size);
  auto ms = parse_rfc3339_ms(text);
  if (!ms) return 0;
  // RFC 3339's shortest form: "YYYY-MM-DDTHH:MM:SSZ".
  FUZZ_CHECK(size >= 20);
  if (*ms < kFirstMs || *ms > kLastMs) return 0;
  check_round_trip(*ms);
  for (std::int64_t width : {kMinuteMs, kHourMs, kDayMs}) {
    std::int64_t start = bucket_start(*ms, width);
    FUZZ_CHECK(start <= *ms && *ms - start < width && start % width == 0);
  }
  return 0;
}
