// Query shapes through a real Redis (TRACKER_REDIS_HOST / _PORT): random events with
// nasty keywords ('*', '|', ':', the escape character, non-ASCII, 256 bytes) stored by
// the ingest script or module (EventStore, summed and checked events alike), then every shape's
// count read back exactly: live and snapshot totals (StatisticsReader), per-minute
// counts, and the deltas the flusher takes to PostgreSQL (CounterSource).
#include "domain/event_id.hpp"
#include "domain/time_format.hpp"
#include "metrics/metrics.hpp"
#include "redis/counter_source.hpp"
#include "redis/event_store.hpp"
#include "redis/statistics_reader.hpp"
#include "ingest_engines.hpp"
#include "redis_support.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace ports = tracker::ports;
namespace domain = tracker::domain;
using tracker::testing::now_ms;

// Normalised keywords, as a client may have sent them (every one non-empty).
const std::vector<std::string> kKeywords = {"*", "**", "|", "a|b", "|*", "*|", ":", "a:b", "\\", "\\*", "%2A", "'",
                                            "cats", "고양이", "ÄÖ", "🍜 ramen", std::string(256, 'x'), "a|1700000000000",
                                            "\x1f" "x"};

struct Sent {
  std::string type;
  std::int64_t component;
  std::int64_t post;    // 0: none
  std::string keyword;  // "": none
};

// The events a shape counts, by its definition (not by event_shapes).
std::int64_t expected(const std::vector<Sent>& sent, const ports::CounterKey& key) {
  std::int64_t n = 0;
  for (const Sent& e : sent) {
    n += e.type == key.event_type && e.component == key.component_id && (key.post_id == 0 || key.post_id == e.post) &&
         (key.keyword.empty() || key.keyword == e.keyword);
  }
  return n;
}

class QueryShapes : public tracker::testing::IngestEngineTest {};
TRACKER_WITH_BOTH_INGEST_ENGINES(QueryShapes);

TEST_P(QueryShapes, RandomEventsWithNastyKeywordsCountExactly) {
  using tracker::redis::Connection;
  auto body = [options = store_options()](std::shared_ptr<Connection> redis,
                                          tracker::metrics::Registry& metrics) -> asio::awaitable<void> {
    tracker::redis::EventStore store(redis, options, metrics);
    tracker::redis::CounterSource counters(redis);
    tracker::redis::StatisticsReader reader(redis, metrics);
    const std::int64_t base = tracker::testing::unique_number(800'000'000);
    const std::vector<std::int64_t> components{base, base + 1}, posts{0, base + 2, base + 3};
    const std::vector<std::string> types{"SEARCH", "CLICK", "LIKE"};
    std::mt19937_64 random(static_cast<std::uint64_t>(base));
    auto pick = [&random](const auto& items) { return items[random() % items.size()]; };
    domain::EventIdGenerator ids;
    const std::int64_t now = now_ms();
    std::vector<Sent> sent;
    std::vector<std::string> taken;  // snapshots this test took

    for (int round = 0; round < 12; ++round) {
      std::vector<domain::Event> events;
      for (int i = static_cast<int>(random() % 20) + 1; i > 0; --i) {
        domain::Event event;
        event.server_time_ms = now;
        event.event_time_ms = now;
        event.id = ids.next(now);
        event.session_id = "query-shapes-test";
        std::string type = pick(types);
        event.type = *domain::parse_event_type(type);
        event.user_id = 1 + static_cast<std::int64_t>(random() % 5);
        event.component_id = pick(components);
        std::int64_t post = type == "LIKE" ? pick(std::vector<std::int64_t>{base + 2, base + 3}) : pick(posts);
        if (post) event.post_id = post;
        std::string keyword = type == "SEARCH" || random() % 2 ? pick(kKeywords) : "";
        if (!keyword.empty()) event.keyword = keyword;
        if (random() % 4 == 0) event.client_event_id = ids.next(now);  // one by one in Lua
        events.push_back(event);
        sent.push_back({type, event.component_id, post, keyword});
      }
      co_await store.append(events);
      if (round % 5 == 2) {
        if (auto flush_id = co_await counters.take_snapshot()) taken.push_back(*flush_id);
      }
    }

    std::vector<ports::CounterKey> keys;
    for (const std::string& type : types) {
      for (std::int64_t component : components) {
        for (std::int64_t post : posts) {
          keys.push_back({type, component, post, ""});
          for (const std::string& keyword : kKeywords) keys.push_back({type, component, post, keyword});
        }
      }
    }
    auto reading = co_await reader.totals(keys, std::vector<std::string>{});
    for (std::size_t i = 0; i < keys.size(); ++i) {
      std::int64_t got = reading.live.at(i);
      for (const auto& snapshot : reading.snapshots) got += snapshot.values.at(i);
      EXPECT_EQ(got, expected(sent, keys[i]))
          << keys[i].event_type << " " << keys[i].component_id << " " << keys[i].post_id << " '" << keys[i].keyword << "'";
    }

    // Per minute: the series of a keyword of '*' and of any keyword.
    const std::int64_t minute = domain::bucket_start(now, domain::kMinuteMs);
    for (const ports::CounterKey& key : {ports::CounterKey{"SEARCH", base, 0, "*"}, ports::CounterKey{"SEARCH", base, 0, ""},
                                         ports::CounterKey{"SEARCH", base, 0, "a|1700000000000"}}) {
      auto minutes = co_await reader.buckets(key, minute - domain::kMinuteMs, minute + 2 * domain::kMinuteMs,
                                             domain::kMinuteMs, std::vector<std::string>{});
      std::int64_t got = 0;
      for (std::int64_t v : minutes.live) got += v;
      for (const auto& snapshot : minutes.snapshots) {
        for (std::int64_t v : snapshot.values) got += v;
      }
      EXPECT_EQ(got, expected(sent, key)) << "'" << key.keyword << "'";
    }

    // What the flusher takes to PostgreSQL: every snapshot's deltas, by shape.
    if (auto flush_id = co_await counters.take_snapshot()) taken.push_back(*flush_id);
    std::map<std::tuple<std::string, std::int64_t, std::int64_t, std::string>, std::int64_t> moved;
    for (const std::string& flush_id : taken) {
      auto snapshot = co_await counters.read_snapshot(flush_id);
      for (const ports::CounterDelta& d : snapshot.deltas) {
        if (d.component_id != base && d.component_id != base + 1) continue;
        moved[{d.event_type, d.component_id, d.post_id.value_or(0), d.keyword.value_or("")}] += d.delta;
      }
      co_await counters.drop_snapshot(flush_id);
    }
    for (const ports::CounterKey& key : keys) {
      auto it = moved.find({key.event_type, key.component_id, key.post_id, key.keyword});
      EXPECT_EQ(it == moved.end() ? 0 : it->second, expected(sent, key))
          << "moved " << key.event_type << " " << key.component_id << " " << key.post_id << " '" << key.keyword << "'";
    }
  };
  tracker::testing::with_shared_connection(tracker::testing::options(), body);
}

}  // namespace
