#include "domain/query_shape.hpp"

#include <charconv>

namespace tracker::domain {

namespace {

constexpr std::string_view kAny = "*";
constexpr char kEscape = '\x1f';

std::optional<std::int64_t> to_int(std::string_view text) {
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

void append_id(std::string& field, std::int64_t id) {
  if (id == 0) field += kAny;
  else field += std::to_string(id);
}

// A component or post part: '*' or an id >= 1.
std::optional<std::int64_t> parse_id(std::string_view part) {
  if (part == kAny) return 0;
  auto id = to_int(part);
  if (!id || *id < 1) return std::nullopt;
  return id;
}

}  // namespace

std::vector<QueryShape> event_shapes(std::string_view event_type, std::int64_t component_id,
                                     std::optional<std::int64_t> post_id, const std::optional<std::string>& keyword) {
  const std::string type(event_type);
  std::vector<QueryShape> shapes;
  shapes.reserve(5);
  shapes.push_back({type, 0, 0, ""});
  shapes.push_back({type, component_id, 0, ""});
  if (post_id) shapes.push_back({type, component_id, *post_id, ""});
  if (keyword) {
    shapes.push_back({type, component_id, 0, *keyword});
    if (post_id) shapes.push_back({type, component_id, *post_id, *keyword});
  }
  return shapes;
}

std::string shape_field(const QueryShape& shape) {
  std::string field;
  field.reserve(shape.event_type.size() + shape.keyword.size() + 44);
  field += shape.event_type;
  field += '|';
  append_id(field, shape.component_id);
  field += '|';
  append_id(field, shape.post_id);
  field += '|';
  if (shape.keyword.empty()) {
    field += kAny;
  } else {
    if (shape.keyword == kAny || shape.keyword.front() == kEscape) field += kEscape;
    field += shape.keyword;
  }
  return field;
}

std::string minute_field(std::string_view shape_field, std::string_view minute_ms) {
  std::string field;
  field.reserve(shape_field.size() + 1 + minute_ms.size());
  field += shape_field;
  field += '|';
  field += minute_ms;
  return field;
}

std::optional<MinuteCount> parse_minute_field(std::string_view field) {
  // TYPE|component|post|keyword|minute: the keyword may hold '|', so the minute is split
  // off at the last '|' and the first three parts at the first ones.
  auto last_bar = field.rfind('|');
  if (last_bar == std::string_view::npos) return std::nullopt;
  auto minute = to_int(field.substr(last_bar + 1));
  field = field.substr(0, last_bar);
  std::string_view parts[3];
  for (std::string_view& part : parts) {
    auto bar = field.find('|');
    if (bar == std::string_view::npos) return std::nullopt;
    part = field.substr(0, bar);
    field.remove_prefix(bar + 1);
  }
  auto component = parse_id(parts[1]);
  auto post = parse_id(parts[2]);
  if (!minute || parts[0].empty() || !component || !post || field.empty()) return std::nullopt;
  MinuteCount out;
  out.minute_ms = *minute;
  out.shape.event_type = std::string(parts[0]);
  out.shape.component_id = *component;
  out.shape.post_id = *post;
  if (field == kAny) {
    field = {};
  } else {
    if (field.front() == kEscape) field.remove_prefix(1);
    if (field.empty()) return std::nullopt;  // never written: it would read as "any"
  }
  out.shape.keyword = std::string(field);
  return out;
}

}  // namespace tracker::domain
