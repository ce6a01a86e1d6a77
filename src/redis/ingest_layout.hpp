#pragma once
#include <array>
#include <cstddef>
#include <string_view>

// The argument layout of lua/ingest.lua: the one definition both sides follow. EventStore
// builds ARGV by these indexes; the script reads ARGV through a block of locals with the
// names and values of kLuaNames (tests/unit/ingest_layout_test.cpp checks that they agree,
// and tests/integration/ingest_script_redistest.cpp runs the script with what EventStore
// builds and checks everything it writes).
//
// ARGV, in order:
//   the head (kHead* below, 1-based as Lua counts);
//   the summed LIKEs' standing likes: n, then n (likes_key, minute) items;
//   per checked event, kCheckedFields fields (kChecked* offsets from its first one), then
//     shape_count (total_field, minute_field) items, then for an UNLIKE kUnlikeFields
//     more (kUnlike* offsets), then like_shape_count LIKE total fields;
//   the summed events' effects, each section a count n and then its items:
//     totals (n fields, then their n increments), minute counts (the same), minutes
//     (Unix ms), per-minute type counters (key, increment), rankings (key, n, then n
//     (member, increment)), unique users (key, n, then n user ids);
//   the recent-keyword searches: n, then n (checked_index (0 = summed), recent_key, keyword);
//   the expiries: n, then n (key, ttl_seconds).
// '' in a field means "not applicable".
namespace tracker::redis::ingest_layout {

// The head: ARGV[1..kHeadCount].
inline constexpr std::size_t kHeadRecentTtl = 1;     // recent-keyword lists' TTL, seconds
inline constexpr std::size_t kHeadHighWater = 2;     // backlog high-water mark (0 = none)
inline constexpr std::size_t kHeadCheckedCount = 3;  // checked events
inline constexpr std::size_t kHeadSummedCount = 4;   // summed events
inline constexpr std::size_t kHeadSummedRows = 5;    // their COPY rows, '\n'-separated
inline constexpr std::size_t kHeadCount = 5;

// A checked event's fixed fields, as offsets from its first argument.
inline constexpr std::size_t kCheckedId = 0;
inline constexpr std::size_t kCheckedDedupId = 1;  // the client eventId
inline constexpr std::size_t kCheckedType = 2;
inline constexpr std::size_t kCheckedUserId = 3;
inline constexpr std::size_t kCheckedPostId = 4;
inline constexpr std::size_t kCheckedKeyword = 5;
inline constexpr std::size_t kCheckedCopyRow = 6;
inline constexpr std::size_t kCheckedLikesKey = 7;
inline constexpr std::size_t kCheckedMinuteKey = 8;
inline constexpr std::size_t kCheckedUsersKey = 9;
inline constexpr std::size_t kCheckedKeywordsKey = 10;
inline constexpr std::size_t kCheckedTopKey = 11;
inline constexpr std::size_t kCheckedMinute = 12;  // the event's minute, Unix ms
inline constexpr std::size_t kCheckedShapeCount = 13;
inline constexpr std::size_t kCheckedFields = 14;
// Each shape the event adds to: its total field and its minute field.
inline constexpr std::size_t kShapeTotalField = 0;
inline constexpr std::size_t kShapeMinuteField = 1;
inline constexpr std::size_t kShapeWidth = 2;

// What follows an UNLIKE's shapes: what it takes back from the LIKE counters when it
// undoes a like (the script makes the minute fields: the minute of the like taken back).
inline constexpr std::size_t kUnlikeTopKey = 0;
inline constexpr std::size_t kUnlikeShapeCount = 1;
inline constexpr std::size_t kUnlikeFields = 2;

struct LuaName {
  std::string_view name;
  std::size_t value;
};
// The locals lua/ingest.lua declares between "-- layout: begin" and "-- layout: end".
inline constexpr std::array kLuaNames = {
    LuaName{"HEAD_RECENT_TTL", kHeadRecentTtl},
    LuaName{"HEAD_HIGH_WATER", kHeadHighWater},
    LuaName{"HEAD_CHECKED_COUNT", kHeadCheckedCount},
    LuaName{"HEAD_SUMMED_COUNT", kHeadSummedCount},
    LuaName{"HEAD_SUMMED_ROWS", kHeadSummedRows},
    LuaName{"HEAD_COUNT", kHeadCount},
    LuaName{"CHECKED_ID", kCheckedId},
    LuaName{"CHECKED_DEDUP_ID", kCheckedDedupId},
    LuaName{"CHECKED_TYPE", kCheckedType},
    LuaName{"CHECKED_USER_ID", kCheckedUserId},
    LuaName{"CHECKED_POST_ID", kCheckedPostId},
    LuaName{"CHECKED_KEYWORD", kCheckedKeyword},
    LuaName{"CHECKED_COPY_ROW", kCheckedCopyRow},
    LuaName{"CHECKED_LIKES_KEY", kCheckedLikesKey},
    LuaName{"CHECKED_MINUTE_KEY", kCheckedMinuteKey},
    LuaName{"CHECKED_USERS_KEY", kCheckedUsersKey},
    LuaName{"CHECKED_KEYWORDS_KEY", kCheckedKeywordsKey},
    LuaName{"CHECKED_TOP_KEY", kCheckedTopKey},
    LuaName{"CHECKED_MINUTE", kCheckedMinute},
    LuaName{"CHECKED_SHAPE_COUNT", kCheckedShapeCount},
    LuaName{"CHECKED_FIELDS", kCheckedFields},
    LuaName{"SHAPE_TOTAL_FIELD", kShapeTotalField},
    LuaName{"SHAPE_MINUTE_FIELD", kShapeMinuteField},
    LuaName{"SHAPE_WIDTH", kShapeWidth},
    LuaName{"UNLIKE_TOP_KEY", kUnlikeTopKey},
    LuaName{"UNLIKE_SHAPE_COUNT", kUnlikeShapeCount},
    LuaName{"UNLIKE_FIELDS", kUnlikeFields},
};

}  // namespace tracker::redis::ingest_layout
