// The ingest script (EventStore) against a real Redis (TRACKER_REDIS_HOST / _PORT): one
// call mixes events whose effects the server sums in advance with events the script
// checks one by one (a client eventId, an UNLIKE, a LIKE after one on the same post).
// Whatever the mix, each event that is not a repeat is stored once, counted once, and
// its like balance and recent keyword are applied in the order the events came.
#include "domain/event_id.hpp"
#include "domain/time_format.hpp"
#include "ports/errors.hpp"
#include "redis/event_store.hpp"
#include "redis/keys.hpp"
#include "redis/statistics_reader.hpp"
#include "ingest_engines.hpp"
#include "redis_support.hpp"

#include <boost/asio/detached.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace ports = tracker::ports;
namespace domain = tracker::domain;
namespace keys = tracker::redis::keys;
using namespace std::chrono_literals;
using domain::EventType;
using tracker::redis::Connection;
using tracker::redis::Reply;

using tracker::testing::now_ms;
using tracker::testing::unique_number;

struct Events {
  domain::EventIdGenerator ids;
  std::int64_t component = unique_number(800'000'000);
  std::int64_t user = unique_number(900'000'000);
  std::string run = tracker::testing::unique_key("event-store");

  domain::Event make(EventType type, std::optional<std::int64_t> post = std::nullopt,
                     std::optional<std::string> keyword = std::nullopt,
                     std::optional<std::string> client_event_id = std::nullopt) {
    domain::Event event;
    event.server_time_ms = now_ms();
    event.event_time_ms = event.server_time_ms;
    event.id = ids.next(event.server_time_ms);
    event.type = type;
    event.user_id = user;
    event.session_id = run;
    event.component_id = component;
    event.post_id = post;
    event.keyword = std::move(keyword);
    event.client_event_id = std::move(client_event_id);
    return event;
  }
};

using tracker::testing::run;
using tracker::testing::words;

// COPY rows of the stream entries added after `mark` that carry `text`.
asio::awaitable<std::vector<std::string>> rows_with(Connection& redis, const std::string& mark,
                                                    const std::string& text) {
  auto reply_command = words("XRANGE", keys::stream(keys::shard_tag(0)), "(" + mark, "+");
  Reply reply = co_await run(redis, std::move(reply_command));
  std::vector<std::string> rows;
  for (const Reply& entry : reply.elements) {
    const auto& fields = entry.elements.at(1).elements;
    for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
      EXPECT_EQ(fields[i].text, "rows");
      std::string_view block = fields[i + 1].text;
      while (!block.empty()) {
        auto end = block.find('\n');
        std::string row(block.substr(0, end));
        if (row.find(text) != std::string::npos) rows.push_back(row);
        if (end == std::string_view::npos) break;
        block.remove_prefix(end + 1);
      }
    }
  }
  co_return rows;
}

asio::awaitable<std::string> stream_mark(Connection& redis) {
  auto last_command = words("XREVRANGE", keys::stream(keys::shard_tag(0)), "+", "-", "COUNT", "1");
  Reply last = co_await run(redis, std::move(last_command));
  co_return last.elements.empty() ? std::string("0-0") : last.elements.front().elements.at(0).text;
}

// All-time counts still in Redis (live hash and snapshots) for the run's component.
asio::awaitable<std::map<std::string, std::int64_t>> counts(tracker::redis::StatisticsReader& reader,
                                                            std::vector<ports::CounterKey> wanted) {
  const std::vector<std::string> none;
  auto reading = co_await reader.totals(wanted, none);
  std::map<std::string, std::int64_t> out;
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    std::int64_t sum = reading.live.at(i);
    for (const auto& snapshot : reading.snapshots) sum += snapshot.values.at(i);
    out[wanted[i].event_type + "|" + std::to_string(wanted[i].post_id) + "|" + wanted[i].keyword] = sum;
  }
  co_return out;
}

template <class Body>
void with_store(Body body, tracker::redis::EventStoreOptions options = {}) {
  asio::io_context io;
  tracker::metrics::Registry metrics;
  auto connection = Connection::create(io.get_executor(), tracker::testing::options(), metrics);
  tracker::redis::EventStore store(connection, options, metrics);
  tracker::redis::StatisticsReader reader(connection, metrics);
  connection->start();
  std::exception_ptr error;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await tracker::testing::wait_connected(*connection);
        co_await body(*connection, store, reader);
      },
      [&](std::exception_ptr e) {
        error = e;
        connection->stop();
      });
  io.run();
  if (error) std::rethrow_exception(error);
}

// Posts of the mixed call (standing likes are per component and post).
constexpr std::int64_t liked = 1, unliked_first = 2, liked_twice = 3;

// Built outside the coroutine: GCC 12 miscompiles initializer lists inside one.
std::vector<domain::Event> mixed_call(Events& e, const std::string& repeat_id) {
  return {
      e.make(EventType::Click),                                          // summed
      e.make(EventType::Search, std::nullopt, "alpha"),                  // summed
      e.make(EventType::Like, liked),                                    // summed: balance 1
      e.make(EventType::Unlike, liked),                                  // checked: balance 0
      e.make(EventType::Like, liked),                                    // checked (after the UNLIKE): 1
      e.make(EventType::Search, std::nullopt, "repeated", repeat_id),    // a repeat: nothing
      e.make(EventType::Unlike, unliked_first),                          // nothing to undo
      e.make(EventType::Like, unliked_first),                            // checked: balance 1
      e.make(EventType::Like, liked_twice),                              // summed
      e.make(EventType::Like, liked_twice),                              // summed: balance 2
      e.make(EventType::Unlike, liked_twice),                            // checked: balance 1
      e.make(EventType::Search, std::nullopt, "beta", e.run + ":beta"),  // checked, new
      e.make(EventType::Click),                                          // summed
      e.make(EventType::Search, std::nullopt, "alpha"),                  // summed, moves to the front
  };
}

std::vector<ports::CounterKey> mixed_call_counters(const Events& e) {
  return {{"CLICK", e.component, 0, ""},          {"SEARCH", e.component, 0, ""},
          {"SEARCH", e.component, 0, "alpha"},    {"SEARCH", e.component, 0, "repeated"},
          {"LIKE", e.component, liked, ""},       {"LIKE", e.component, unliked_first, ""},
          {"LIKE", e.component, liked_twice, ""}, {"UNLIKE", e.component, 0, ""},
          {"LIKE", e.component, 0, ""}};
}

std::vector<std::string> newest_first(std::string a, std::string b, std::string c) { return {a, b, c}; }

class EventStore : public tracker::testing::IngestEngineTest {};
TRACKER_WITH_BOTH_INGEST_ENGINES(EventStore);

TEST_P(EventStore, OneCallMixingSummedAndCheckedEventsKeepsTheirOrderAndCountsEachOnce) {
  with_store([](Connection& redis, tracker::redis::EventStore& store,
                tracker::redis::StatisticsReader& reader) -> asio::awaitable<void> {
    Events e;
    const std::string repeat_id = e.run + ":search";
    {
      // Stored once before, so that its second copy in the call below is a repeat.
      std::vector<domain::Event> first;
      first.push_back(e.make(EventType::Search, std::nullopt, "first", repeat_id));
      auto stored = co_await store.append(first);
      EXPECT_FALSE(stored.at(0).duplicate);
    }
    const std::string mark = co_await stream_mark(redis);

    std::vector<domain::Event> call = mixed_call(e, repeat_id);
    auto stored = co_await store.append(call);
    EXPECT_EQ(stored.size(), call.size());
    if (stored.size() != call.size()) co_return;
    for (std::size_t i = 0; i < call.size(); ++i) {
      const bool repeat = i == 5;
      EXPECT_EQ(stored[i].duplicate, repeat) << i;
      if (!repeat) {
        EXPECT_EQ(stored[i].event_id, call[i].id) << i;
      }
    }

    // Each stored event's row is in the stream once; the repeat's is not.
    auto rows = co_await rows_with(redis, mark, e.run);
    EXPECT_EQ(rows.size(), call.size() - 1);
    for (std::size_t i = 0; i < call.size(); ++i) {
      auto found = std::count_if(rows.begin(), rows.end(), [&](const std::string& row) { return row.starts_with(call[i].id + "\t"); });
      EXPECT_EQ(found, i == 5 ? 0 : 1) << i;
    }

    // Standing likes, in the order the events came.
    auto balance = [&](std::int64_t post) -> asio::awaitable<std::int64_t> {
      auto length_command = words("LLEN", keys::standing_likes(keys::shard_tag(0), e.component, std::to_string(post)));
      Reply length = co_await run(redis, std::move(length_command));
      co_return length.as_int();
    };
    EXPECT_EQ(co_await balance(liked), 1);
    EXPECT_EQ(co_await balance(unliked_first), 1);
    EXPECT_EQ(co_await balance(liked_twice), 1);

    // Counts: an UNLIKE that undid a like took it back from the LIKE counts.
    std::vector<ports::CounterKey> wanted = mixed_call_counters(e);
    auto counted = co_await counts(reader, std::move(wanted));
    EXPECT_EQ(counted["CLICK|0|"], 2);
    EXPECT_EQ(counted["SEARCH|0|"], 4);  // first, alpha, beta, alpha; not the repeat
    EXPECT_EQ(counted["SEARCH|0|alpha"], 2);
    EXPECT_EQ(counted["SEARCH|0|repeated"], 0);
    EXPECT_EQ(counted["LIKE|" + std::to_string(liked) + "|"], 1);
    EXPECT_EQ(counted["LIKE|" + std::to_string(unliked_first) + "|"], 1);
    EXPECT_EQ(counted["LIKE|" + std::to_string(liked_twice) + "|"], 1);
    EXPECT_EQ(counted["UNLIKE|0|"], 3);
    EXPECT_EQ(counted["LIKE|0|"], 3);

    // Recent keywords: newest first, no duplicates, the repeat's keyword absent.
    auto recent_command = words("LRANGE", keys::recent_keywords(keys::shard_tag(0), e.user), "0", "-1");
    Reply recent = co_await run(redis, std::move(recent_command));
    std::vector<std::string> keywords;
    for (const Reply& item : recent.elements) keywords.push_back(item.text);
    EXPECT_EQ(keywords, newest_first("alpha", "beta", "first"));
  }, store_options());
}

TEST_P(EventStore, ConcurrentRequestsStoredTogetherEachGetTheirOwnAnswers) {
  with_store([](Connection& redis, tracker::redis::EventStore& store,
                tracker::redis::StatisticsReader& reader) -> asio::awaitable<void> {
    Events e;
    const std::string mark = co_await stream_mark(redis);
    constexpr int kRequests = 40;
    std::vector<std::vector<domain::Event>> requests;
    for (int i = 0; i < kRequests; ++i) {
      // Every fourth request repeats the eventId of the one before it.
      std::string client_id = e.run + ":" + std::to_string(i % 4 == 3 ? i - 1 : i);
      std::optional<std::string> dedup;
      if (i % 4 >= 2) dedup = client_id;
      requests.emplace_back(1, e.make(i % 2 ? EventType::PageView : EventType::Like, 7, std::nullopt, dedup));
    }
    std::vector<std::vector<ports::StoredEvent>> answers(kRequests);
    int done = 0;
    auto executor = co_await asio::this_coro::executor;
    for (int i = 0; i < kRequests; ++i) {
      // Spawned in one turn of the event loop, so the store groups them into one call.
      asio::co_spawn(
          executor,
          [&, i]() -> asio::awaitable<void> {
            answers[i] = co_await store.append(requests[i]);
            ++done;
          },
          asio::detached);
    }
    asio::steady_timer timer(executor);
    for (int waited = 0; done < kRequests && waited < 300; ++waited) {
      timer.expires_after(10ms);
      co_await timer.async_wait(asio::use_awaitable);
    }
    EXPECT_EQ(done, kRequests);
    if (done < kRequests) co_return;
    int repeats = 0;
    for (int i = 0; i < kRequests; ++i) {
      const bool repeat = i % 4 == 3;
      repeats += repeat;
      EXPECT_EQ(answers[i].at(0).duplicate, repeat) << i;
      EXPECT_EQ(answers[i].at(0).event_id, repeat ? requests[i - 1][0].id : requests[i][0].id) << i;
    }
    auto rows = co_await rows_with(redis, mark, e.run);
    EXPECT_EQ(static_cast<int>(rows.size()), kRequests - repeats);
    std::vector<ports::CounterKey> wanted;
    wanted.push_back({"LIKE", e.component, 7, ""});
    wanted.push_back({"PAGE_VIEW", e.component, 7, ""});
    auto counted = co_await counts(reader, std::move(wanted));
    EXPECT_EQ(counted["LIKE|7|"], kRequests / 2);
    EXPECT_EQ(counted["PAGE_VIEW|7|"], kRequests / 2 - repeats);
  }, store_options());
}

// The LIKE series of one post per minute over [from, to), live hash and snapshots summed.
asio::awaitable<std::vector<std::int64_t>> like_minutes(tracker::redis::StatisticsReader& reader, const Events& e,
                                                        std::int64_t post, std::int64_t from, std::int64_t to) {
  const std::vector<std::string> none;
  ports::CounterKey key;
  key.event_type = "LIKE";
  key.component_id = e.component;
  key.post_id = post;
  auto reading = co_await reader.buckets(key, from, to, domain::kMinuteMs, none);
  std::vector<std::int64_t> sums = reading.live;
  for (const auto& snapshot : reading.snapshots) {
    for (std::size_t i = 0; i < sums.size() && i < snapshot.values.size(); ++i) sums[i] += snapshot.values[i];
  }
  co_return sums;
}

std::vector<ports::CounterKey> like_counters(const Events& e, std::int64_t post) {
  return {{"LIKE", e.component, post, ""}, {"LIKE", e.component, 0, ""}};
}

domain::Event at(domain::Event event, std::int64_t time_ms) {
  event.event_time_ms = time_ms;
  event.client_time_ms = time_ms;
  return event;
}

// An UNLIKE takes back the post's most recent standing LIKE in the minute that LIKE was
// counted in (not in its own): no minute goes below zero, whichever minutes they are in.
TEST_P(EventStore, AnUnlikeTakesBackTheLatestStandingLikeInThatLikesMinute) {
  with_store([](Connection&, tracker::redis::EventStore& store,
                tracker::redis::StatisticsReader& reader) -> asio::awaitable<void> {
    Events e;
    constexpr std::int64_t post = 4;
    const std::int64_t now = now_ms();
    const std::int64_t current = domain::bucket_start(now, domain::kMinuteMs);
    const std::int64_t two_hours_ago = current - 120 * domain::kMinuteMs;
    const std::int64_t hour_ago = current - 60 * domain::kMinuteMs;
    const std::int64_t from = current - 180 * domain::kMinuteMs, to = current + 2 * domain::kMinuteMs;
    auto minute = [&](std::int64_t start) { return static_cast<std::size_t>((start - from) / domain::kMinuteMs); };

    std::vector<domain::Event> likes;
    likes.push_back(at(e.make(EventType::Like, post), two_hours_ago + 5'000));  // summed
    co_await store.append(likes);
    likes.clear();
    likes.push_back(at(e.make(EventType::Like, post), hour_ago + 5'000));
    co_await store.append(likes);
    std::vector<domain::Event> unlike;
    unlike.push_back(e.make(EventType::Unlike, post));
    co_await store.append(unlike);

    auto series = co_await like_minutes(reader, e, post, from, to);
    EXPECT_EQ(series.at(minute(two_hours_ago)), 1);
    EXPECT_EQ(series.at(minute(hour_ago)), 0);  // the latest like, taken back
    EXPECT_EQ(series.at(minute(current)), 0);   // not where the UNLIKE came
    EXPECT_TRUE(std::all_of(series.begin(), series.end(), [](std::int64_t n) { return n >= 0; }));

    // The second UNLIKE takes back the older like; the third finds none.
    unlike.clear();
    unlike.push_back(e.make(EventType::Unlike, post));
    unlike.push_back(e.make(EventType::Unlike, post));
    co_await store.append(unlike);
    series = co_await like_minutes(reader, e, post, from, to);
    EXPECT_TRUE(std::all_of(series.begin(), series.end(), [](std::int64_t n) { return n == 0; }));
    std::vector<ports::CounterKey> wanted = like_counters(e, post);
    auto counted = co_await counts(reader, std::move(wanted));
    EXPECT_EQ(counted["LIKE|4|"], 0);
    EXPECT_EQ(counted["LIKE|0|"], 0);

    // A summed LIKE and a checked UNLIKE of it in one call: taken back in the LIKE's minute.
    std::vector<domain::Event> both;
    both.push_back(at(e.make(EventType::Like, post), two_hours_ago + 5'000));
    both.push_back(e.make(EventType::Unlike, post));
    co_await store.append(both);
    series = co_await like_minutes(reader, e, post, from, to);
    EXPECT_TRUE(std::all_of(series.begin(), series.end(), [](std::int64_t n) { return n == 0; }));
  }, store_options());
}

// The test Redis has no replicas: a WAIT for one never succeeds, so every call is
// answered NotReplicated though its events are stored; the retry with the same client
// eventId is recognised as the repeat it is, and the event is stored once.
TEST_P(EventStore, NotReplicatedStillStoresTheEventAndItsRetryCountsOnce) {
  tracker::redis::EventStoreOptions options;
  options.wait_replicas = 1;
  options.wait_timeout = 20ms;
  Events e;
  const std::string client_id = e.run + ":wait";
  std::vector<domain::Event> first{e.make(EventType::Search, std::nullopt, "waited", client_id)};
  std::vector<domain::Event> retry{e.make(EventType::Search, std::nullopt, "waited", client_id)};
  std::vector<domain::Event> unwaited{e.make(EventType::Search, std::nullopt, "waited", client_id)};
  std::string mark;
  with_store(
      [&](Connection& redis, tracker::redis::EventStore& store, auto&) -> asio::awaitable<void> {
        Reply replicas = co_await run(redis, words("INFO", "replication"));
        if (replicas.text.find("connected_slaves:0") == std::string::npos) {
          ADD_FAILURE() << "this test needs a Redis without replicas";
          co_return;
        }
        mark = co_await stream_mark(redis);
        for (auto* attempt : {&first, &retry}) {
          bool refused = false;
          try {
            co_await store.append(*attempt);
          } catch (const ports::NotReplicated&) {
            refused = true;
          }
          EXPECT_TRUE(refused);
        }
        auto rows = co_await rows_with(redis, mark, e.run);
        EXPECT_EQ(rows.size(), 1u);
      },
      store_options(options));
  // Without WAIT the same eventId is a known repeat: acknowledged, nothing stored.
  with_store([&](Connection& redis, tracker::redis::EventStore& store, auto&) -> asio::awaitable<void> {
    auto stored = co_await store.append(unwaited);
    EXPECT_TRUE(stored.at(0).duplicate);
    EXPECT_EQ(stored.at(0).event_id, first.at(0).id);
    auto rows = co_await rows_with(redis, mark, e.run);
    EXPECT_EQ(rows.size(), 1u);
  }, store_options());
}

}  // namespace
