#include "metrics/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <stdexcept>

namespace tracker::metrics {

namespace {

LogFormat g_format = LogFormat::Text;
// The fields of the line being logged on this thread (spdlog formats in the caller's thread).
thread_local std::span<const LogField> t_fields;

// The message, escaped for a JSON string: messages quote user input (paths, keywords).
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string escaped;
    escaped.reserve(msg.payload.size() + 8);
    append_json_escaped(escaped, std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(escaped.data(), escaped.data() + escaped.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonMessageFlag>(); }
};

// ,"fields":{...} when the line has fields.
class JsonFieldsFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&, spdlog::memory_buf_t& dest) override {
    if (t_fields.empty()) return;
    std::string out = R"(,"fields":{)";
    for (std::size_t i = 0; i < t_fields.size(); ++i) {
      if (i) out += ',';
      out += '"';
      append_json_escaped(out, t_fields[i].key);
      out += "\":";
      if (t_fields[i].is_number) {
        out += t_fields[i].value;
      } else {
        out += '"';
        append_json_escaped(out, t_fields[i].value);
        out += '"';
      }
    }
    out += '}';
    dest.append(out.data(), out.data() + out.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonFieldsFlag>(); }
};

}  // namespace

void log_with_fields(std::string_view message, std::span<const LogField> fields) {
  if (g_format == LogFormat::Json) {
    t_fields = fields;
    spdlog::info("{}", message);
    t_fields = {};
    return;
  }
  std::string line(message);
  for (const LogField& field : fields) {
    line += ' ';
    line += field.key;
    line += '=';
    line += field.value;
  }
  spdlog::info("{}", line);
}

LogFormat parse_log_format(std::string_view name) {
  if (name == "text") return LogFormat::Text;
  if (name == "json") return LogFormat::Json;
  throw std::invalid_argument("--log-format: expected text or json");
}

void append_json_escaped(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (byte < 0x20 || byte == 0x7f) {
          out += "\\u00";
          out += kHex[byte >> 4];
          out += kHex[byte & 0xf];
        } else {
          out += c;  // UTF-8 passes through; log sinks read bytes
        }
    }
  }
}

void configure_logging(const std::string& level, LogFormat format) {
  spdlog::set_level(spdlog::level::from_str(level));
  g_format = format;
  if (format == LogFormat::Text) return;
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<JsonMessageFlag>('*').add_flag<JsonFieldsFlag>('&').set_pattern(
      R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","thread":%t,"message":"%*"%&})");
  spdlog::set_formatter(std::move(formatter));
}

}  // namespace tracker::metrics
