#pragma once
#include "domain/event.hpp"
#include "domain/event_validation.hpp"
#include "domain/query_shape.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>

namespace tracker::domain {

using QueryParams = std::map<std::string, std::string, std::less<>>;

// What to count: an event type and optional component, post and keyword (absent = any;
// a keyword is normalised: normalize_keyword).
struct CounterFilter {
  EventType type{};
  std::optional<std::int64_t> component_id;
  std::optional<std::int64_t> post_id;
  std::optional<std::string> keyword;
};

// The times a query may name: years 0000 to 9999, so that every time an answer prints
// (a range's ends aligned to whole buckets included) is RFC 3339.
inline constexpr std::int64_t kEarliestMs = -62'167'219'200'000;  // 0000-01-01T00:00:00Z
inline constexpr std::int64_t kLatestMs = 253'402'300'799'999;    // 9999-12-31T23:59:59.999Z

// [from_ms, to_ms): whole minutes, never empty.
struct MinuteRange {
  std::int64_t from_ms = 0, to_ms = 0;
};

// GET /api/statistics: the contract's rules (componentId required, postId for LIKE and
// UNLIKE, keyword for SEARCH), plus optional from/to (RFC 3339) narrowing it to a range,
// widened to whole minutes. A missing end is the earliest or latest time there is.
struct CountQuery {
  CounterFilter filter;
  std::optional<MinuteRange> range;  // absent: all time
};
std::variant<CountQuery, FieldError> parse_count_query(const QueryParams& params);

enum class Interval { Minute, Hour, Day };
std::int64_t interval_ms(Interval interval);
std::string_view to_string(Interval interval);

// How a series is written: `buckets`, an object per bucket ({"start", "count"}), or
// `columns`, one array of counts with the first bucket's start and the step between them
// (a day of minutes is a tenth of the bytes or less, and nothing per bucket to format or parse).
enum class SeriesFormat { Buckets, Columns };

// GET /api/statistics/series: eventType required, other filters optional; from/to default
// to the last 24 hours; buckets aligned to the interval (UTC), at most kMaxSeriesBuckets,
// from_ms >= kEarliestMs and to_ms <= kLatestMs; format buckets (default) or columns.
struct SeriesQuery {
  CounterFilter filter;
  Interval interval = Interval::Minute;
  std::int64_t from_ms = 0, to_ms = 0;  // aligned; to is exclusive
  SeriesFormat format = SeriesFormat::Buckets;
};
inline constexpr std::size_t kMaxSeriesBuckets = 10'000;
std::variant<SeriesQuery, FieldError> parse_series_query(const QueryParams& params, std::int64_t now_ms);

// Windows of the rankings: whole UTC hours, the current one included.
enum class Window { Hour, Day, Week };
std::variant<Window, FieldError> parse_window(const QueryParams& params);
std::string_view to_string(Window window);
std::vector<std::int64_t> window_hours(Window window, std::int64_t now_ms);

// Accepts only the listed parameter names; anything else is an UNKNOWN_PARAMETER error.
std::optional<FieldError> reject_unknown(const QueryParams& params, std::initializer_list<std::string_view> known);
// An optional integer parameter that must be >= 1; nullopt when absent.
std::variant<std::optional<std::int64_t>, FieldError> positive_id(const QueryParams& params, const std::string& name);
// An optional RFC 3339 date-time parameter, in Unix milliseconds, within the years
// 0000-9999; nullopt when absent.
std::variant<std::optional<std::int64_t>, FieldError> time_param(const QueryParams& params, const std::string& name);
std::variant<std::size_t, FieldError> parse_limit(const QueryParams& params, std::size_t fallback, std::size_t max);

// The counter a filter reads.
QueryShape shape_of(const CounterFilter& filter);

}  // namespace tracker::domain
