// The Lua scripts get every key name they touch from the caller (KEYS, and for names made
// per event or per snapshot, ARGV or a prefix in KEYS), so that Redis Cluster can route a
// call by its first key and all names come from redis/keys.hpp. No script spells a key
// name itself; a script that takes keys reads KEYS[1..n] with no gap, n being what its
// header says the caller passes. And every name keys.hpp makes for a shard carries that
// shard's hash tag, as the one hash tag of the name (Cluster hashes the first {...}).
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

const std::string kTag = keys::shard_tag(3);

// One name of each kind keys.hpp makes for shard 3.
const std::vector<std::string> kShardNames = {
    keys::stream(kTag),           keys::backlog(kTag),
    keys::live_totals(kTag),      keys::live_minutes(kTag),
    keys::live_minute_index(kTag), keys::snapshots(kTag),
    keys::snapshot_totals(kTag, "id"), keys::snapshot_minutes(kTag, "id"),
    keys::snapshot_minute_index(kTag, "id"), keys::snapshot_totals_prefix(kTag),
    keys::snapshot_minutes_prefix(kTag), keys::snapshot_minute_index_prefix(kTag),
    keys::ranking_versions(kTag), keys::ranking_hour(kTag, "LIKE", 0),
    keys::ranking_hour(kTag, keys::kKeywordRanking, 0), keys::minute_count(kTag, "CLICK", 0),
    keys::unique_users(kTag, "CLICK", "2026-01-01"), keys::standing_likes(kTag, 1, "2"),
    keys::dedup(kTag, "client-id"), keys::dedup_prefix(kTag), keys::recent_keywords(kTag, 1),
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

// The hash tag Redis Cluster hashes: the text between the first '{' and the next '}', when
// not empty; the whole name otherwise.
std::string hash_tag(const std::string& name) {
  auto open = name.find('{');
  if (open == std::string::npos) return name;
  auto close = name.find('}', open + 1);
  if (close == std::string::npos || close == open + 1) return name;
  return name.substr(open, close - open + 1);
}

TEST(LuaKeys, NoScriptSpellsAKeyName) {
  for (const auto& [script, text] : lua::kAll) {
    for (const std::string& literal : key_literals(code_of(text))) {
      ADD_FAILURE() << script << ".lua spells '" << literal << "': take it in KEYS (redis/keys.hpp makes it)";
    }
  }
}

TEST(LuaKeys, TheCheckFindsAKeyNameInCode) {
  EXPECT_EQ(key_literals(code_of("redis.call('GET', 'et:backlog') -- 'et:ignored'\n")),
            std::vector<std::string>{"et:backlog"});
  EXPECT_TRUE(key_literals(code_of("redis.call('GET', KEYS[1]) -- 'et:ignored'\n")).empty());
}

TEST(LuaKeys, EveryShardNameCarriesItsShardsTag) {
  for (const std::string& name : kShardNames) {
    EXPECT_EQ(hash_tag(name), "{3}") << name;
    EXPECT_TRUE(name.starts_with("et:{3}:")) << name;
  }
  EXPECT_NE(hash_tag(keys::stream(keys::shard_tag(0))), hash_tag(keys::stream(keys::shard_tag(1))));
  // The search cache's result and lock, which lua/store_search.lua touches together.
  EXPECT_EQ(hash_tag(keys::search_result(10, "cats")), hash_tag(keys::search_lock(10, "cats")));
  EXPECT_NE(hash_tag(keys::search_result(10, "cats")), hash_tag(keys::search_result(10, "dogs")));
}

// Redis Cluster routes a script call by its first key: a script given none cannot be routed.
TEST(LuaKeys, EveryScriptIsPassedItsKeys) {
  for (const auto& [script, text] : lua::kAll) {
    EXPECT_NE(code_of(text).find("KEYS"), std::string::npos) << script << ".lua takes no keys";
  }
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
