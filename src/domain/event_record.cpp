#include "domain/event_record.hpp"

#include "domain/time_format.hpp"

#include <boost/json/serialize.hpp>

namespace tracker::domain {

void append_copy_escaped(std::string& out, std::string_view text) {
  // Runs without a character to escape (nearly all text) are appended whole.
  auto plain = [](char c) { return c != '\\' && c != '\t' && c != '\n' && c != '\r'; };
  while (!text.empty()) {
    std::size_t run = 0;
    while (run < text.size() && plain(text[run])) ++run;
    out.append(text.data(), run);
    if (run == text.size()) break;
    switch (text[run]) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      default: out += "\\r"; break;
    }
    text.remove_prefix(run + 1);
  }
}

namespace {
constexpr std::string_view kNull = "\\N";

void append_optional_text(std::string& out, const std::optional<std::string>& text) {
  if (text) append_copy_escaped(out, *text);
  else out += kNull;
}
void append_optional_int(std::string& out, const std::optional<std::int64_t>& number) {
  if (number) out += std::to_string(*number);
  else out += kNull;
}
}  // namespace

std::string to_copy_row(const Event& event) {
  std::string row;
  row.reserve(256);
  row += event.id;
  row.push_back('\t');
  row += to_string(event.type);
  row.push_back('\t');
  append_optional_int(row, event.user_id);
  row.push_back('\t');
  append_copy_escaped(row, event.session_id);
  row.push_back('\t');
  row += std::to_string(event.component_id);
  row.push_back('\t');
  append_optional_text(row, event.element_id);
  row.push_back('\t');
  append_optional_int(row, event.post_id);
  row.push_back('\t');
  append_optional_text(row, event.keyword);
  row.push_back('\t');
  if (!event.metadata_text.empty()) append_copy_escaped(row, event.metadata_text);
  else append_copy_escaped(row, boost::json::serialize(event.metadata));
  row.push_back('\t');
  if (event.client_time_ms) row += format_rfc3339_ms(*event.client_time_ms);
  else row += kNull;
  row.push_back('\t');
  row += format_rfc3339_ms(event.server_time_ms);
  return row;
}

}  // namespace tracker::domain
