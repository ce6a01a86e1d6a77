// The COPY row of an event (domain/event_record), as a round trip: whatever an event
// holds, a reader of PostgreSQL's COPY text format gets back exactly those values.
// The reader below follows the PostgreSQL manual (COPY, "Text Format"), independently
// of the encoder.
#include "domain/event_id.hpp"
#include "domain/event_record.hpp"
#include "domain/time_format.hpp"
#include "fuzz_check.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace json = boost::json;
using namespace tracker::domain;
using Column = std::optional<std::string>;  // nullopt: SQL NULL

int digit_value(char c, int base) {
  int value = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 99;
  return value < base ? value : -1;
}

// One line of COPY text format: columns split at tabs, "\N" alone is NULL, and the
// backslash sequences \b \f \n \r \t \v, \ooo (octal), \xhh (hex) and \<any> (itself).
std::vector<Column> read_copy_row(std::string_view line) {
  std::vector<Column> columns;
  std::size_t start = 0;
  for (;;) {
    std::size_t end = line.find('\t', start);
    std::string_view raw = line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (raw == "\\N") {
      columns.emplace_back(std::nullopt);
    } else {
      std::string text;
      for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] != '\\') {
          text += raw[i];
          continue;
        }
        FUZZ_CHECK(i + 1 < raw.size());  // a lone backslash at the end of a column
        char c = raw[++i];
        switch (c) {
          case 'b': text += '\b'; break;
          case 'f': text += '\f'; break;
          case 'n': text += '\n'; break;
          case 'r': text += '\r'; break;
          case 't': text += '\t'; break;
          case 'v': text += '\v'; break;
          case 'x': {
            int value = 0, digits = 0;
            while (digits < 2 && i + 1 < raw.size() && digit_value(raw[i + 1], 16) >= 0) {
              value = value * 16 + digit_value(raw[++i], 16);
              ++digits;
            }
            text += digits ? static_cast<char>(value) : 'x';
            break;
          }
          default:
            if (digit_value(c, 8) >= 0) {
              int value = digit_value(c, 8), digits = 1;
              while (digits < 3 && i + 1 < raw.size() && digit_value(raw[i + 1], 8) >= 0) {
                value = value * 8 + digit_value(raw[++i], 8);
                ++digits;
              }
              text += static_cast<char>(value);
            } else {
              text += c;
            }
        }
      }
      columns.emplace_back(std::move(text));
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return columns;
}

// Plausible stored times: those with a four-digit UTC year (what validation lets through).
constexpr std::int64_t kFirstMs = -62135596800000LL, kLastMs = 253402300799999LL;

std::optional<std::int64_t> maybe_int(FuzzedDataProvider& in) {
  if (!in.ConsumeBool()) return std::nullopt;
  return in.ConsumeIntegral<std::int64_t>();
}
std::optional<std::string> maybe_text(FuzzedDataProvider& in) {
  if (!in.ConsumeBool()) return std::nullopt;
  return in.ConsumeRandomLengthString(300);
}

// Metadata comes from a parsed JSON body, so its texts are valid UTF-8 (any character,
// U+0000 and quotes included): each byte above 0x7F stands for the code point of that value.
std::string utf8_text(FuzzedDataProvider& in, std::size_t max_length) {
  std::string out;
  for (unsigned char c : in.ConsumeRandomLengthString(max_length)) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

json::object metadata(FuzzedDataProvider& in) {
  json::object out;
  std::size_t fields = in.ConsumeIntegralInRange<std::size_t>(0, 8);
  for (std::size_t i = 0; i < fields && in.remaining_bytes() > 0; ++i) {
    std::string key = utf8_text(in, 40);
    switch (in.ConsumeIntegralInRange(0, 5)) {
      case 0: out[key] = utf8_text(in, 200); break;
      case 1: out[key] = in.ConsumeIntegral<std::int64_t>(); break;
      // A parser keeps an integer as uint64 only past int64's range.
      case 2: out[key] = in.ConsumeIntegralInRange<std::uint64_t>(1ULL << 63, ~0ULL); break;
      case 3: out[key] = in.ConsumeFloatingPoint<double>(); break;
      case 4: out[key] = in.ConsumeBool(); break;
      default: out[key] = json::array{nullptr, utf8_text(in, 20)}; break;
    }
  }
  return out;
}

void check_int(const Column& column, const std::optional<std::int64_t>& value) {
  FUZZ_CHECK(column.has_value() == value.has_value());
  if (value) FUZZ_CHECK(*column == std::to_string(*value));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  Event event;
  event.type = in.PickValueInArray(kAllEventTypes);
  event.user_id = maybe_int(in);
  event.session_id = in.ConsumeRandomLengthString(300);
  event.component_id = in.ConsumeIntegral<std::int64_t>();
  event.element_id = maybe_text(in);
  event.post_id = maybe_int(in);
  event.keyword = maybe_text(in);
  if (in.ConsumeBool()) event.client_time_ms = in.ConsumeIntegralInRange(kFirstMs, kLastMs);
  event.server_time_ms = in.ConsumeIntegralInRange(kFirstMs, kLastMs);
  event.metadata = metadata(in);
  event.id = EventIdGenerator().next(event.server_time_ms);

  std::string row = to_copy_row(event);
  FUZZ_CHECK(row.find_first_of("\n\r") == std::string::npos);  // one row is one line
  std::vector<Column> columns = read_copy_row(row);
  // kEventRecordColumns: id, event_type, user_id, session_id, component_id, element_id,
  // post_id, keyword, metadata, client_time, server_time.
  FUZZ_CHECK(columns.size() == 11);
  FUZZ_CHECK(columns[0] == event.id);
  FUZZ_CHECK(columns[1] == std::string(to_string(event.type)));
  check_int(columns[2], event.user_id);
  FUZZ_CHECK(columns[3] == event.session_id);
  check_int(columns[4], event.component_id);
  FUZZ_CHECK(columns[5] == event.element_id);
  check_int(columns[6], event.post_id);
  FUZZ_CHECK(columns[7] == event.keyword);
  FUZZ_CHECK(columns[8].has_value());
  // Exactly the JSON text of the metadata (compared as text: Boost.JSON 1.81 reads some
  // doubles back one unit in the last place off, PostgreSQL reads them exactly).
  FUZZ_CHECK(*columns[8] == json::serialize(event.metadata));
  FUZZ_CHECK(json::parse(*columns[8]).is_object());
  FUZZ_CHECK(columns[9].has_value() == event.client_time_ms.has_value());
  if (columns[9]) FUZZ_CHECK(parse_rfc3339_ms(*columns[9]) == event.client_time_ms);
  FUZZ_CHECK(columns[10].has_value() && parse_rfc3339_ms(*columns[10]) == event.server_time_ms);
  return 0;
}
