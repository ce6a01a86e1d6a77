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

// The text before each count, `,{"start":"<time>","count":`, for `count` buckets from
// `first` every `step` ms, one after another in one string (every time text has the same
// length for years 0 to 9999). Rendering 1,441 timestamps was the largest part of a day of
// minutes, and the requests of one thread ask for the same buckets until the range moves
// on by a minute, so each thread keeps the last heads it rendered.
class BucketHeads {
 public:
  static constexpr std::string_view kPrefix = R"(,{"start":")", kSuffix = R"(","count":)";
  static constexpr std::size_t kStride = kPrefix.size() + domain::kTimestampLength + kSuffix.size();

  // The heads, kStride bytes each; empty when the times do not all have the usual length.
  std::string_view heads(std::int64_t first, std::int64_t step, std::size_t count) {
    if (first != first_ || step != step_ || count > count_) render(first, step, count);
    return std::string_view(text_).substr(0, count * kStride);
  }

 private:
  void render(std::int64_t first, std::int64_t step, std::size_t count) {
    first_ = first, step_ = step, count_ = count;
    // Room for one longer text: a year past 9999 is found only once written.
    text_.assign(count * kStride + domain::TimestampWriter::kMaxLength, '\0');
    domain::TimestampWriter timestamps;
    char* at = text_.data();
    for (std::size_t i = 0; i < count; ++i) {
      at = std::copy(kPrefix.begin(), kPrefix.end(), at);
      char* time = at;
      at = timestamps.write(at, first + static_cast<std::int64_t>(i) * step);
      if (static_cast<std::size_t>(at - time) != domain::kTimestampLength) {
        text_.clear();
        return;
      }
      at = std::copy(kSuffix.begin(), kSuffix.end(), at);
    }
    text_.resize(count * kStride);
  }

  std::int64_t first_ = 0, step_ = 0;
  std::size_t count_ = 0;
  std::string text_;
};

// Whether the points are the contiguous buckets the series reads give: point i starts
// at points[0].start_ms + i * step.
bool contiguous(const std::vector<app::SeriesPoint>& points, std::int64_t step) {
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (points[i].start_ms != points.front().start_ms + static_cast<std::int64_t>(i) * step) return false;
  }
  return true;
}

std::size_t decimal_length(std::int64_t value) {
  char digits[24];
  return static_cast<std::size_t>(std::to_chars(digits, digits + sizeof digits, value).ptr - digits);
}

}  // namespace

// {"eventType", "interval", "from", "to", "total", "buckets": [{"start", "count"}, ...]},
// written directly into a buffer of the answer's exact size: a day of minutes is 1,441
// buckets, and building them as JSON values (an object and two strings each) cost more
// than the rest of the request, appending piece by piece to a string still a third of the
// server's time under load, and zeroing a buffer sized for the worst case a tenth. Every
// string here is an enum name or a timestamp, so nothing needs escaping.
std::string series_json(const domain::SeriesQuery& query, const std::vector<app::SeriesPoint>& points) {
  thread_local BucketHeads cached_heads;
  const std::int64_t step = domain::interval_ms(query.interval);
  std::string_view heads;
  if (!points.empty() && contiguous(points, step)) heads = cached_heads.heads(points.front().start_ms, step, points.size());

  std::string out;
  append_series_head(out, query, points);
  out += R"(,"buckets":[)";
  if (heads.empty() && !points.empty()) {  // times past year 9999 or a caller's own points: the slow way
    domain::TimestampWriter timestamps;
    for (std::size_t i = 0; i < points.size(); ++i) {
      out += i ? BucketHeads::kPrefix : BucketHeads::kPrefix.substr(1);
      timestamps.append(out, points[i].start_ms);
      out += BucketHeads::kSuffix;
      append_number(out, points[i].count);
      out += '}';
    }
    out += "]}";
    return out;
  }
  std::size_t size = out.size() + heads.size() - (points.empty() ? 0 : 1) + points.size() + 2;
  for (const auto& point : points) size += decimal_length(point.count);
  std::size_t written = out.size();
  out.resize(size);
  char* at = out.data() + written;
  for (std::size_t i = 0; i < points.size(); ++i) {
    const char* head = heads.data() + i * BucketHeads::kStride;
    at = std::copy(head + (i ? 0 : 1), head + BucketHeads::kStride, at);
    at = std::to_chars(at, at + 20, points[i].count).ptr;
    *at++ = '}';
  }
  *at++ = ']';
  *at++ = '}';
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
