#include "http/series_answer.hpp"

#include "domain/time_format.hpp"

#include <algorithm>
#include <charconv>

namespace tracker::http {

namespace {

void append_number(std::string& out, std::int64_t value) {
  char digits[24];
  auto [end, error] = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, end);
}

// The members both formats share: {"eventType", "interval", "from", "to", "total".
void append_series_head(std::string& out, const domain::SeriesQuery& query, const std::vector<app::SeriesPoint>& points) {
  std::int64_t total = 0;
  for (const auto& point : points) total += point.count;
  out += R"({"eventType":")";
  out += domain::to_string(query.filter.type);
  out += R"(","interval":")";
  out += domain::to_string(query.interval);
  out += R"(","from":")";
  domain::append_rfc3339_ms(out, query.from_ms);
  out += R"(","to":")";
  domain::append_rfc3339_ms(out, query.to_ms);
  out += R"(","total":)";
  append_number(out, total);
}

}  // namespace

// {"eventType", "interval", "from", "to", "total", "buckets": [{"start", "count"}, ...]},
// written directly into a buffer sized for the worst case: a day of minutes is 1,441
// buckets, and building them as JSON values (an object and two strings each) cost more
// than the rest of the request; appending piece by piece to a string still cost a third
// of the server's time under load. Every string here is an enum name or a timestamp, so
// nothing needs escaping.
std::string series_json(const domain::SeriesQuery& query, const std::vector<app::SeriesPoint>& points) {
  constexpr std::string_view kFirst = R"({"start":")", kNext = R"(,{"start":")", kCount = R"(","count":)";
  constexpr std::size_t kMaxBucket = kNext.size() + domain::TimestampWriter::kMaxLength + kCount.size() + 20 + 1;
  std::string out;
  out.reserve(200 + points.size() * kMaxBucket);
  append_series_head(out, query, points);
  out += R"(,"buckets":[)";
  std::size_t written = out.size();
  out.resize(written + points.size() * kMaxBucket);
  char* at = out.data() + written;
  auto put = [&at](std::string_view text) { at = std::copy(text.begin(), text.end(), at); };
  domain::TimestampWriter timestamps;
  for (std::size_t i = 0; i < points.size(); ++i) {
    put(i ? kNext : kFirst);
    at = timestamps.write(at, points[i].start_ms);
    put(kCount);
    at = std::to_chars(at, at + 20, points[i].count).ptr;
    *at++ = '}';
  }
  out.resize(static_cast<std::size_t>(at - out.data()));
  out += "]}";
  return out;
}

// format=columns: the same head, then "start" (the first bucket's start, epoch ms), "step"
// (ms between bucket starts) and "counts", one number per bucket of the range in order.
// The buckets are contiguous (every one is present, empty ones as 0), so start + i * step
// is the start of counts[i].
std::string series_columns_json(const domain::SeriesQuery& query, const std::vector<app::SeriesPoint>& points) {
  std::string out;
  out.reserve(260 + points.size() * 21);
  append_series_head(out, query, points);
  out += R"(,"start":)";
  append_number(out, query.from_ms);
  out += R"(,"step":)";
  append_number(out, domain::interval_ms(query.interval));
  out += R"(,"counts":[)";
  std::size_t written = out.size();
  out.resize(written + points.size() * 21);
  char* at = out.data() + written;
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (i) *at++ = ',';
    at = std::to_chars(at, at + 20, points[i].count).ptr;
  }
  out.resize(static_cast<std::size_t>(at - out.data()));
  out += "]}";
  return out;
}

std::string series_answer(const domain::SeriesQuery& query, const std::vector<app::SeriesPoint>& points) {
  return query.format == domain::SeriesFormat::Columns ? series_columns_json(query, points) : series_json(query, points);
}

}  // namespace tracker::http
