#include "domain/clock_skew.hpp"

#include "domain/time_format.hpp"

#include <boost/json/value.hpp>

#include <limits>

namespace tracker::domain {

std::variant<std::int64_t, ClientTimeError> read_client_time(const boost::json::value& value) {
  std::int64_t ms = 0;
  if (value.is_string()) {
    auto parsed = parse_rfc3339_ms(value.get_string());
    if (!parsed) return ClientTimeError::unreadable;
    ms = *parsed;
  } else if (value.is_int64()) {
    ms = value.get_int64();
  } else if (value.is_uint64()) {
    // Past int64 is past year 9999 too.
    if (value.get_uint64() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return ClientTimeError::out_of_range;
    }
    ms = static_cast<std::int64_t>(value.get_uint64());
  } else {
    return ClientTimeError::wrong_type;
  }
  if (ms < kEarliestClientTimeMs || ms > kLatestClientTimeMs) return ClientTimeError::out_of_range;
  return ms;
}

// Both times lie within years 1..9999 (about +-3.2e14 ms), so neither the difference nor
// a sum with another such time comes near the int64 limits.
ClockSkew skew_of(std::int64_t received_ms, std::int64_t sent_at_ms) { return {received_ms - sent_at_ms}; }

std::optional<std::int64_t> on_server_clock(std::int64_t client_ms, ClockSkew skew) {
  if (client_ms < kEarliestClientTimeMs || client_ms > kLatestClientTimeMs) return std::nullopt;
  if (skew.offset_ms < 2 * kEarliestClientTimeMs || skew.offset_ms > 2 * kLatestClientTimeMs) return std::nullopt;
  std::int64_t corrected = client_ms + skew.offset_ms;
  if (corrected < kEarliestClientTimeMs || corrected > kLatestClientTimeMs) return std::nullopt;
  return corrected;
}

}  // namespace tracker::domain
