#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Query shapes: the counters of the statistics API. Each is an event type with a
// component, a post and a keyword, each either one value or "any", and counts the events
// that match it. An event adds to up to five of them, so that every count is one lookup
// and never a sum over posts or keywords.
//
// "Any" is 0 for the component and the post and "" for the keyword; the domain admits no
// such value from a client (ids are >= 1, keywords are normalised and never empty:
// normalize_keyword), so no value a client sends reads as "any". PostgreSQL's event_stats
// and event_totals keep exactly these columns; Redis's counter hashes use shape_field.
namespace tracker::domain {

struct QueryShape {
  std::string event_type;
  std::int64_t component_id = 0;  // 0: any
  std::int64_t post_id = 0;       // 0: any
  std::string keyword;            // "": any
  bool operator==(const QueryShape&) const = default;
};

// The shapes one event adds to: any component; its component; and with its post, its
// keyword, or both, where it has them.
std::vector<QueryShape> event_shapes(std::string_view event_type, std::int64_t component_id,
                                     std::optional<std::int64_t> post_id, const std::optional<std::string>& keyword);

// The field of a shape in Redis's counter hashes: "TYPE|component|post|keyword", '*' for
// any. The keyword goes last and is written as it is (it may hold '|', ':' or anything
// else), except that a keyword of '*', or one starting with U+001F, gets a U+001F in
// front: no keyword is written '*', the field of "any keyword". A keyword never holds
// control characters, so fields written before the escape existed read the same (a
// keyword of '*' then shared the field of "any": see README, "Query shapes").
std::string shape_field(const QueryShape& shape);
// A per-minute field: the shape's field, '|', the minute's start in Unix ms.
std::string minute_field(std::string_view shape_field, std::string_view minute_ms);
struct MinuteCount {
  QueryShape shape;
  std::int64_t minute_ms = 0;
};
// Reads a per-minute field back; nullopt when it is not one.
std::optional<MinuteCount> parse_minute_field(std::string_view field);

}  // namespace tracker::domain
