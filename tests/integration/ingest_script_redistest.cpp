// The ingest script (and the module command that does the same, ingest_engines.hpp), run on a real Redis with the arguments the server builds
// (EventStore, redis/ingest_layout.hpp): after one call, the database holds exactly the
// keys, fields, values and times to live that the call's events imply, and nothing else;
// a call that only repeats a stored event changes nothing. Each test has a database of its
// own (SELECT), emptied first, so that it sees every key the script writes.
#include "domain/event_id.hpp"
#include "domain/event_record.hpp"
#include "domain/query_shape.hpp"
#include "domain/time_format.hpp"
#include "redis/event_store.hpp"
#include "redis/errors.hpp"
#include "redis/keys.hpp"
#include "redis/lua_scripts.hpp"
#include "ingest_engines.hpp"
#include "redis_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace domain = tracker::domain;
namespace keys = tracker::redis::keys;
using namespace std::chrono_literals;
using domain::EventType;
using tracker::redis::Connection;
using tracker::redis::Reply;

// A fixed time well inside its minute, hour and day, so that all events share them.
constexpr std::int64_t kTime = 1'767'268'830'000;  // 2026-01-01T12:00:30Z
constexpr std::int64_t kComponent = 3, kUser = 7, kLikedPost = 11, kViewedPost = 12;
const std::string kMinute = std::to_string(domain::bucket_start(kTime, domain::kMinuteMs));
const std::int64_t kHour = domain::bucket_start(kTime, domain::kHourMs);
const std::string kDay = "2026-01-01";
constexpr std::int64_t kRecentTtl = 3600, kMinuteCountTtl = 7200, kRankingTtl = 8 * 86400,
                       kUniqueUsersTtl = 40 * 86400, kDedupTtl = 86400;

domain::Event make(domain::EventIdGenerator& ids, EventType type, std::optional<std::int64_t> post = std::nullopt,
                   std::optional<std::string> keyword = std::nullopt,
                   std::optional<std::string> client_event_id = std::nullopt) {
  domain::Event event;
  event.server_time_ms = kTime;
  event.event_time_ms = kTime;
  event.id = ids.next(kTime);
  event.type = type;
  event.user_id = kUser;
  event.session_id = "ingest-script";
  event.component_id = kComponent;
  event.post_id = post;
  event.keyword = std::move(keyword);
  event.client_event_id = std::move(client_event_id);
  return event;
}

// A call with both kinds of events (lua/ingest.lua): three the server sums (a CLICK, a
// LIKE, a SEARCH) and two the script checks (a PAGE_VIEW with a client eventId, and an
// UNLIKE, which takes back the LIKE). Built outside coroutines (GCC 12).
std::vector<domain::Event> mixed_call(domain::EventIdGenerator& ids) {
  std::vector<domain::Event> events;
  events.push_back(make(ids, EventType::Click, kLikedPost));
  events.push_back(make(ids, EventType::Like, kLikedPost));
  events.push_back(make(ids, EventType::Search, std::nullopt, "cats"));
  events.push_back(make(ids, EventType::PageView, kViewedPost, std::nullopt, "client-1"));
  events.push_back(make(ids, EventType::Unlike, kLikedPost));
  return events;
}

using tracker::testing::run;
using tracker::testing::words;

std::string joined(std::vector<std::string> items) {
  std::sort(items.begin(), items.end());
  std::string out;
  for (const auto& item : items) out += item + ";";
  return out;
}

const std::string kTag = keys::shard_tag(0);  // the one shard of EventStore's default

// Every key of the database, as key -> its value in one comparable text, and key -> TTL.
struct Contents {
  std::map<std::string, std::string> values;
  std::map<std::string, std::int64_t> ttls;  // -1 = none
};

asio::awaitable<Contents> read_all(Connection& redis) {
  Contents contents;
  Reply all = co_await run(redis, words("KEYS", "*"));
  for (const Reply& key_reply : all.elements) {
    const std::string key = key_reply.text;
    const std::string type = (co_await run(redis, words("TYPE", key))).text;
    std::vector<std::string> items;
    if (type == "hash") {
      Reply reply = co_await run(redis, words("HGETALL", key));
      for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
        items.push_back(reply.elements[i].text + "=" + reply.elements[i + 1].text);
      }
      contents.values[key] = "hash:" + joined(items);
    } else if (type == "zset") {
      Reply reply = co_await run(redis, words("ZRANGE", key, "0", "-1", "WITHSCORES"));
      for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
        items.push_back(reply.elements[i].text + "=" + reply.elements[i + 1].text);
      }
      contents.values[key] = "zset:" + joined(items);
    } else if (type == "set") {
      Reply reply = co_await run(redis, words("SMEMBERS", key));
      for (const Reply& member : reply.elements) items.push_back(member.text);
      contents.values[key] = "set:" + joined(items);
    } else if (type == "list") {
      Reply reply = co_await run(redis, words("LRANGE", key, "0", "-1"));
      std::string text = "list:";
      for (const Reply& item : reply.elements) text += item.text + ";";  // in order
      contents.values[key] = text;
    } else if (type == "stream") {
      Reply reply = co_await run(redis, words("XRANGE", key, "-", "+"));
      std::string text = "stream:";
      for (const Reply& entry : reply.elements) {
        text += "[";
        for (const Reply& field : entry.elements.at(1).elements) text += field.text + "/";
        text += "]";
      }
      contents.values[key] = text;
    } else if (key.find(":uu:") != std::string::npos) {  // a HyperLogLog: its count
      contents.values[key] = "hll:" + std::to_string((co_await run(redis, words("PFCOUNT", key))).as_int());
    } else {
      contents.values[key] = "string:" + (co_await run(redis, words("GET", key))).text;
    }
    contents.ttls[key] = (co_await run(redis, words("TTL", key))).as_int();
  }
  co_return contents;
}

// What the mixed call must leave, derived from its events with the domain's rules.
Contents expected_after(const std::vector<domain::Event>& call) {
  Contents expected;
  std::map<std::string, std::int64_t> totals, minutes;
  auto count_shapes = [&](std::string_view type, const domain::Event& event, std::int64_t n) {
    for (const auto& shape : domain::event_shapes(type, event.component_id, event.post_id, event.keyword)) {
      const std::string field = domain::shape_field(shape);
      totals[field] += n;
      minutes[domain::minute_field(field, kMinute)] += n;
    }
  };
  std::vector<std::string> rows;
  for (const domain::Event& event : call) {
    count_shapes(domain::to_string(event.type), event, 1);
    rows.push_back(domain::to_copy_row(event));
  }
  // The UNLIKE undoes the LIKE, in the LIKE's minute (the same one here).
  count_shapes("LIKE", call.at(4), -1);
  auto as_hash = [](const std::map<std::string, std::int64_t>& fields) {
    std::vector<std::string> items;
    for (const auto& [field, n] : fields) items.push_back(field + "=" + std::to_string(n));
    return "hash:" + joined(items);
  };
  auto set = [&expected](const std::string& key, std::string value, std::int64_t ttl) {
    expected.values[key] = std::move(value);
    expected.ttls[key] = ttl;
  };
  set(keys::live_totals(kTag), as_hash(totals), -1);
  set(keys::live_minutes(kTag), as_hash(minutes), -1);
  set(keys::live_minute_index(kTag), "set:" + kMinute + ";", -1);
  // The summed events' rows come first, as one block, then the checked ones'.
  set(keys::stream(kTag),
      "stream:[rows/" + rows[0] + "\n" + rows[1] + "\n" + rows[2] + "\n" + rows[3] + "\n" + rows[4] + "/]", -1);
  set(keys::backlog(kTag), "string:5", -1);
  for (std::string type : {"CLICK", "LIKE", "SEARCH", "PAGE_VIEW", "UNLIKE"}) {
    set(keys::minute_count(kTag, type, std::stoll(kMinute)), "string:1", kMinuteCountTtl);
    set(keys::unique_users(kTag, type, kDay), "hll:1", kUniqueUsersTtl);
  }
  const std::string liked = std::to_string(kLikedPost), viewed = std::to_string(kViewedPost);
  const std::string click_top = keys::ranking_hour(kTag, "CLICK", kHour), like_top = keys::ranking_hour(kTag, "LIKE", kHour),
                    view_top = keys::ranking_hour(kTag, "PAGE_VIEW", kHour),
                    keyword_top = keys::ranking_hour(kTag, keys::kKeywordRanking, kHour);
  set(click_top, "zset:" + liked + "=1;", kRankingTtl);
  set(like_top, "zset:" + liked + "=0;", kRankingTtl);  // liked, then unliked
  set(view_top, "zset:" + viewed + "=1;", kRankingTtl);
  set(keyword_top, "zset:cats=1;", kRankingTtl);
  set(keys::ranking_versions(kTag),
      "hash:" + joined(words(click_top + "=1", like_top + "=1", view_top + "=1", keyword_top + "=1")), -1);
  set(keys::recent_keywords(kTag, kUser), "list:cats;", kRecentTtl);
  set(keys::dedup(kTag, "client-1"), "string:" + call.at(3).id, kDedupTtl);
  // The post's standing like was added and taken back: its list is gone.
  return expected;
}

// TTLs are checked to be set and at most the one asked for (a second may pass).
void expect_same(const Contents& actual, const Contents& expected) {
  EXPECT_EQ(actual.values, expected.values);
  for (const auto& [key, ttl] : expected.ttls) {
    auto found = actual.ttls.find(key);
    if (found == actual.ttls.end()) continue;  // reported above
    if (ttl < 0) {
      EXPECT_EQ(found->second, -1) << key << " should not expire";
    } else {
      EXPECT_LE(found->second, ttl) << key;
      EXPECT_GE(found->second, ttl - 60) << key;
    }
  }
}

// Runs `body(redis, store)` with a store whose connection uses database `db`, emptied.
template <class Body>
void in_database(int db, tracker::redis::IngestEngine engine, Body body) {
  tracker::testing::with_shared_connection(
      tracker::testing::options(),
      [db, engine, &body](std::shared_ptr<Connection> connection,
                          tracker::metrics::Registry& metrics) -> asio::awaitable<void> {
        co_await run(*connection, words("SELECT", std::to_string(db)));
        co_await run(*connection, words("FLUSHDB"));
        tracker::redis::EventStoreOptions options;
        options.engine = engine;
        options.recent_keywords_ttl = std::chrono::seconds(kRecentTtl);
        tracker::redis::EventStore store(connection, options, metrics);
        co_await body(*connection, store);
        co_await run(*connection, words("FLUSHDB"));
      });
}

class IngestScript : public tracker::testing::IngestEngineTest {};
TRACKER_WITH_BOTH_INGEST_ENGINES(IngestScript);

TEST_P(IngestScript, OneCallWritesExactlyWhatItsEventsImply) {
  domain::EventIdGenerator ids;
  std::vector<domain::Event> call = mixed_call(ids);
  const Contents expected = expected_after(call);
  in_database(14, GetParam(), [&](Connection& redis, tracker::redis::EventStore& store) -> asio::awaitable<void> {
    auto stored = co_await store.append(call);
    EXPECT_EQ(stored.size(), call.size());
    for (std::size_t i = 0; i < stored.size() && i < call.size(); ++i) {
      EXPECT_EQ(stored[i].event_id, call[i].id) << i;
      EXPECT_FALSE(stored[i].duplicate) << i;
    }
    const Contents actual = co_await read_all(redis);
    expect_same(actual, expected);
  });
}

TEST_P(IngestScript, ACallThatOnlyRepeatsAStoredEventChangesNothing) {
  domain::EventIdGenerator ids;
  std::vector<domain::Event> call = mixed_call(ids);
  std::vector<domain::Event> repeat;
  repeat.push_back(make(ids, EventType::PageView, kViewedPost, std::nullopt, "client-1"));
  in_database(15, GetParam(), [&](Connection& redis, tracker::redis::EventStore& store) -> asio::awaitable<void> {
    co_await store.append(call);
    const Contents before = co_await read_all(redis);
    auto stored = co_await store.append(repeat);
    EXPECT_EQ(stored.size(), 1u);
    if (stored.size() == 1) {
      EXPECT_TRUE(stored[0].duplicate);
      EXPECT_EQ(stored[0].event_id, call.at(3).id);  // the id first stored under it
    }
    const Contents after = co_await read_all(redis);
    EXPECT_EQ(after.values, before.values);
  });
}

}  // namespace

namespace {

// Past the high-water mark both engines refuse the call with the same error and write
// nothing (EventStore turns it into ports::Overloaded by its first word).
TEST(IngestEngines, PastTheHighWaterMarkBothAnswerTheSameError) {
  if (!tracker::testing::ingest_module_loaded()) GTEST_SKIP() << "the test Redis has not loaded the module";
  // Both calls, built outside the coroutine (GCC 12): the high-water mark 50, 1 event.
  const std::vector<std::string> call_keys{keys::stream(kTag),           keys::backlog(kTag),
                                           keys::live_totals(kTag),      keys::live_minutes(kTag),
                                           keys::live_minute_index(kTag), keys::ranking_versions(kTag),
                                           keys::dedup_prefix(kTag)};
  std::vector<std::vector<std::string>> calls{{"EVAL", std::string(tracker::redis::lua::ingest)}, {"TRACKER.INGEST"}};
  for (auto& call : calls) {
    call.push_back(std::to_string(call_keys.size()));
    call.insert(call.end(), call_keys.begin(), call_keys.end());
    for (const char* value : {"3600", "50", "0", "1", "row"}) call.emplace_back(value);
  }
  tracker::testing::with_connection(tracker::testing::options(), [&](Connection& redis) -> asio::awaitable<void> {
    co_await run(redis, words("SELECT", "13"));
    co_await run(redis, words("FLUSHDB"));
    co_await run(redis, words("SET", keys::backlog(kTag), "100"));
    std::vector<std::string> errors;
    for (const auto& call : calls) {
      try {
        co_await run(redis, call);
        errors.push_back("(no error)");
      } catch (const tracker::redis::ReplyError& error) {
        errors.push_back(error.what());
      }
    }
    EXPECT_EQ(errors.at(0), "redis: BACKLOG unpersisted events are past the high-water mark");
    EXPECT_EQ(errors.at(1), errors.at(0));
    EXPECT_EQ((co_await run(redis, words("DBSIZE"))).integer, 1);
    co_await run(redis, words("FLUSHDB"));
  });
}

}  // namespace
