// The ingest script's arguments have one layout (redis/ingest_layout.hpp): the server
// builds the call by its indexes, and lua/ingest.lua reads ARGV through a block of locals
// that must name the same places with the same values. A place added, moved or renamed on
// one side only fails here.
#include "redis/ingest_layout.hpp"
#include "redis/lua_scripts.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace {

namespace layout = tracker::redis::ingest_layout;
namespace lua = tracker::redis::lua;

constexpr std::string_view kBegin = "-- layout: begin\n";
constexpr std::string_view kEnd = "-- layout: end\n";

// The script's layout block, as name -> value; fails the test on any other kind of line.
std::map<std::string, std::size_t> lua_layout_block(std::string_view script) {
  std::map<std::string, std::size_t> names;
  const auto begin = script.find(kBegin);
  const auto end = script.find(kEnd);
  EXPECT_NE(begin, std::string_view::npos) << "no '" << kBegin << "' in ingest.lua";
  EXPECT_NE(end, std::string_view::npos) << "no '" << kEnd << "' in ingest.lua";
  if (begin == std::string_view::npos || end == std::string_view::npos || end < begin) return names;
  const std::string block(script.substr(begin + kBegin.size(), end - begin - kBegin.size()));
  const std::regex line_pattern(R"(local ([A-Z_]+) = ([0-9]+))");
  std::size_t start = 0;
  while (start < block.size()) {
    const auto stop = block.find('\n', start);
    const std::string line = block.substr(start, stop - start);
    start = stop == std::string::npos ? block.size() : stop + 1;
    std::smatch match;
    if (!std::regex_match(line, match, line_pattern)) {
      ADD_FAILURE() << "not a 'local NAME = number' line in the layout block: " << line;
      continue;
    }
    EXPECT_TRUE(names.emplace(match[1], std::stoul(match[2])).second) << "declared twice: " << match[1];
  }
  return names;
}

std::string after_block(std::string_view script) {
  const auto end = script.find(kEnd);
  return end == std::string_view::npos ? std::string(script) : std::string(script.substr(end + kEnd.size()));
}

TEST(IngestLayout, TheScriptsLocalsAreTheHeadersNamesAndValues) {
  std::map<std::string, std::size_t> header;
  for (const auto& [name, value] : layout::kLuaNames) {
    EXPECT_TRUE(header.emplace(std::string(name), value).second) << "listed twice: " << name;
  }
  EXPECT_EQ(lua_layout_block(lua::ingest), header);
}

TEST(IngestLayout, TheScriptReadsEveryPlaceByName) {
  const std::string body = after_block(lua::ingest);
  // ARGV[1], ARGV[a + 3]: a place by number instead of by name.
  const std::regex numbered(R"(ARGV\[\s*(\w+\s*[-+]\s*)?[0-9])");
  std::smatch match;
  EXPECT_FALSE(std::regex_search(body, match, numbered)) << "ARGV read by number: " << match.str();
  // A name never used is a place the script skips over without reading.
  for (const auto& [name, value] : layout::kLuaNames) {
    const std::regex used("\\b" + std::string(name) + "\\b");
    EXPECT_TRUE(std::regex_search(body, used)) << name << " is declared but not used";
  }
}

// Each group of places covers its range exactly once, so no two fields share a place and
// none is left out (the count is one past the last).
void expect_exact_cover(std::vector<std::size_t> places, std::size_t first, std::size_t count) {
  std::sort(places.begin(), places.end());
  std::vector<std::size_t> expected(count);
  for (std::size_t i = 0; i < count; ++i) expected[i] = first + i;
  EXPECT_EQ(places, expected);
}

TEST(IngestLayout, EachGroupOfPlacesIsExactlyCovered) {
  expect_exact_cover({layout::kHeadRecentTtl, layout::kHeadHighWater, layout::kHeadCheckedCount,
                      layout::kHeadSummedCount, layout::kHeadSummedRows},
                     1, layout::kHeadCount);
  expect_exact_cover({layout::kCheckedId, layout::kCheckedDedupId, layout::kCheckedType, layout::kCheckedUserId,
                      layout::kCheckedPostId, layout::kCheckedKeyword, layout::kCheckedCopyRow,
                      layout::kCheckedLikesKey, layout::kCheckedMinuteKey, layout::kCheckedUsersKey,
                      layout::kCheckedKeywordsKey, layout::kCheckedTopKey, layout::kCheckedMinute,
                      layout::kCheckedShapeCount},
                     0, layout::kCheckedFields);
  expect_exact_cover({layout::kShapeTotalField, layout::kShapeMinuteField}, 0, layout::kShapeWidth);
  expect_exact_cover({layout::kUnlikeTopKey, layout::kUnlikeShapeCount}, 0, layout::kUnlikeFields);
}

}  // namespace
