#pragma once
#include "domain/event.hpp"
#include "domain/event_validation.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>

namespace tracker::domain {

using QueryParams = std::map<std::string, std::string, std::less<>>;

// What to count: an event type and optional component, post and keyword (absent = any).
struct CounterFilter {
  EventType type{};
  std::optional<std::int64_t> component_id;
  std::optional<std::int64_t> post_id;
  std::optional<std::string> keyword;
};

// GET /api/statistics: the contract's rules (componentId required, postId for LIKE and
// UNLIKE, keyword for SEARCH), plus optional from/to (RFC 3339) narrowing it to a range.
struct CountQuery {
  CounterFilter filter;
  std::optional<std::int64_t> from_ms, to_ms;
};
std::variant<CountQuery, FieldError> parse_count_query(const QueryParams& params);

enum class Interval { Minute, Hour, Day };
std::int64_t interval_ms(Interval interval);
std::string_view to_string(Interval interval);

// GET /api/statistics/series: eventType required, other filters optional; from/to default
// to the last 24 hours; buckets aligned to the interval (UTC).
struct SeriesQuery {
  CounterFilter filter;
  Interval interval = Interval::Minute;
  std::int64_t from_ms = 0, to_ms = 0;  // aligned; to is exclusive
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
// An optional RFC 3339 date-time parameter, in Unix milliseconds; nullopt when absent.
std::variant<std::optional<std::int64_t>, FieldError> time_param(const QueryParams& params, const std::string& name);
std::variant<std::size_t, FieldError> parse_limit(const QueryParams& params, std::size_t fallback, std::size_t max);

}  // namespace tracker::domain
