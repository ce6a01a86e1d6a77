#pragma once
#include <boost/json/fwd.hpp>

#include <cstdint>
#include <optional>
#include <variant>

namespace tracker::domain {

// Client clocks are often wrong by minutes or years. A client that says when it sent a
// request (`sentAt`, on its own clock) lets the server move the event times it reports
// onto the server's clock, as Segment and PostHog do: the server adds
// (receive time - sentAt) to each timestamp. The network delay is counted as skew; it is
// small next to the wrong clocks this is for.

// Why a client time could not be read.
enum class ClientTimeError { wrong_type, unreadable, out_of_range };

// A client time: an RFC 3339 string or an integer of Unix milliseconds, in the years 1 to
// 9999 (what PostgreSQL's timestamptz prints).
std::variant<std::int64_t, ClientTimeError> read_client_time(const boost::json::value& value);

inline constexpr std::int64_t kEarliestClientTimeMs = -62135596800000LL;  // 0001-01-01T00:00:00Z
inline constexpr std::int64_t kLatestClientTimeMs = 253402300799999LL;    // 9999-12-31T23:59:59.999Z

// How far the server's clock is ahead of the client's (negative: behind).
struct ClockSkew {
  std::int64_t offset_ms = 0;
};

// The skew of a client that sent at `sent_at_ms` (its clock) a request received at
// `received_ms` (the server's clock). Both are client times as read_client_time gives them.
ClockSkew skew_of(std::int64_t received_ms, std::int64_t sent_at_ms);

// `client_ms` on the server's clock; none when that falls outside the years 1 to 9999.
std::optional<std::int64_t> on_server_clock(std::int64_t client_ms, ClockSkew skew);

}  // namespace tracker::domain
