// The data spread over several Redis shards, against a real Redis (TRACKER_REDIS_HOST /
// _PORT), in a database of its own (SELECT), emptied first: events of many users stored
// by EventStore across 4 shards (with client eventId repeats, LIKE / UNLIKE and SEARCH),
// and every read (counts, series, unique users, per-minute counters, rankings, recent
// keywords, backlog) adding the shards up exactly, before and after each shard's counters
// are frozen into snapshots. And the move of data written under the names before shards.
#include "domain/event_id.hpp"
#include "domain/query_shape.hpp"
#include "domain/time_format.hpp"
#include "metrics/metrics.hpp"
#include "redis/connection.hpp"
#include "redis/counter_source.hpp"
#include "redis/event_store.hpp"
#include "redis/hourly_rankings.hpp"
#include "redis/keys.hpp"
#include "redis/layout_upgrade.hpp"
#include "redis/search_cache.hpp"
#include "redis/shards.hpp"
#include "redis/statistics_reader.hpp"
#include "redis_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace ports = tracker::ports;
namespace domain = tracker::domain;
namespace keys = tracker::redis::keys;
using namespace std::chrono_literals;
using tracker::redis::Connection;
using tracker::redis::Reply;
using tracker::redis::Shards;
using tracker::testing::now_ms;

constexpr std::uint32_t kShards = 4;
constexpr std::int64_t kComponent = 42;
constexpr std::int64_t kUsers = 40;

using tracker::testing::run;
using tracker::testing::words;

// Runs `body(redis, metrics)` on database `db`, emptied before and after.
template <class Body>
void in_database(int db, Body body) {
  tracker::testing::with_shared_connection(
      tracker::testing::options(),
      [db, &body](std::shared_ptr<Connection> connection, tracker::metrics::Registry& metrics) -> asio::awaitable<void> {
        co_await run(*connection, words("SELECT", std::to_string(db)));
        co_await run(*connection, words("FLUSHDB"));
        co_await body(connection, metrics);
        co_await run(*connection, words("FLUSHDB"));
      });
}

struct Events {
  domain::EventIdGenerator ids;
  std::int64_t time_ms;

  domain::Event make(domain::EventType type, std::int64_t user) {
    domain::Event event;
    event.server_time_ms = now_ms();
    event.id = ids.next(event.server_time_ms);
    event.type = type;
    event.user_id = user;
    event.session_id = "shards-" + std::to_string(user);
    event.component_id = kComponent;
    event.event_time_ms = time_ms;
    return event;
  }
  domain::Event click(std::int64_t user) {
    domain::Event event = make(domain::EventType::Click, user);
    event.post_id = 500 + user % 5;
    return event;
  }
  domain::Event search(std::int64_t user) {
    domain::Event event = make(domain::EventType::Search, user);
    event.keyword = "kw" + std::to_string(user % 3);
    event.client_event_id = "search-" + std::to_string(user);
    return event;
  }
  domain::Event like(domain::EventType type, std::int64_t user) {
    domain::Event event = make(type, user);
    event.post_id = 100 + user % 4;
    return event;
  }
};

std::int64_t sum_at(const ports::LiveReading& reading, std::size_t index) {
  std::int64_t sum = reading.live.at(index);
  for (const auto& snapshot : reading.snapshots) sum += snapshot.values.at(index);
  return sum;
}

TEST(Shards, EveryReadAddsTheShardsUpExactlyBeforeAndAfterSnapshots) {
  in_database(12, [](std::shared_ptr<Connection> redis, tracker::metrics::Registry& metrics) -> asio::awaitable<void> {
    const Shards shards(kShards);
    tracker::redis::EventStore store(redis, {}, metrics, shards);
    tracker::redis::StatisticsReader reader(redis, metrics, 2s, shards);
    tracker::redis::HourlyRankings rankings(redis, 2s, shards);
    tracker::redis::SearchCache recent(redis, 2s, shards);
    const std::int64_t minute = domain::bucket_start(now_ms(), domain::kMinuteMs);
    const std::int64_t hour = domain::bucket_start(minute, domain::kHourMs);
    const std::string day = domain::format_rfc3339_ms(minute).substr(0, 10);
    Events events{{}, minute + 1};

    // One request with every user's click spans all shards.
    std::vector<domain::Event> clicks;
    for (std::int64_t user = 1; user <= kUsers; ++user) clicks.push_back(events.click(user));
    auto stored = co_await store.append(clicks);
    EXPECT_EQ(stored.size(), clicks.size());
    for (std::size_t i = 0; i < stored.size(); ++i) EXPECT_EQ(stored[i].event_id, clicks[i].id);
    std::set<std::uint32_t> touched;
    for (const auto& event : clicks) touched.insert(shards.of_event(event));
    EXPECT_EQ(touched.size(), kShards);  // the users spread over every shard

    // Searches with client eventIds, then the same again: repeats, answered with the
    // first ids and counted once.
    std::vector<domain::Event> searches;
    for (std::int64_t user = 1; user <= kUsers; ++user) searches.push_back(events.search(user));
    auto first = co_await store.append(searches);
    std::vector<domain::Event> again;
    for (std::int64_t user = 1; user <= kUsers; ++user) again.push_back(events.search(user));
    auto repeated = co_await store.append(again);
    for (std::size_t i = 0; i < again.size(); ++i) {
      EXPECT_FALSE(first[i].duplicate);
      EXPECT_TRUE(repeated[i].duplicate);
      EXPECT_EQ(repeated[i].event_id, searches[i].id);
    }

    // Every user likes a post; every second one takes it back.
    std::vector<domain::Event> likes;
    for (std::int64_t user = 1; user <= kUsers; ++user) likes.push_back(events.like(domain::EventType::Like, user));
    co_await store.append(likes);
    std::vector<domain::Event> unlikes;
    for (std::int64_t user = 2; user <= kUsers; user += 2) unlikes.push_back(events.like(domain::EventType::Unlike, user));
    co_await store.append(unlikes);

    std::map<std::int64_t, std::int64_t> likes_per_post;
    for (std::int64_t user = 1; user <= kUsers; ++user) likes_per_post[100 + user % 4] += user % 2;
    const std::vector<ports::CounterKey> counted = {
        {"CLICK", kComponent, 0, ""},   {"SEARCH", kComponent, 0, ""}, {"SEARCH", kComponent, 0, "kw1"},
        {"LIKE", kComponent, 0, ""},    {"UNLIKE", kComponent, 0, ""}, {"LIKE", kComponent, 101, ""},
        {"LIKE", kComponent, 102, ""},  {"CLICK", kComponent, 503, ""},
    };
    const std::vector<std::int64_t> expected = {
        kUsers, kUsers, kUsers / 3 + (kUsers % 3 >= 1 ? 1 : 0), kUsers / 2, kUsers / 2,
        likes_per_post[101], likes_per_post[102], kUsers / 5};
    auto check_counts = [&](std::int64_t clicks_factor) -> asio::awaitable<void> {
      std::vector<std::int64_t> want = expected;
      want[0] *= clicks_factor;
      want[7] *= clicks_factor;
      ports::LiveReading totals = co_await reader.totals(counted, {});
      for (std::size_t i = 0; i < counted.size(); ++i) {
        EXPECT_EQ(sum_at(totals, i), want[i]) << domain::shape_field(counted[i]);
      }
      // The series: three minutes, this one in the middle.
      ports::LiveReading series =
          co_await reader.buckets(counted[0], minute - domain::kMinuteMs, minute + 2 * domain::kMinuteMs,
                                  domain::kMinuteMs, {});
      EXPECT_EQ(sum_at(series, 0), 0);
      EXPECT_EQ(sum_at(series, 1), want[0]);
      EXPECT_EQ(sum_at(series, 2), 0);
      const std::vector<std::string> types = {"CLICK", "SEARCH", "UNLIKE"};
      const std::vector<std::int64_t> per_minute = co_await reader.events_in_minute(types, minute);
      const std::vector<std::int64_t> per_minute_wanted = {want[0], kUsers, kUsers / 2};
      EXPECT_EQ(per_minute, per_minute_wanted);
    };
    co_await check_counts(1);

    // Users are disjoint over the shards: the sum of the shards' sketches (exact at
    // this size, give or take one).
    const std::int64_t users = co_await reader.unique_users("CLICK", day);
    EXPECT_NEAR(static_cast<double>(users), static_cast<double>(kUsers), 1.0);
    std::int64_t per_shard = 0;
    for (std::uint32_t shard = 0; shard < kShards; ++shard) {
      Reply count = co_await run(*redis, words("PFCOUNT", keys::unique_users(shards.tag(shard), "CLICK", day)));
      EXPECT_GT(count.as_int(), 0) << shard;
      per_shard += count.as_int();
    }
    EXPECT_EQ(users, per_shard);

    // Rankings: an hour's members summed over the shards.
    const ports::RankingHour click_hour{"CLICK", hour};
    auto versions = co_await rankings.versions();
    EXPECT_TRUE(std::any_of(versions.begin(), versions.end(), [&](const auto& v) { return v.hour == click_hour; }));
    const std::vector<ports::RankingHour> click_hours = {click_hour};
    auto members = co_await rankings.members(click_hours);
    std::map<std::string, std::int64_t> ranked;
    for (const auto& member : members.at(0)) ranked[member.member] += member.score;
    EXPECT_EQ(ranked, (std::map<std::string, std::int64_t>{
                          {"500", kUsers / 5}, {"501", kUsers / 5}, {"502", kUsers / 5}, {"503", kUsers / 5},
                          {"504", kUsers / 5}}));
    const ports::RankingHour keyword_hour{std::string(keys::kKeywordRanking), hour};
    const std::vector<ports::RankingHour> keyword_hours = {keyword_hour};
    auto keywords = co_await rankings.members(keyword_hours);
    std::int64_t searched = 0;
    for (const auto& member : keywords.at(0)) searched += member.score;
    EXPECT_EQ(searched, kUsers);  // the repeats not counted

    // A user's recent keywords are found in the user's shard.
    const std::vector<std::string> recent_of_7 = co_await recent.recent_keywords(7);
    EXPECT_EQ(recent_of_7, std::vector<std::string>{"kw1"});

    // The backlog: every stored event once, in its user's shard's stream.
    const std::int64_t stored_events = 3 * kUsers + kUsers / 2;
    EXPECT_EQ(co_await reader.backlog(), stored_events);
    for (std::uint32_t shard = 0; shard < kShards; ++shard) {
      Reply length = co_await run(*redis, words("XLEN", keys::stream(shards.tag(shard))));
      EXPECT_GT(length.as_int(), 0) << shard;
    }

    // Each shard's counters frozen: nothing changes for a reader; flush ids are unique.
    std::set<std::string> flush_ids;
    for (std::uint32_t shard = 0; shard < kShards; ++shard) {
      tracker::redis::CounterSource counters(redis, 2s, shard);
      auto flush_id = co_await counters.take_snapshot();
      EXPECT_TRUE(flush_id.has_value()) << shard;
      if (flush_id) flush_ids.insert(*flush_id);
    }
    EXPECT_EQ(flush_ids.size(), kShards);
    co_await check_counts(1);
    // More clicks go to fresh live counters, and the reads add both up.
    std::vector<domain::Event> more;
    for (std::int64_t user = 1; user <= kUsers; ++user) more.push_back(events.click(user));
    co_await store.append(more);
    co_await check_counts(2);
    // Skipping a snapshot (one the caller's PostgreSQL reading holds) leaves out its shard's part only.
    const std::vector<std::string> skip = {*flush_ids.begin()};
    ports::LiveReading skipped = co_await reader.totals(counted, skip);
    EXPECT_EQ(skipped.snapshots.size(), kShards - 1);
  });
}

TEST(Shards, AnAppendWithNoEventsIsAnsweredAtOnce) {
  in_database(12, [](std::shared_ptr<Connection> redis, tracker::metrics::Registry& metrics) -> asio::awaitable<void> {
    tracker::redis::EventStore store(redis, {}, metrics, Shards(kShards));
    auto stored = co_await store.append({});
    EXPECT_TRUE(stored.empty());
  });
}

TEST(Shards, DataUnderTheNamesBeforeShardsMovesIntoThem) {
  in_database(11, [](std::shared_ptr<Connection> redis, tracker::metrics::Registry& metrics) -> asio::awaitable<void> {
    const Shards shards(kShards);
    const std::string first = shards.tag(0);
    const std::int64_t user = 77;
    const std::string user_tag = shards.tag(shards.of_user(user));
    co_await run(*redis, words("XADD", "et:stream", "*", "rows", "a row"));
    co_await run(*redis, words("XGROUP", "CREATE", "et:stream", "flusher", "0"));
    co_await run(*redis, words("SET", "et:backlog", "1"));
    const std::string field = domain::shape_field({"CLICK", 0, 0, ""});
    co_await run(*redis, words("HSET", "et:totals:live", field, "5"));
    co_await run(*redis, words("HSET", "et:minutes:live", domain::minute_field(field, "60000"), "5"));
    co_await run(*redis, words("SADD", "et:minute-index:live", "60000"));
    co_await run(*redis, words("ZADD", "et:snapshots", "1", "old-1"));
    co_await run(*redis, words("HSET", "et:totals:snap:old-1", field, "2"));
    co_await run(*redis, words("HSET", "et:minutes:snap:old-1", domain::minute_field(field, "0"), "2"));
    co_await run(*redis, words("ZADD", "et:top:CLICK:3600000", "4", "9"));
    co_await run(*redis, words("HSET", "et:rankings:versions", "et:top:CLICK:3600000", "3"));
    co_await run(*redis, words("RPUSH", "et:liked:1:2", "60000"));
    co_await run(*redis, words("SET", "et:dedup:client-1", "some-id"));
    co_await run(*redis, words("RPUSH", "et:recent:" + std::to_string(user), "cats"));

    auto moved = co_await tracker::redis::upgrade_layout(*redis, shards, 2s);
    EXPECT_EQ(moved, 13u);  // the snapshot had no minute index
    Reply left = co_await run(*redis, words("KEYS", "et:[^{]*"));
    EXPECT_TRUE(left.elements.empty()) << left.elements.size() << " keys left under the old names";

    // The stream keeps its entries and its consumer group.
    Reply groups = co_await run(*redis, words("XINFO", "GROUPS", keys::stream(first)));
    EXPECT_EQ(groups.elements.size(), 1u);
    EXPECT_EQ((co_await run(*redis, words("XLEN", keys::stream(first)))).as_int(), 1);
    EXPECT_EQ((co_await run(*redis, words("GET", keys::backlog(first)))).as_int(), 1);
    EXPECT_EQ((co_await run(*redis, words("EXISTS", keys::snapshot_minutes(first, "old-1")))).as_int(), 1);
    EXPECT_EQ((co_await run(*redis, words("LLEN", keys::standing_likes(first, 1, "2")))).as_int(), 1);
    EXPECT_EQ((co_await run(*redis, words("LLEN", keys::recent_keywords(user_tag, user)))).as_int(), 1);

    // The readers find the moved counts and rankings.
    tracker::redis::StatisticsReader reader(redis, metrics, 2s, shards);
    const std::vector<ports::CounterKey> click{{"CLICK", 0, 0, ""}};
    EXPECT_EQ(sum_at(co_await reader.totals(click, {}), 0), 7);
    EXPECT_EQ(co_await reader.backlog(), 1);
    tracker::redis::HourlyRankings rankings(redis, 2s, shards);
    auto versions = co_await rankings.versions();
    if (versions.size() != 1u) {
      ADD_FAILURE() << versions.size() << " ranking hours";
      co_return;
    }
    EXPECT_EQ(versions[0].hour, (ports::RankingHour{"CLICK", 3'600'000}));
    EXPECT_EQ(versions[0].version, 3);
    const std::vector<ports::RankingHour> moved_hours = {versions[0].hour};
    auto members = co_await rankings.members(moved_hours);
    EXPECT_EQ(members.at(0), (std::vector<domain::Ranked>{{"9", 4}}));

    // A second start finds nothing left to move.
    EXPECT_EQ(co_await tracker::redis::upgrade_layout(*redis, shards, 2s), 0u);
  });
}

}  // namespace
