// The durable record of an event: one row of PostgreSQL COPY text format.
#include "domain/event_record.hpp"

#include "domain/event_validation.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace {

namespace json = boost::json;
using tracker::domain::append_copy_escaped;
using tracker::domain::Event;
using tracker::domain::EventType;
using tracker::domain::FieldError;
using tracker::domain::kEventRecordColumns;
using tracker::domain::to_copy_row;
using tracker::domain::validate_event;

constexpr std::int64_t kNow = 1795610760123;  // 2026-11-25T12:46:00.123Z

std::vector<std::string> split_columns(const std::string& row) {
  std::vector<std::string> columns;
  std::size_t start = 0;
  while (true) {
    std::size_t tab = row.find('\t', start);
    columns.push_back(row.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) return columns;
    start = tab + 1;
  }
}

// Reverses COPY text escaping for the escapes to_copy_row produces.
std::string copy_unescape(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out.push_back(text[i]);
      continue;
    }
    switch (text[++i]) {
      case 't': out.push_back('\t'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      default: out.push_back(text[i]);
    }
  }
  return out;
}

std::string escaped(std::string_view text) {
  std::string out = "prefix|";
  append_copy_escaped(out, text);
  return out.substr(7);
}

Event full_event() {
  Event event;
  event.id = "01a212bd-d3bb-7123-8abc-0123456789ab";
  event.type = EventType::Like;
  event.user_id = 42;
  event.session_id = "session-3f1c";
  event.component_id = 1003;
  event.element_id = "element-7";
  event.post_id = 7;
  event.keyword = "keyword-1";
  event.metadata = json::parse(R"({"componentId":1003,"postId":7})").as_object();
  event.client_time_ms = kNow - 1000;
  event.server_time_ms = kNow;
  event.event_time_ms = kNow - 1000;
  return event;
}

Event minimal_event() {
  Event event;
  event.id = "01a212bd-d3bb-7123-8abc-0123456789ab";
  event.type = EventType::PageView;
  event.session_id = "session-1";
  event.component_id = 1000;
  event.metadata = json::parse(R"({"componentId":1000})").as_object();
  event.server_time_ms = kNow;
  event.event_time_ms = kNow;
  return event;
}

std::size_t column_count() {
  std::string_view names = kEventRecordColumns;
  return static_cast<std::size_t>(std::count(names.begin(), names.end(), ',')) + 1;
}

// ---------------------------------------------------------------------------------------
// append_copy_escaped

TEST(CopyEscape, LeavesOrdinaryTextAlone) {
  EXPECT_EQ(escaped(""), "");
  EXPECT_EQ(escaped("session-3f1c"), "session-3f1c");
  EXPECT_EQ(escaped("검색어 🎉 naïve"), "검색어 🎉 naïve");
  EXPECT_EQ(escaped("N"), "N");
  EXPECT_EQ(escaped("quote \" and ' and , and |"), "quote \" and ' and , and |");
}

TEST(CopyEscape, EscapesBackslashTabNewlineAndCarriageReturn) {
  EXPECT_EQ(escaped("\\"), "\\\\");
  EXPECT_EQ(escaped("\t"), "\\t");
  EXPECT_EQ(escaped("\n"), "\\n");
  EXPECT_EQ(escaped("\r"), "\\r");
  EXPECT_EQ(escaped("a\tb\nc\r\nd\\e"), "a\\tb\\nc\\r\\nd\\\\e");
}

TEST(CopyEscape, TheTextBackslashNIsNotMistakenForNull) {
  EXPECT_EQ(escaped("\\N"), "\\\\N");
  EXPECT_EQ(escaped("\\."), "\\\\.") << "nor for the end-of-data marker";
}

TEST(CopyEscape, AppendsWithoutTouchingWhatIsThere) {
  std::string out = "a\t";
  append_copy_escaped(out, "b\tc");
  EXPECT_EQ(out, "a\tb\\tc");
}

TEST(CopyEscape, OutputHasNoRawDelimitersAndUnescapesBack) {
  std::string all_bytes;
  for (int c = 1; c < 256; ++c) all_bytes.push_back(static_cast<char>(c));
  std::string out = escaped(all_bytes);
  EXPECT_EQ(out.find('\t'), std::string::npos);
  EXPECT_EQ(out.find('\n'), std::string::npos);
  EXPECT_EQ(out.find('\r'), std::string::npos);
  EXPECT_EQ(copy_unescape(out), all_bytes);
}

// ---------------------------------------------------------------------------------------
// to_copy_row

TEST(CopyRow, HasOneValuePerDeclaredColumnInOrder) {
  std::string row = to_copy_row(full_event());
  EXPECT_EQ(row.find('\n'), std::string::npos) << "no trailing newline";
  std::vector<std::string> columns = split_columns(row);
  ASSERT_EQ(columns.size(), column_count());
  ASSERT_EQ(columns.size(), 11u);
  EXPECT_EQ(columns[0], "01a212bd-d3bb-7123-8abc-0123456789ab");  // id
  EXPECT_EQ(columns[1], "LIKE");                                  // event_type
  EXPECT_EQ(columns[2], "42");                                    // user_id
  EXPECT_EQ(columns[3], "session-3f1c");                          // session_id
  EXPECT_EQ(columns[4], "1003");                                  // component_id
  EXPECT_EQ(columns[5], "element-7");                             // element_id
  EXPECT_EQ(columns[6], "7");                                     // post_id
  EXPECT_EQ(columns[7], "keyword-1");                             // keyword
  EXPECT_EQ(columns[8], R"({"componentId":1003,"postId":7})");    // metadata
  EXPECT_EQ(columns[9], "2026-11-25T12:45:59.123Z");              // client_time
  EXPECT_EQ(columns[10], "2026-11-25T12:46:00.123Z");             // server_time
}

TEST(CopyRow, WritesNullForEveryAbsentOptionalValue) {
  std::vector<std::string> columns = split_columns(to_copy_row(minimal_event()));
  ASSERT_EQ(columns.size(), 11u);
  EXPECT_EQ(columns[1], "PAGE_VIEW");
  EXPECT_EQ(columns[2], "\\N");  // user_id
  EXPECT_EQ(columns[3], "session-1");
  EXPECT_EQ(columns[5], "\\N");  // element_id
  EXPECT_EQ(columns[6], "\\N");  // post_id
  EXPECT_EQ(columns[7], "\\N");  // keyword
  EXPECT_EQ(columns[8], R"({"componentId":1000})");
  EXPECT_EQ(columns[9], "\\N");  // client_time
  EXPECT_EQ(columns[10], "2026-11-25T12:46:00.123Z");
}

TEST(CopyRow, EmptyMetadataIsAnEmptyObjectNotNull) {
  Event event = minimal_event();
  event.metadata = {};
  EXPECT_EQ(split_columns(to_copy_row(event))[8], "{}");
}

TEST(CopyRow, NamesEveryEventType) {
  struct Case {
    EventType type;
    const char* name;
  };
  for (Case c : {Case{EventType::PageView, "PAGE_VIEW"}, Case{EventType::Search, "SEARCH"},
                 Case{EventType::Click, "CLICK"}, Case{EventType::Like, "LIKE"},
                 Case{EventType::Unlike, "UNLIKE"}, Case{EventType::Scroll, "SCROLL"},
                 Case{EventType::Comment, "COMMENT"}, Case{EventType::Share, "SHARE"}}) {
    Event event = minimal_event();
    event.type = c.type;
    EXPECT_EQ(split_columns(to_copy_row(event))[1], c.name);
  }
}

TEST(CopyRow, EscapesTextColumns) {
  Event event = full_event();
  event.session_id = "back\\slash\ttab";
  event.element_id = "line\nbreak\r";
  event.keyword = "\\N";
  std::vector<std::string> columns = split_columns(to_copy_row(event));
  ASSERT_EQ(columns.size(), 11u);
  EXPECT_EQ(columns[3], "back\\\\slash\\ttab");
  EXPECT_EQ(columns[5], "line\\nbreak\\r");
  EXPECT_EQ(columns[7], "\\\\N") << "the text \\N stays distinguishable from NULL";
  EXPECT_EQ(copy_unescape(columns[3]), event.session_id);
  EXPECT_EQ(copy_unescape(columns[5]), *event.element_id);
}

TEST(CopyRow, MetadataJsonBackslashesAreEscapedForCopy) {
  Event event = minimal_event();
  // JSON text {"path":"C:\\dir","quote":"say \"hi\"","nl":"a\nb"}: its escapes are backslashes.
  event.metadata = json::parse(R"({"path":"C:\\dir","quote":"say \"hi\"","nl":"a\nb"})").as_object();
  std::string json_text = json::serialize(event.metadata);
  std::string column = split_columns(to_copy_row(event))[8];
  EXPECT_EQ(column, R"({"path":"C:\\\\dir","quote":"say \\"hi\\"","nl":"a\\nb"})");
  EXPECT_EQ(copy_unescape(column), json_text);
  EXPECT_EQ(json::parse(copy_unescape(column)), json::value(event.metadata));
}

TEST(CopyRow, MetadataWithUnicodeAndControlCharactersSurvives) {
  Event event = minimal_event();
  event.metadata = json::parse(R"({"k":"검색 🎉","tab":"a\tb","ctl":"\u0001"})").as_object();
  std::string row = to_copy_row(event);
  EXPECT_EQ(split_columns(row).size(), 11u) << "a tab in a metadata string must not split the row";
  EXPECT_EQ(row.find('\n'), std::string::npos);
  EXPECT_EQ(json::parse(copy_unescape(split_columns(row)[8])), json::value(event.metadata));
}

TEST(CopyRow, FormatsTimesBeforeTheEpochAndExtremeIds) {
  Event event = full_event();
  event.client_time_ms = -1;
  event.user_id = INT64_MAX;
  event.post_id = 1;
  event.component_id = INT64_MAX;
  std::vector<std::string> columns = split_columns(to_copy_row(event));
  EXPECT_EQ(columns[2], "9223372036854775807");
  EXPECT_EQ(columns[4], "9223372036854775807");
  EXPECT_EQ(columns[6], "1");
  EXPECT_EQ(columns[9], "1969-12-31T23:59:59.999Z");
}

TEST(CopyRow, ImplausibleClientTimeIsStillRecorded) {
  json::value body = json::parse(R"({"eventType": "click", "sessionId": "s\\t",
      "timestamp": "2020-01-01T00:00:00+09:00",
      "metadata": {"componentId": 1002, "note": "tab\there"}})");
  auto result = validate_event(body, kNow);
  ASSERT_TRUE(std::holds_alternative<Event>(result)) << std::get<FieldError>(result).message;
  Event event = std::get<Event>(std::move(result));
  event.id = "01a212bd-d3bb-7123-8abc-0123456789ab";
  std::vector<std::string> columns = split_columns(to_copy_row(event));
  ASSERT_EQ(columns.size(), 11u);
  EXPECT_EQ(columns[1], "CLICK");
  EXPECT_EQ(columns[3], "s\\\\t") << "the session id is s, a backslash and t";
  EXPECT_EQ(columns[8], R"({"componentId":1002,"note":"tab\\there"})");
  EXPECT_EQ(columns[9], "2019-12-31T15:00:00.000Z");
  EXPECT_EQ(columns[10], "2026-11-25T12:46:00.123Z");
}

}  // namespace
