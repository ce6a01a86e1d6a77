// TRACKER.INGEST numkeys key... arg...: src/redis/lua/ingest.lua as a Redis module
// command, with the same KEYS, the same ARGV (redis/ingest_layout.hpp) and the same reply.
// The script is the specification: this file follows it step by step, in the same order,
// and says only how it does a step where that differs (docs/DESIGN.md, "The ingest module").
//
// Why: in a script call most of Redis's time went to Lua itself (interning every ARGV
// string, tables, the redis.call glue), not to the commands it ran. Here the arguments are
// read in place and the sums are kept in C++ containers.
//
// Replication and AOF: most writes go through the key API, each replicated with
// RedisModule_Replicate as a command that does the same on a replica: absolute values
// where the master computed them (HSET of hash sums, ZADD of ranking scores, XADD with the
// entry's id, expiries as PEXPIREAT or SET ... PXAT), the command itself where it is
// deterministic (INCRBY, RPUSH, RPOP, LREM, LPUSH, LTRIM). The others (SADD, PFADD,
// EXPIRE NX, ZREMRANGEBYRANK) run with RedisModule_Call("!"), replicated as Redis
// replicates them. Redis propagates a call's writes in the order they ran, in MULTI/EXEC.
#include "redis/ingest_layout.hpp"

#include "redismodule.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace {

namespace layout = tracker::redis::ingest_layout;

constexpr std::size_t kKeyCount = 7;
constexpr long long kDedupTtlMs = 86'400'000;
constexpr std::size_t kRecentLength = 10;      // a user's recent keywords kept
constexpr std::size_t kRankingSize = 1000;     // members an hourly ranking keeps
constexpr const char* kRankingKeep = "-1001";  // ZREMRANGEBYRANK 0 -1001: the 1,000 best stay

// An error the call answers with, its text as Redis sends it (code first).
struct Failure {
  std::string text;
};

std::string_view view(const RedisModuleString* string) {
  std::size_t length = 0;
  const char* data = RedisModule_StringPtrLen(string, &length);
  return {data, length};
}

std::int64_t integer(std::string_view text) {
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [stop, error] = std::from_chars(text.data(), end, value);
  if (error != std::errc{} || stop != end) {
    throw Failure{"ERR TRACKER.INGEST: not an integer: '" + std::string(text.substr(0, 64)) + "'"};
  }
  return value;
}

// ARGV, read in place; 1-based like the script's.
class Arguments {
 public:
  Arguments(RedisModuleString** argv, std::size_t count) : argv_(argv), count_(count) {}
  RedisModuleString* at(std::size_t place) const {
    if (place < 1 || place > count_) throw Failure{"ERR TRACKER.INGEST: too few arguments"};
    return argv_[place - 1];
  }
  std::string_view text(std::size_t place) const { return view(at(place)); }
  std::int64_t number(std::size_t place) const { return integer(text(place)); }
  // The next argument of a section (the script's take()).
  RedisModuleString* take() { return at(next++); }
  std::int64_t take_number() { return integer(view(take())); }

  std::size_t next = layout::kHeadCount + 1;

 private:
  RedisModuleString** argv_;
  std::size_t count_;
};

// name -> increment, in the order names first came (the script's `add` maps); names are
// strings of the call (arguments, or made by it), which outlive the map.
class Sums {
 public:
  struct Entry {
    RedisModuleString* name;
    std::int64_t increment;
  };
  void add(RedisModuleString* name, std::int64_t increment) {
    auto [found, inserted] = index_.try_emplace(view(name), entries_.size());
    if (inserted) {
      entries_.push_back({name, increment});
    } else {
      entries_[found->second].increment += increment;
    }
  }
  const std::vector<Entry>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }

 private:
  std::vector<Entry> entries_;
  std::unordered_map<std::string_view, std::size_t> index_;
};

// key -> T, in the order keys first came.
template <class T>
class PerKey {
 public:
  T& operator[](RedisModuleString* key) {
    auto [found, inserted] = index_.try_emplace(view(key), entries_.size());
    if (inserted) entries_.emplace_back(key, T{});
    return entries_[found->second].second;
  }
  const std::vector<std::pair<RedisModuleString*, T>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<RedisModuleString*, T>> entries_;
  std::unordered_map<std::string_view, std::size_t> index_;
};

class Ingest {
 public:
  Ingest(RedisModuleCtx* ctx, RedisModuleString** keys, Arguments args) : ctx_(ctx), keys_(keys), args_(args) {}
  void run();

 private:
  // RedisModule_Call; a command's error ends the call with that error, as redis.call does.
  template <class... Values>
  RedisModuleCallReply* call(const char* command, const char* format, Values... values) {
    RedisModuleCallReply* reply = RedisModule_Call(ctx_, command, format, values...);
    if (reply == nullptr) {
      throw Failure{std::string("ERR TRACKER.INGEST: ") + command + " failed: " + std::strerror(errno)};
    }
    if (RedisModule_CallReplyType(reply) == REDISMODULE_REPLY_ERROR) {
      std::size_t length = 0;
      const char* text = RedisModule_CallReplyStringPtr(reply, &length);
      throw Failure{std::string(text, length)};
    }
    return reply;
  }
  RedisModuleString* made(std::string_view text) { return RedisModule_CreateString(ctx_, text.data(), text.size()); }
  RedisModuleKey* open(RedisModuleString* name, int mode, int type);
  void note_minute(RedisModuleString* minute);
  // The script's take_sums + write_sums for a hash: the section's sums and `map`'s.
  Sums take_sums(const Sums& map);
  void write_hash_sums(RedisModuleString* key, const Sums& sums);
  // Returns whether the ranking holds more members than it keeps.
  bool write_ranking_sums(RedisModuleString* key, const Sums& sums);
  void add_stream_entry(RedisModuleString* rows);
  void push_likes(RedisModuleString* key, RedisModuleString* const* minutes, std::size_t count);
  RedisModuleString* pop_like(RedisModuleString* key);  // nullptr: no standing like
  void push_recent(RedisModuleString* key, RedisModuleString* keyword, RedisModuleString* ttl_seconds);
  void increment(RedisModuleString* key, long long by);
  // SET key id NX GET EX ttl: the id stored first under the key, or nullptr (id stored now).
  RedisModuleString* store_once(RedisModuleString* key, RedisModuleString* id);

  RedisModuleCtx* ctx_;
  RedisModuleString** keys_;  // KEYS[1..7] at keys_[0..6]
  Arguments args_;
  Sums totals_, minutes_, counters_;
  PerKey<Sums> sorted_;
  PerKey<std::vector<RedisModuleString*>> uniques_;
  std::vector<RedisModuleString*> minute_list_;
  std::unordered_set<std::string_view> minute_seen_;
};

RedisModuleKey* Ingest::open(RedisModuleString* name, int mode, int type) {
  RedisModuleKey* key = RedisModule_OpenKey(ctx_, name, mode);
  const int actual = RedisModule_KeyType(key);
  if (actual != REDISMODULE_KEYTYPE_EMPTY && actual != type) {
    RedisModule_CloseKey(key);
    throw Failure{REDISMODULE_ERRORMSG_WRONGTYPE};
  }
  return key;
}

void Ingest::note_minute(RedisModuleString* minute) {
  if (minute_seen_.insert(view(minute)).second) minute_list_.push_back(minute);
}

Sums Ingest::take_sums(const Sums& map) {
  const std::int64_t n = args_.take_number();
  const std::size_t names_at = args_.next;
  Sums sums;
  for (std::int64_t i = 0; i < n; ++i) {
    sums.add(args_.at(names_at + i), integer(args_.text(names_at + n + i)));
  }
  args_.next = names_at + 2 * std::max<std::int64_t>(n, 0);
  for (const auto& [name, increment] : map.entries()) sums.add(name, increment);
  return sums;
}

// One HSET of the sums (the script's HINCRBY or HMGET + HSET); replicated as that HSET.
void Ingest::write_hash_sums(RedisModuleString* key_name, const Sums& sums) {
  if (sums.empty()) return;
  RedisModuleKey* key = open(key_name, REDISMODULE_READ | REDISMODULE_WRITE, REDISMODULE_KEYTYPE_HASH);
  std::vector<RedisModuleString*> replicated;
  replicated.reserve(2 * sums.entries().size());
  for (const auto& [field, increment] : sums.entries()) {
    RedisModuleString* current = nullptr;
    RedisModule_HashGet(key, REDISMODULE_HASH_NONE, field, &current, nullptr);
    long long value = 0;
    if (current != nullptr) {
      if (RedisModule_StringToLongLong(current, &value) != REDISMODULE_OK) {
        RedisModule_CloseKey(key);
        throw Failure{"ERR hash value is not an integer"};
      }
      RedisModule_FreeString(ctx_, current);
    }
    RedisModuleString* sum = RedisModule_CreateStringFromLongLong(ctx_, value + increment);
    RedisModule_HashSet(key, REDISMODULE_HASH_NONE, field, sum, nullptr);
    replicated.push_back(field);
    replicated.push_back(sum);
  }
  RedisModule_CloseKey(key);
  RedisModule_Replicate(ctx_, "HSET", "sv", key_name, replicated.data(), replicated.size());
}

// One ZADD of the new scores (the script's ZINCRBY or ZMSCORE + ZADD); replicated as that ZADD.
bool Ingest::write_ranking_sums(RedisModuleString* key_name, const Sums& sums) {
  if (sums.empty()) return false;
  RedisModuleKey* key = open(key_name, REDISMODULE_READ | REDISMODULE_WRITE, REDISMODULE_KEYTYPE_ZSET);
  std::vector<RedisModuleString*> replicated;
  replicated.reserve(2 * sums.entries().size());
  for (const auto& [member, increment] : sums.entries()) {
    double score = 0;
    if (RedisModule_ZsetIncrby(key, static_cast<double>(increment), member, nullptr, &score) != REDISMODULE_OK) {
      RedisModule_CloseKey(key);
      throw Failure{"ERR resulting score is not a number (NaN)"};
    }
    char text[32];
    const int length = std::snprintf(text, sizeof text, "%.17g", score);
    replicated.push_back(made({text, static_cast<std::size_t>(length)}));
    replicated.push_back(member);
  }
  const bool over = RedisModule_ValueLength(key) > kRankingSize;
  RedisModule_CloseKey(key);
  RedisModule_Replicate(ctx_, "ZADD", "sv", key_name, replicated.data(), replicated.size());
  return over;
}

// RPUSH key minute...
void Ingest::push_likes(RedisModuleString* key_name, RedisModuleString* const* minutes, std::size_t count) {
  RedisModuleKey* key = open(key_name, REDISMODULE_READ | REDISMODULE_WRITE, REDISMODULE_KEYTYPE_LIST);
  for (std::size_t i = 0; i < count; ++i) RedisModule_ListPush(key, REDISMODULE_LIST_TAIL, minutes[i]);
  RedisModule_CloseKey(key);
  RedisModule_Replicate(ctx_, "RPUSH", "sv", key_name, minutes, count);
}

// RPOP key (replicated only when it took one, as Redis does).
RedisModuleString* Ingest::pop_like(RedisModuleString* key_name) {
  RedisModuleKey* key = open(key_name, REDISMODULE_READ | REDISMODULE_WRITE, REDISMODULE_KEYTYPE_LIST);
  RedisModuleString* taken =
      RedisModule_KeyType(key) == REDISMODULE_KEYTYPE_LIST ? RedisModule_ListPop(key, REDISMODULE_LIST_TAIL) : nullptr;
  RedisModule_CloseKey(key);
  if (taken != nullptr) RedisModule_Replicate(ctx_, "RPOP", "s", key_name);
  return taken;
}

// INCRBY key by (its TTL kept, as INCRBY keeps it).
void Ingest::increment(RedisModuleString* key_name, long long by) {
  RedisModuleKey* key = open(key_name, REDISMODULE_READ | REDISMODULE_WRITE, REDISMODULE_KEYTYPE_STRING);
  long long value = 0;
  long long expires_at = REDISMODULE_NO_EXPIRE;
  if (RedisModule_KeyType(key) == REDISMODULE_KEYTYPE_STRING) {
    std::size_t length = 0;
    const char* text = RedisModule_StringDMA(key, &length, REDISMODULE_READ);
    auto [stop, error] = std::from_chars(text, text + length, value);
    if (error != std::errc{} || stop != text + length) {
      RedisModule_CloseKey(key);
      throw Failure{"ERR value is not an integer or out of range"};
    }
    expires_at = RedisModule_GetAbsExpire(key);
  }
  RedisModule_StringSet(key, RedisModule_CreateStringFromLongLong(ctx_, value + by));
  if (expires_at != REDISMODULE_NO_EXPIRE) RedisModule_SetAbsExpire(key, expires_at);
  RedisModule_CloseKey(key);
  RedisModule_Replicate(ctx_, "INCRBY", "sl", key_name, by);
}

// Replicated as Redis replicates a SET that stored: SET key id PXAT <when it expires>.
RedisModuleString* Ingest::store_once(RedisModuleString* key_name, RedisModuleString* id) {
  RedisModuleKey* key = open(key_name, REDISMODULE_READ | REDISMODULE_WRITE, REDISMODULE_KEYTYPE_STRING);
  if (RedisModule_KeyType(key) == REDISMODULE_KEYTYPE_STRING) {
    std::size_t length = 0;
    const char* text = RedisModule_StringDMA(key, &length, REDISMODULE_READ);
    RedisModuleString* first = made({text, length});
    RedisModule_CloseKey(key);
    return first;
  }
  RedisModule_StringSet(key, id);
  RedisModule_SetExpire(key, kDedupTtlMs);
  const long long expires_at = RedisModule_GetAbsExpire(key);
  RedisModule_CloseKey(key);
  RedisModule_Replicate(ctx_, "SET", "sscl", key_name, id, "PXAT", expires_at);
  return nullptr;
}

// LREM key 0 keyword, LPUSH key keyword, LTRIM key 0 9 past 10, EXPIRE key ttl: each
// replicated as Redis replicates it (LREM when it removed any, LTRIM when it trimmed, the
// expiry as PEXPIREAT).
void Ingest::push_recent(RedisModuleString* key_name, RedisModuleString* keyword, RedisModuleString* ttl_seconds) {
  const std::int64_t ttl = integer(view(ttl_seconds));
  RedisModuleKey* key = open(key_name, REDISMODULE_READ | REDISMODULE_WRITE, REDISMODULE_KEYTYPE_LIST);
  bool removed = false;
  const std::string_view wanted = view(keyword);
  for (long i = static_cast<long>(RedisModule_ValueLength(key)) - 1; i >= 0; --i) {
    RedisModuleString* item = RedisModule_ListGet(key, i);
    const bool same = item != nullptr && view(item) == wanted;
    if (item != nullptr) RedisModule_FreeString(ctx_, item);
    if (same) {
      RedisModule_ListDelete(key, i);
      removed = true;
    }
  }
  RedisModule_ListPush(key, REDISMODULE_LIST_HEAD, keyword);
  bool trimmed = false;
  while (RedisModule_ValueLength(key) > kRecentLength) {
    RedisModule_FreeString(ctx_, RedisModule_ListPop(key, REDISMODULE_LIST_TAIL));
    trimmed = true;
  }
  long long expires_at = -1;
  if (ttl > 0) {
    RedisModule_SetExpire(key, ttl * 1000);
    expires_at = RedisModule_GetAbsExpire(key);
  }
  RedisModule_CloseKey(key);
  if (removed) RedisModule_Replicate(ctx_, "LREM", "scs", key_name, "0", keyword);
  RedisModule_Replicate(ctx_, "LPUSH", "ss", key_name, keyword);
  if (trimmed) RedisModule_Replicate(ctx_, "LTRIM", "scc", key_name, "0", "9");
  if (ttl > 0) {
    RedisModule_Replicate(ctx_, "PEXPIREAT", "sl", key_name, expires_at);
  } else {
    call("EXPIRE", "!ss", key_name, ttl_seconds);  // deletes the key, as in the script
  }
}

// XADD stream * rows <rows>, replicated with the id the entry got.
void Ingest::add_stream_entry(RedisModuleString* rows) {
  RedisModuleKey* key = open(keys_[0], REDISMODULE_READ | REDISMODULE_WRITE, REDISMODULE_KEYTYPE_STREAM);
  RedisModuleString* field[2] = {made("rows"), rows};
  RedisModuleStreamID id{};
  const int added = RedisModule_StreamAdd(key, REDISMODULE_STREAM_ADD_AUTOID, &id, field, 1);
  RedisModule_CloseKey(key);
  if (added != REDISMODULE_OK) throw Failure{"ERR TRACKER.INGEST: the stream entry could not be added"};
  char text[48];
  const int length = std::snprintf(text, sizeof text, "%llu-%llu", static_cast<unsigned long long>(id.ms),
                                   static_cast<unsigned long long>(id.seq));
  RedisModule_Replicate(ctx_, "XADD", "sbss", keys_[0], text, static_cast<std::size_t>(length), field[0], rows);
}

void Ingest::run() {
  RedisModuleString* const backlog_key = keys_[1];
  RedisModuleString* const totals_key = keys_[2];
  RedisModuleString* const minutes_key = keys_[3];
  RedisModuleString* const minute_index_key = keys_[4];
  RedisModuleString* const versions_key = keys_[5];
  const std::string_view dedup_prefix = view(keys_[6]);
  RedisModuleString* const recent_ttl = args_.at(layout::kHeadRecentTtl);
  const std::int64_t high_water = args_.number(layout::kHeadHighWater);
  const std::int64_t checked_count = std::max<std::int64_t>(args_.number(layout::kHeadCheckedCount), 0);
  const std::int64_t summed_count = args_.number(layout::kHeadSummedCount);
  RedisModuleString* const summed_rows = args_.at(layout::kHeadSummedRows);

  std::int64_t backlog = 0;
  {
    RedisModuleKey* key = open(backlog_key, REDISMODULE_READ, REDISMODULE_KEYTYPE_STRING);
    if (RedisModule_KeyType(key) == REDISMODULE_KEYTYPE_STRING) {
      std::size_t length = 0;
      const char* text = RedisModule_StringDMA(key, &length, REDISMODULE_READ);
      backlog = integer({text, length});
    }
    RedisModule_CloseKey(key);
  }
  if (high_water > 0 && backlog + checked_count + summed_count > high_water) {
    throw Failure{"BACKLOG unpersisted events are past the high-water mark"};
  }

  // Standing likes of the summed LIKEs: one RPUSH per key.
  {
    PerKey<std::vector<RedisModuleString*>> liked;
    for (std::int64_t n = args_.take_number(), i = 0; i < n; ++i) {
      RedisModuleString* key = args_.take();
      liked[key].push_back(args_.take());
    }
    for (const auto& [key, minutes] : liked.entries()) push_likes(key, minutes.data(), minutes.size());
  }

  std::vector<RedisModuleString*> rows;
  if (summed_count > 0) rows.push_back(summed_rows);
  std::vector<RedisModuleString*> result(checked_count);
  std::vector<bool> repeated(checked_count + 1, false);  // by checked_index (1-based)
  for (std::int64_t i = 0; i < checked_count; ++i) {
    const std::size_t a = args_.next;
    RedisModuleString* id = args_.at(a + layout::kCheckedId);
    const std::string_view dedup = args_.text(a + layout::kCheckedDedupId);
    const std::string_view type = args_.text(a + layout::kCheckedType);
    RedisModuleString* user = args_.at(a + layout::kCheckedUserId);
    RedisModuleString* post = args_.at(a + layout::kCheckedPostId);
    RedisModuleString* keyword = args_.at(a + layout::kCheckedKeyword);
    RedisModuleString* row = args_.at(a + layout::kCheckedCopyRow);
    RedisModuleString* likes_key = args_.at(a + layout::kCheckedLikesKey);
    RedisModuleString* minute_key = args_.at(a + layout::kCheckedMinuteKey);
    RedisModuleString* users_key = args_.at(a + layout::kCheckedUsersKey);
    RedisModuleString* keywords_key = args_.at(a + layout::kCheckedKeywordsKey);
    RedisModuleString* top_key = args_.at(a + layout::kCheckedTopKey);
    RedisModuleString* minute = args_.at(a + layout::kCheckedMinute);
    const std::int64_t shape_count = std::max<std::int64_t>(args_.number(a + layout::kCheckedShapeCount), 0);
    const std::size_t shapes_at = a + layout::kCheckedFields;
    std::size_t next = shapes_at + layout::kShapeWidth * shape_count;
    RedisModuleString* like_top_key = nullptr;
    std::size_t like_shapes_at = 0;
    std::int64_t like_shape_count = 0;
    const bool unlike = type == "UNLIKE";
    if (unlike) {
      like_top_key = args_.at(next + layout::kUnlikeTopKey);
      like_shape_count = std::max<std::int64_t>(args_.number(next + layout::kUnlikeShapeCount), 0);
      like_shapes_at = next + layout::kUnlikeFields;
      next = like_shapes_at + like_shape_count;
    }
    args_.next = next;

    RedisModuleString* first_id = nullptr;
    if (!dedup.empty()) {
      std::string dedup_key(dedup_prefix);
      dedup_key += dedup;
      first_id = store_once(made(dedup_key), id);
    }
    if (first_id != nullptr) {
      result[i] = first_id;
      repeated[i + 1] = true;
      continue;
    }
    result[i] = id;
    rows.push_back(row);
    note_minute(minute);
    for (std::int64_t s = 0; s < shape_count; ++s) {
      const std::size_t at = shapes_at + layout::kShapeWidth * s;
      totals_.add(args_.at(at + layout::kShapeTotalField), 1);
      minutes_.add(args_.at(at + layout::kShapeMinuteField), 1);
    }
    if (!view(top_key).empty()) sorted_[top_key].add(post, 1);
    counters_.add(minute_key, 1);
    if (!view(users_key).empty()) uniques_[users_key].push_back(user);
    if (type == "LIKE") {
      push_likes(likes_key, &minute, 1);
    } else if (unlike) {
      if (RedisModuleString* taken = pop_like(likes_key)) {
        note_minute(taken);
        for (std::int64_t s = 0; s < like_shape_count; ++s) {
          RedisModuleString* field = args_.at(like_shapes_at + s);
          totals_.add(field, -1);
          std::string minute_field(view(field));
          minute_field += '|';
          minute_field += view(taken);
          minutes_.add(made(minute_field), -1);
        }
        if (!view(like_top_key).empty()) sorted_[like_top_key].add(post, -1);
      }
    }
    if (!view(keywords_key).empty()) sorted_[keywords_key].add(keyword, 1);
  }

  write_hash_sums(totals_key, take_sums(totals_));
  write_hash_sums(minutes_key, take_sums(minutes_));
  for (std::int64_t n = args_.take_number(), i = 0; i < n; ++i) note_minute(args_.take());
  for (std::int64_t n = args_.take_number(), i = 0; i < n; ++i) {
    RedisModuleString* key = args_.take();
    counters_.add(key, args_.take_number());
  }
  for (std::int64_t n = args_.take_number(), i = 0; i < n; ++i) {
    RedisModuleString* key = args_.take();
    for (std::int64_t m = args_.take_number(), j = 0; j < m; ++j) {
      RedisModuleString* member = args_.take();
      sorted_[key].add(member, args_.take_number());
    }
  }
  for (std::int64_t n = args_.take_number(), i = 0; i < n; ++i) {
    std::vector<RedisModuleString*>& users = uniques_[args_.take()];
    for (std::int64_t m = args_.take_number(), j = 0; j < m; ++j) users.push_back(args_.take());
  }
  for (std::int64_t n = args_.take_number(), i = 0; i < n; ++i) {
    const std::int64_t checked_index = args_.take_number();
    RedisModuleString* recent_key = args_.take();
    RedisModuleString* keyword = args_.take();
    const bool was_repeated =
        checked_index >= 1 && checked_index <= checked_count && repeated[static_cast<std::size_t>(checked_index)];
    if (!was_repeated) push_recent(recent_key, keyword, recent_ttl);
  }

  const std::int64_t stored = summed_count + static_cast<std::int64_t>(rows.size()) - (summed_count > 0 ? 1 : 0);
  if (stored > 0) {
    if (rows.size() == 1) {
      add_stream_entry(rows.front());
    } else {
      std::string joined;
      std::size_t size = 0;
      for (RedisModuleString* row : rows) size += view(row).size() + 1;
      joined.reserve(size);
      for (std::size_t j = 0; j < rows.size(); ++j) {
        if (j > 0) joined += '\n';
        joined += view(rows[j]);
      }
      add_stream_entry(made(joined));
    }
    increment(backlog_key, stored);
  }
  if (!minute_list_.empty()) call("SADD", "!sv", minute_index_key, minute_list_.data(), minute_list_.size());
  for (const auto& [key, n] : counters_.entries()) increment(key, n);
  // The rankings' versions: one HSET for all (the script's HINCRBY per ranking); the
  // ZREMRANGEBYRANK only where it removes members.
  Sums versions;
  for (const auto& [key, members] : sorted_.entries()) {
    if (write_ranking_sums(key, members)) call("ZREMRANGEBYRANK", "!scc", key, "0", kRankingKeep);
    versions.add(key, 1);
  }
  write_hash_sums(versions_key, versions);
  for (const auto& [key, users] : uniques_.entries()) call("PFADD", "!sv", key, users.data(), users.size());
  for (std::int64_t n = args_.take_number(), i = 0; i < n; ++i) {
    RedisModuleString* key = args_.take();
    RedisModuleString* ttl = args_.take();
    call("EXPIRE", "!ssc", key, ttl, "NX");
  }

  RedisModule_ReplyWithArray(ctx_, static_cast<long>(result.size()));
  for (RedisModuleString* id : result) RedisModule_ReplyWithString(ctx_, id);
}

int ingest_command(RedisModuleCtx* ctx, RedisModuleString** argv, int argc) {
  if (argc < 2) return RedisModule_WrongArity(ctx);
  if (RedisModule_IsKeysPositionRequest(ctx)) {
    // Redis 7.0's cluster routing asks here (getkeys-api), not the key spec.
    long long numkeys = 0;
    if (RedisModule_StringToLongLong(argv[1], &numkeys) != REDISMODULE_OK) return REDISMODULE_OK;
    for (long long i = 0; i < numkeys && 2 + i < argc; ++i) RedisModule_KeyAtPos(ctx, static_cast<int>(2 + i));
    return REDISMODULE_OK;
  }
  RedisModule_AutoMemory(ctx);
  try {
    const std::int64_t numkeys = integer(view(argv[1]));
    if (numkeys != static_cast<std::int64_t>(kKeyCount) || argc < 2 + numkeys) {
      throw Failure{"ERR TRACKER.INGEST takes 7 keys (lua/ingest.lua's KEYS)"};
    }
    Ingest(ctx, argv + 2, Arguments(argv + 2 + numkeys, static_cast<std::size_t>(argc - 2 - numkeys))).run();
  } catch (const Failure& failure) {
    return RedisModule_ReplyWithError(ctx, failure.text.c_str());
  } catch (const std::exception& error) {
    return RedisModule_ReplyWithError(ctx, (std::string("ERR TRACKER.INGEST: ") + error.what()).c_str());
  }
  return REDISMODULE_OK;
}

}  // namespace

extern "C" int RedisModule_OnLoad(RedisModuleCtx* ctx, RedisModuleString** /*argv*/, int /*argc*/) {
  if (RedisModule_Init(ctx, "tracker", 1, REDISMODULE_APIVER_1) == REDISMODULE_ERR) return REDISMODULE_ERR;
  if (RedisModule_CreateCommand(ctx, "tracker.ingest", ingest_command, "write deny-oom getkeys-api", 0, 0, 0) ==
      REDISMODULE_ERR) {
    return REDISMODULE_ERR;
  }
  // The keys as EVAL declares its own (numkeys, then the keys), so that Redis Cluster
  // routes and checks the call by them, TRYAGAIN during a slot move included: a key spec
  // (COMMAND INFO, COMMAND GETKEYS, ACL) and the getkeys-api answer above (the cluster).
  static RedisModuleCommandKeySpec key_specs[] = {
      {.notes = "KEYS of lua/ingest.lua",
       .flags = REDISMODULE_CMD_KEY_RW | REDISMODULE_CMD_KEY_ACCESS | REDISMODULE_CMD_KEY_UPDATE,
       .begin_search_type = REDISMODULE_KSPEC_BS_INDEX,
       .bs = {.index = {.pos = 1}},
       .find_keys_type = REDISMODULE_KSPEC_FK_KEYNUM,
       .fk = {.keynum = {.keynumidx = 0, .firstkey = 1, .keystep = 1}}},
      {}};
  static RedisModuleCommandInfo info = {
      .version = REDISMODULE_COMMAND_INFO_VERSION,
      .summary = "Stores a group of events: src/redis/lua/ingest.lua as a command",
      .complexity = "O(N) in the arguments",
      .since = "1.0.0",
      .history = nullptr,
      .tips = nullptr,
      .arity = -2,
      .key_specs = key_specs,
      .args = nullptr,
  };
  RedisModuleCommand* command = RedisModule_GetCommand(ctx, "tracker.ingest");
  if (command == nullptr || RedisModule_SetCommandInfo(command, &info) == REDISMODULE_ERR) return REDISMODULE_ERR;
  return REDISMODULE_OK;
}
