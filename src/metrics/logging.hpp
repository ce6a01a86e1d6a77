#pragma once
#include <span>
#include <string>
#include <string_view>

namespace tracker::metrics {

enum class LogFormat { Text, Json };
// "text" or "json"; throws std::invalid_argument otherwise.
LogFormat parse_log_format(std::string_view name);

// Sets the default logger's level and line format. JSON lines are one object each:
// {"time","level","thread","message"} for ELK or Loki; the time is UTC, RFC 3339.
void configure_logging(const std::string& level, LogFormat format);

// A named value of a log line: JSON lines carry them in "fields", text lines after the
// message as key=value.
struct LogField {
  std::string_view key;
  std::string value;
  bool is_number = false;
};
// An info line with fields (the access log).
void log_with_fields(std::string_view message, std::span<const LogField> fields);

// Appends `text` to `out` as the inside of a JSON string (quotes not included).
void append_json_escaped(std::string& out, std::string_view text);

}  // namespace tracker::metrics
