// The Lua scripts name Redis keys in two ways: ones the server passes (in KEYS or ARGV),
// and fixed ones they spell themselves. Every key name a script spells must be one of
// redis/keys.hpp: a fixed name exactly, or the start of a name keys.hpp makes (such as
// "et:totals:" for et:totals:live and et:totals:snap:<id>), so that a key renamed in C++
// fails here instead of being read and written under two names. A script that takes keys
// in KEYS reads KEYS[1..n] with no gap, n being what its header says the caller passes.
#include "redis/keys.hpp"
#include "redis/lua_scripts.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace {

namespace keys = tracker::redis::keys;
namespace lua = tracker::redis::lua;

const std::vector<std::string> kFixedNames = {
    std::string(keys::kStream),      std::string(keys::kBacklog),         std::string(keys::kInstance),
    std::string(keys::kLiveTotals),  std::string(keys::kLiveMinutes),     std::string(keys::kSnapshots),
    std::string(keys::kLiveMinuteIndex), std::string(keys::kRankingVersions),
};

// One name of each kind keys.hpp makes.
const std::vector<std::string> kMadeNames = {
    keys::snapshot_totals("id"),      keys::snapshot_minutes("id"),    keys::snapshot_minute_index("id"),
    keys::ranking_hour("LIKE", 0),    keys::ranking_hour(keys::kKeywordRanking, 0),
    keys::minute_count("CLICK", 0),   keys::unique_users("CLICK", "2026-01-01"),
    keys::standing_likes(1, "2"),     keys::dedup("client-id"),        keys::recent_keywords(1),
    keys::search_result(10, "cats"),  keys::search_lock(10, "cats"),
};

// The script's code without its comments (no script puts "--" inside a string).
std::string code_of(std::string_view script) {
  std::string code;
  std::size_t start = 0;
  while (start < script.size()) {
    auto stop = script.find('\n', start);
    if (stop == std::string_view::npos) stop = script.size();
    std::string_view line = script.substr(start, stop - start);
    if (auto comment = line.find("--"); comment != std::string_view::npos) line = line.substr(0, comment);
    code.append(line);
    code.push_back('\n');
    start = stop + 1;
  }
  return code;
}

// The string literals in the code that name keys ("et:...").
std::vector<std::string> key_literals(const std::string& code) {
  std::vector<std::string> literals;
  const std::regex literal(R"re('(et:[^']*)'|"(et:[^"]*)")re");
  for (auto it = std::sregex_iterator(code.begin(), code.end(), literal); it != std::sregex_iterator(); ++it) {
    literals.push_back((*it)[1].matched ? (*it)[1].str() : (*it)[2].str());
  }
  return literals;
}

bool is_fixed_name(const std::string& name) {
  for (const auto& fixed : kFixedNames) {
    if (name == fixed) return true;
  }
  return false;
}

// "et:kind:" or longer, and the start of a name keys.hpp makes or fixes.
bool is_name_prefix(const std::string& prefix) {
  if (prefix.back() != ':' || std::count(prefix.begin(), prefix.end(), ':') < 2) return false;
  for (const auto* names : {&kMadeNames, &kFixedNames}) {
    for (const auto& name : *names) {
      if (name.size() > prefix.size() && name.starts_with(prefix)) return true;
    }
  }
  return false;
}

TEST(LuaKeys, EveryKeyAScriptSpellsIsNamedInKeysHpp) {
  std::size_t checked = 0;
  for (const auto& [script, text] : lua::kAll) {
    for (const std::string& literal : key_literals(code_of(text))) {
      ++checked;
      EXPECT_TRUE(is_fixed_name(literal) || is_name_prefix(literal))
          << script << ".lua spells '" << literal << "', which redis/keys.hpp neither names nor makes";
    }
  }
  EXPECT_GT(checked, 10u);  // the scan finds the scripts' key names at all
}

TEST(LuaKeys, TheCheckCatchesANameKeysHppDoesNotKnow) {
  EXPECT_EQ(key_literals(code_of("redis.call('GET', 'et:backlogs') -- 'et:ignored'\n")),
            std::vector<std::string>{"et:backlogs"});
  EXPECT_FALSE(is_fixed_name("et:backlogs"));
  EXPECT_FALSE(is_name_prefix("et:"));
  EXPECT_FALSE(is_name_prefix("et:nothing:"));
  EXPECT_TRUE(is_name_prefix("et:totals:"));
  EXPECT_TRUE(is_name_prefix("et:dedup:"));
}

// The KEYS a script reads, and the count its header documents ("KEYS[1] = ..., KEYS[2] = ...").
std::set<int> indexes(const std::string& text, const std::string& array) {
  std::set<int> found;
  const std::regex index(array + R"(\[([0-9]+)\])");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), index); it != std::sregex_iterator(); ++it) {
    found.insert(std::stoi((*it)[1].str()));
  }
  return found;
}

std::string header_of(std::string_view script) {
  std::string header;
  std::size_t start = 0;
  while (start < script.size() && script.substr(start, 2) == "--") {
    auto stop = script.find('\n', start);
    if (stop == std::string_view::npos) stop = script.size();
    header.append(script.substr(start, stop - start));
    header.push_back('\n');
    start = stop + 1;
  }
  return header;
}

TEST(LuaKeys, AScriptReadsExactlyTheKeysItsHeaderSaysItIsPassed) {
  for (const auto& [script, text] : lua::kAll) {
    const std::set<int> read = indexes(code_of(text), "KEYS");
    const std::set<int> documented = indexes(header_of(text), "KEYS");
    EXPECT_EQ(read, documented) << script << ".lua";
    int expected = 1;
    for (int index : read) EXPECT_EQ(index, expected++) << script << ".lua skips KEYS[" << expected - 1 << "]";
  }
}

}  // namespace
