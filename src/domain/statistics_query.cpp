#include "domain/statistics_query.hpp"

#include "domain/text.hpp"
#include "domain/time_format.hpp"

#include <algorithm>
#include <charconv>

namespace tracker::domain {

namespace {

FieldError bad(const std::string& field, std::string message) {
  return {"INVALID_VALUE", std::move(message), field};
}

const std::string* find(const QueryParams& params, std::string_view name) {
  auto it = params.find(name);
  return it == params.end() ? nullptr : &it->second;
}

template <class T>
const FieldError* error_of(const std::variant<T, FieldError>& v) {
  return std::get_if<FieldError>(&v);
}

// eventType (required) and the optional filters.
std::variant<CounterFilter, FieldError> parse_filter(const QueryParams& params) {
  CounterFilter filter;
  const std::string* type = find(params, "eventType");
  if (!type || type->empty()) return FieldError{"MISSING_FIELD", "eventType is required", "eventType"};
  auto parsed = parse_event_type(*type);
  if (!parsed) {
    return bad("eventType",
               "eventType must be one of PAGE_VIEW, SEARCH, CLICK, LIKE, UNLIKE, SCROLL, COMMENT, SHARE");
  }
  filter.type = *parsed;
  auto component = positive_id(params, "componentId");
  if (auto* e = error_of(component)) return *e;
  filter.component_id = std::get<0>(component);
  auto post = positive_id(params, "postId");
  if (auto* e = error_of(post)) return *e;
  filter.post_id = std::get<0>(post);
  if (const std::string* keyword = find(params, "keyword")) {
    auto normalized = normalize_keyword(*keyword, ValidationLimits{}.max_text_length);
    if (auto* rejection = std::get_if<KeywordRejection>(&normalized)) {
      return bad("keyword", "keyword " + rejection->reason);
    }
    filter.keyword = std::move(std::get<std::string>(normalized));
  }
  return filter;
}

}  // namespace

std::variant<std::optional<std::int64_t>, FieldError> positive_id(const QueryParams& params,
                                                                   const std::string& name) {
  const std::string* text = find(params, name);
  if (!text) return std::optional<std::int64_t>{};
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (text->empty() || error != std::errc{} || end != text->data() + text->size() || value < 1) {
    return bad(name, name + " must be an integer >= 1");
  }
  return std::optional<std::int64_t>{value};
}

std::variant<std::optional<std::int64_t>, FieldError> time_param(const QueryParams& params,
                                                                  const std::string& name) {
  const std::string* text = find(params, name);
  if (!text) return std::optional<std::int64_t>{};
  auto ms = parse_rfc3339_ms(*text);
  if (!ms) return bad(name, name + " must be an RFC 3339 date-time, e.g. 2026-11-25T00:00:00Z");
  if (*ms < kEarliestMs || *ms > kLatestMs) {
    return bad(name, name + " must be between 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z");
  }
  return std::optional<std::int64_t>{*ms};
}

std::optional<FieldError> reject_unknown(const QueryParams& params, std::initializer_list<std::string_view> known) {
  for (const auto& [name, value] : params) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string shown(utf8_prefix(name, 64));
      return FieldError{"UNKNOWN_PARAMETER", "unknown query parameter '" + shown + "'", shown};
    }
  }
  return std::nullopt;
}

std::variant<CountQuery, FieldError> parse_count_query(const QueryParams& params) {
  if (auto error = reject_unknown(params, {"eventType", "componentId", "postId", "keyword", "from", "to"})) {
    return *error;
  }
  auto filter = parse_filter(params);
  if (auto* e = error_of(filter)) return *e;
  CountQuery query{std::get<CounterFilter>(filter), {}};
  if (!query.filter.component_id) {
    return FieldError{"MISSING_FIELD", "componentId is required", "componentId"};
  }
  if (requires_post_id(query.filter.type) && !query.filter.post_id) {
    return FieldError{"MISSING_FIELD", "postId is required for " + std::string(to_string(query.filter.type)),
                      "postId"};
  }
  if (requires_keyword(query.filter.type) && !query.filter.keyword) {
    return FieldError{"MISSING_FIELD", "keyword is required for SEARCH", "keyword"};
  }
  auto from = time_param(params, "from");
  if (auto* e = error_of(from)) return *e;
  auto to = time_param(params, "to");
  if (auto* e = error_of(to)) return *e;
  if (!std::get<0>(from) && !std::get<0>(to)) return query;
  std::int64_t from_ms = std::get<0>(from).value_or(kEarliestMs);
  std::int64_t to_ms = std::get<0>(to).value_or(kLatestMs + 1);
  if (from_ms >= to_ms) return bad("to", "to must be later than from (which defaults to 0000-01-01T00:00:00Z)");
  query.range = MinuteRange{bucket_start(from_ms, kMinuteMs), bucket_start(to_ms - 1, kMinuteMs) + kMinuteMs};
  return query;
}

std::int64_t interval_ms(Interval interval) {
  switch (interval) {
    case Interval::Minute: return kMinuteMs;
    case Interval::Hour: return kHourMs;
    case Interval::Day: return kDayMs;
  }
  return kMinuteMs;
}

std::string_view to_string(Interval interval) {
  switch (interval) {
    case Interval::Minute: return "minute";
    case Interval::Hour: return "hour";
    case Interval::Day: return "day";
  }
  return "minute";
}

std::variant<SeriesQuery, FieldError> parse_series_query(const QueryParams& params, std::int64_t now_ms) {
  if (auto error = reject_unknown(params, {"eventType", "componentId", "postId", "keyword", "from", "to", "interval", "format"})) {
    return *error;
  }
  auto filter = parse_filter(params);
  if (auto* e = error_of(filter)) return *e;
  SeriesQuery query;
  query.filter = std::get<CounterFilter>(filter);
  if (const std::string* interval = find(params, "interval")) {
    if (*interval == "minute") query.interval = Interval::Minute;
    else if (*interval == "hour") query.interval = Interval::Hour;
    else if (*interval == "day") query.interval = Interval::Day;
    else return bad("interval", "interval must be minute, hour or day");
  }
  if (const std::string* format = find(params, "format")) {
    if (*format == "buckets") query.format = SeriesFormat::Buckets;
    else if (*format == "columns") query.format = SeriesFormat::Columns;
    else return bad("format", "format must be buckets or columns");
  }
  auto from = time_param(params, "from");
  if (auto* e = error_of(from)) return *e;
  auto to = time_param(params, "to");
  if (auto* e = error_of(to)) return *e;
  std::int64_t width = interval_ms(query.interval);
  std::int64_t to_ms = std::get<0>(to).value_or(now_ms);
  std::int64_t from_ms = std::get<0>(from).value_or(std::max(to_ms - kDayMs, kEarliestMs));
  if (from_ms >= to_ms) return bad("to", "to must be later than from");
  query.from_ms = bucket_start(from_ms, width);
  query.to_ms = bucket_start(to_ms - 1, width) + width;
  if (query.to_ms > kLatestMs) {
    return bad("to", "to is too late: the series would end after 9999-12-31T23:59:59.999Z");
  }
  if ((query.to_ms - query.from_ms) / width > static_cast<std::int64_t>(kMaxSeriesBuckets)) {
    return bad("from", "a series holds at most " + std::to_string(kMaxSeriesBuckets) + " buckets");
  }
  return query;
}

std::variant<Window, FieldError> parse_window(const QueryParams& params) {
  const std::string* window = find(params, "window");
  if (!window || *window == "1h") return Window::Hour;
  if (*window == "24h" || *window == "1d") return Window::Day;
  if (*window == "7d") return Window::Week;
  return bad("window", "window must be 1h, 24h or 7d");
}

std::string_view to_string(Window window) {
  switch (window) {
    case Window::Hour: return "1h";
    case Window::Day: return "24h";
    case Window::Week: return "7d";
  }
  return "1h";
}

std::vector<std::int64_t> window_hours(Window window, std::int64_t now_ms) {
  int hours = window == Window::Hour ? 1 : window == Window::Day ? 24 : 168;
  std::int64_t current = bucket_start(now_ms, kHourMs);
  std::vector<std::int64_t> starts;
  // The current, partial hour and the `hours` whole hours before it.
  for (int i = 0; i <= hours; ++i) starts.push_back(current - i * kHourMs);
  return starts;
}

std::variant<std::size_t, FieldError> parse_limit(const QueryParams& params, std::size_t fallback,
                                                  std::size_t max) {
  auto limit = positive_id(params, "limit");
  if (auto* e = error_of(limit)) return *e;
  std::size_t value = static_cast<std::size_t>(std::get<0>(limit).value_or(static_cast<std::int64_t>(fallback)));
  if (value > max) return bad("limit", "limit must be at most " + std::to_string(max));
  return value;
}

QueryShape shape_of(const CounterFilter& filter) {
  return {std::string(to_string(filter.type)), filter.component_id.value_or(0), filter.post_id.value_or(0),
          filter.keyword.value_or("")};
}

}  // namespace tracker::domain
