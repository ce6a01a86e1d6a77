// The search cache's rules (app/search_policy.hpp) and SearchService / PostService with
// in-memory ports: one database query per keyword however many requests arrive at once,
// stale copies while rebuilding, early refresh, shorter TTLs for empty results, and the
// SEARCH / LIKE / UNLIKE events they record.
#include "app/post_service.hpp"
#include "app/search_policy.hpp"
#include "app/search_service.hpp"
#include "ports/errors.hpp"
#include "redis/search_cache.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <functional>
#include <map>

namespace {

namespace asio = boost::asio;
namespace ports = tracker::ports;
namespace domain = tracker::domain;
namespace policy = tracker::app::search_policy;
using namespace std::chrono_literals;
using std::chrono::milliseconds;
using tracker::app::IngestService;
using tracker::app::PostService;
using tracker::app::SearchOptions;
using tracker::app::SearchService;
using tracker::metrics::Registry;

// ---------------------------------------------------------------------------------------
// Pure rules
// ---------------------------------------------------------------------------------------

TEST(SearchPolicy, JitteredTtlStaysWithinTheBand) {
  EXPECT_EQ(policy::jittered_ttl(30s, 0.2, -1.0), 24s);
  EXPECT_EQ(policy::jittered_ttl(30s, 0.2, 0.0), 30s);
  EXPECT_EQ(policy::jittered_ttl(30s, 0.2, 1.0), 36s);
  EXPECT_EQ(policy::jittered_ttl(30s, 0.2, 7.0), 36s);  // clamped
  EXPECT_EQ(policy::jittered_ttl(5s, 0.2, 0.5), 5500ms);
  EXPECT_EQ(policy::jittered_ttl(0ms, 0.2, 0.5), 1ms);
}

TEST(SearchPolicy, EarlyRefreshGrowsNearExpiry) {
  const std::int64_t expiry = 100'000;
  // r = 1: -ln(r) = 0, so never before expiry; always at or after it.
  EXPECT_FALSE(policy::refresh_early(99'999, expiry, 50, 1.0, 1.0));
  EXPECT_TRUE(policy::refresh_early(100'000, expiry, 50, 1.0, 1.0));
  EXPECT_TRUE(policy::refresh_early(200'000, expiry, 50, 1.0, 1.0));
  // r = e^-2: a gap of 2 * rebuild time * beta.
  double r = std::exp(-2.0);
  EXPECT_TRUE(policy::refresh_early(expiry - 99, expiry, 50, 1.0, r));
  EXPECT_FALSE(policy::refresh_early(expiry - 101, expiry, 50, 1.0, r));
  EXPECT_FALSE(policy::refresh_early(expiry - 199, expiry, 50, 1.0, r));
  EXPECT_TRUE(policy::refresh_early(expiry - 199, expiry, 50, 2.0, r));  // beta 2: twice as eager
  // Over many draws the share of early refreshes at a gap g is exp(-g / (delta * beta)).
  int early = 0;
  const int draws = 10'000;
  for (int i = 1; i <= draws; ++i) {
    if (policy::refresh_early(expiry - 50, expiry, 50, 1.0, static_cast<double>(i) / draws)) ++early;
  }
  EXPECT_NEAR(static_cast<double>(early) / draws, std::exp(-1.0), 0.01);
  // r = 0 is treated as tiny (-ln(r) about 690), not as -infinity.
  EXPECT_TRUE(policy::refresh_early(expiry - 1000, expiry, 50, 1.0, 0.0));
  EXPECT_FALSE(policy::refresh_early(expiry - 50000, expiry, 50, 1.0, 0.0));
}

// What an answer shows of each post: its id and like count, read from the rendered JSON.
struct Shown {
  std::int64_t id = 0;
  std::int64_t like_count = 0;
};
std::vector<Shown> shown(const domain::RenderedPosts& rendered) {
  std::vector<Shown> out;
  boost::json::value posts = boost::json::parse(rendered.json);
  for (const auto& post : posts.as_array()) {
    out.push_back({post.at("id").as_int64(), post.at("likeCount").as_int64()});
  }
  return out;
}

std::vector<domain::Post> two_posts() {
  return {{41, 7, "hi \"there\"\n", {"https://a.example/1.jpg"}, {"food", "\xEC\x84\x9C"}, domain::Visibility::Public, 3,
           1795610700000, 1795610700001},
          {42, 8, "", {}, {}, domain::Visibility::Public, 0, 1, 2}};
}

TEST(SearchCacheCodec, RoundTripKeepsTheRenderedPosts) {
  ports::CachedSearch entry{domain::render_posts(two_posts()), 1795610760123, 4};
  std::string stored = tracker::redis::encode_cached_search(entry);
  EXPECT_TRUE(boost::json::parse(stored).is_object());  // readable as JSON by anyone
  auto decoded = tracker::redis::decode_cached_search(stored);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->fresh_until_ms, entry.fresh_until_ms);
  EXPECT_EQ(decoded->rebuild_ms, 4);
  EXPECT_EQ(decoded->posts.json, entry.posts.json);
  EXPECT_EQ(decoded->posts.ends, entry.posts.ends);

  ports::CachedSearch empty{domain::render_posts({}), 7, 1};
  auto none = tracker::redis::decode_cached_search(tracker::redis::encode_cached_search(empty));
  ASSERT_TRUE(none);
  EXPECT_EQ(none->posts.json, "[]");
  EXPECT_TRUE(none->posts.empty());
}

// An entry written some other way (a person or a test editing it, another JSON writer):
// parsed in full, the posts rendered again with their ends.
TEST(SearchCacheCodec, OtherSpellingsOfAnEntryAreParsed) {
  ports::CachedSearch entry{domain::render_posts(two_posts()), 1795610760123, 4};
  boost::json::object edited = boost::json::parse(tracker::redis::encode_cached_search(entry)).as_object();
  edited.erase("ends");
  edited["fresh"] = 99;
  auto decoded = tracker::redis::decode_cached_search(boost::json::serialize(edited));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->fresh_until_ms, 99);
  EXPECT_EQ(boost::json::parse(decoded->posts.json), boost::json::parse(entry.posts.json));
  EXPECT_TRUE(decoded->posts.well_framed());
  ASSERT_EQ(decoded->posts.size(), 2u);
  decoded->posts.truncate(1);
  EXPECT_EQ(shown(decoded->posts).front().id, 41);

  // With spaces, or with ends that do not fit: the same.
  auto spaced = tracker::redis::decode_cached_search(
      R"({ "v": 2, "fresh": 5, "took": 1, "ends": [3], "posts": [ {"id": 1, "likeCount": 2} ] })");
  ASSERT_TRUE(spaced);
  EXPECT_EQ(spaced->posts.json, R"([{"id":1,"likeCount":2}])");
  EXPECT_EQ(spaced->posts.ends, (std::vector<std::size_t>{spaced->posts.json.size() - 1}));
  EXPECT_EQ(shown(spaced->posts).front().like_count, 2);
}

TEST(SearchCacheCodec, GarbageIsMissing) {
  for (const char* garbage :
       {"", "{", "[]", "null", R"({"v":1,"fresh":1,"took":1,"posts":[[1,2]]})", R"({"v":2,"posts":[]})",
        R"({"v":2,"fresh":1,"took":1,"posts":[[1,2]]})", R"({"v":2,"fresh":"1","took":1,"posts":[]})",
        R"({"v":2,"fresh":1,"took":1,"ends":[9],"posts":[{"a":1}])"}) {
    EXPECT_FALSE(tracker::redis::decode_cached_search(garbage)) << garbage;
  }
}

// ---------------------------------------------------------------------------------------
// In-memory ports
// ---------------------------------------------------------------------------------------

struct Clock {
  std::int64_t now = 1'800'000'000'000;
};

class MemoryEventStore final : public ports::EventStore {
 public:
  asio::awaitable<std::vector<ports::StoredEvent>> append(std::span<const domain::Event> events) override {
    if (fail) throw ports::StoreUnavailable("redis is down");
    std::vector<ports::StoredEvent> stored;
    for (const auto& event : events) {
      this->events.push_back(event);
      stored.push_back({event.id, false});
    }
    co_return stored;
  }
  std::vector<domain::Event> events;
  bool fail = false;
};

class MemoryPosts final : public ports::PostRepository {
 public:
  asio::awaitable<std::int64_t> create(const domain::NewPost& post) override {
    domain::Post stored;
    stored.id = static_cast<std::int64_t>(posts.size()) + 1;
    stored.user_id = post.user_id;
    stored.content = post.content;
    stored.hashtags = post.hashtags;
    posts.push_back(stored);
    co_return stored.id;
  }
  asio::awaitable<std::optional<domain::Post>> get(std::int64_t id) override {
    if (id < 1 || id > static_cast<std::int64_t>(posts.size())) co_return std::nullopt;
    co_return posts[static_cast<std::size_t>(id - 1)];
  }
  asio::awaitable<std::optional<domain::LikeState>> toggle_like(std::int64_t user, std::int64_t id) override {
    if (fail) throw ports::StoreUnavailable("postgres is down");
    if (id < 1 || id > static_cast<std::int64_t>(posts.size())) co_return std::nullopt;
    auto& post = posts[static_cast<std::size_t>(id - 1)];
    bool liked = likes[{user, id}] = !likes[{user, id}];
    post.like_count += liked ? 1 : -1;
    co_return domain::LikeState{liked, post.like_count};
  }
  // Takes `delay` (a real timer), so that concurrent requests overlap with it.
  asio::awaitable<std::vector<domain::Post>> search_by_hashtag(const std::string& tag, std::size_t limit) override {
    ++queries;
    asio::steady_timer timer(co_await asio::this_coro::executor, delay);
    co_await timer.async_wait(asio::use_awaitable);
    if (fail) throw ports::StoreUnavailable("postgres is down");
    std::vector<domain::Post> found;
    for (const auto& post : posts) {
      if (found.size() < limit && std::find(post.hashtags.begin(), post.hashtags.end(), tag) != post.hashtags.end()) {
        found.push_back(post);
      }
    }
    co_return found;
  }
  std::vector<domain::Post> posts;
  std::map<std::pair<std::int64_t, std::int64_t>, bool> likes;
  int queries = 0;
  milliseconds delay{20};
  bool fail = false;
};

// Entries and locks with expiry on the test's clock.
class MemoryCache final : public ports::SearchCache, public ports::RecentKeywords {
 public:
  explicit MemoryCache(Clock& clock) : clock_(clock) {}
  asio::awaitable<std::optional<ports::CachedSearch>> get(const std::string& keyword, std::size_t limit) override {
    ++gets;
    auto it = entries.find(key(keyword, limit));
    if (it == entries.end() || it->second.second <= clock_.now) co_return std::nullopt;
    co_return it->second.first;
  }
  asio::awaitable<std::optional<std::string>> try_lock(const std::string& keyword, std::size_t limit,
                                                       milliseconds hold) override {
    if (on_lock) on_lock();
    auto& lock = locks[key(keyword, limit)];
    if (!lock.first.empty() && lock.second > clock_.now) co_return std::nullopt;
    lock = {"token-" + std::to_string(++tokens), clock_.now + hold.count()};
    co_return lock.first;
  }
  asio::awaitable<void> store(const std::string& keyword, std::size_t limit, const ports::CachedSearch& entry,
                              milliseconds keep, const std::string& token) override {
    entries[key(keyword, limit)] = {entry, clock_.now + keep.count()};
    stored_keep.push_back(keep);
    release(key(keyword, limit), token);
    co_return;
  }
  asio::awaitable<void> unlock(const std::string& keyword, std::size_t limit, const std::string& token) override {
    release(key(keyword, limit), token);
    co_return;
  }
  asio::awaitable<std::vector<std::string>> recent_keywords(std::int64_t) override { co_return recent; }

  static std::string key(const std::string& keyword, std::size_t limit) {
    return std::to_string(limit) + ":" + keyword;
  }
  void release(const std::string& k, const std::string& token) {
    if (locks[k].first == token) locks.erase(k);
  }
  std::map<std::string, std::pair<ports::CachedSearch, std::int64_t>> entries;  // entry, kept until
  std::map<std::string, std::pair<std::string, std::int64_t>> locks;             // token, held until
  std::vector<milliseconds> stored_keep;
  std::vector<std::string> recent;
  std::function<void()> on_lock;  // runs as a lock is asked for: another request's store
  int gets = 0;
  int tokens = 0;

 private:
  Clock& clock_;
};

struct Fixture {
  Clock clock;
  Registry metrics;
  MemoryEventStore store;
  MemoryPosts posts;
  MemoryCache cache{clock};
  IngestService ingest{store, metrics, {}, [this] { return clock.now; }};
  double r = 1.0;  // the "random" draw: 1 means no early refresh
  SearchOptions options;
  std::unique_ptr<SearchService> search;

  Fixture() {
    options.ttl = 30s;
    options.empty_ttl = 5s;
    options.stale_for = 60s;
    options.ttl_jitter = 0.2;
    make_service();
    for (int i = 0; i < 3; ++i) {
      posts.posts.push_back({i + 1, 100 + i, "post " + std::to_string(i), {}, {"food"}, domain::Visibility::Public,
                             0, clock.now, clock.now});
    }
  }
  void make_service() {
    search = std::make_unique<SearchService>(posts, cache, cache, ingest, metrics, options, [this] { return r; });
  }
  std::uint64_t metric(const std::string& name, const std::string& labels = "") {
    return metrics.counter(name, "", labels).value();
  }
};

// Runs `count` searches concurrently on one thread; returns what each got (or threw).
struct Answers {
  std::vector<std::vector<Shown>> posts;
  int failures = 0;
};
Answers concurrent_searches(SearchService& search, int count, domain::SearchQuery query) {
  asio::io_context io;
  Answers answers;
  answers.posts.resize(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    asio::co_spawn(io, search.search(query), [&answers, i](std::exception_ptr error, domain::RenderedPosts posts) {
      if (error) ++answers.failures;
      else answers.posts[static_cast<std::size_t>(i)] = shown(posts);
    });
  }
  io.run();
  return answers;
}

domain::SearchQuery food(std::optional<std::int64_t> user = 42, std::size_t limit = 10) {
  return {user, "food", limit};
}

// ---------------------------------------------------------------------------------------
// SearchService
// ---------------------------------------------------------------------------------------

TEST(SearchService, ManyConcurrentSearchesOfAColdKeywordQueryOnce) {
  Fixture f;
  Answers answers = concurrent_searches(*f.search, 200, food());
  EXPECT_EQ(answers.failures, 0);
  EXPECT_EQ(f.posts.queries, 1);
  for (const auto& posts : answers.posts) EXPECT_EQ(posts.size(), 3u);
  EXPECT_EQ(f.metric("tracker_search_db_queries_total"), 1u);
  EXPECT_EQ(f.metric("tracker_search_cache_total", "result=\"miss\""), 1u);
  EXPECT_EQ(f.metric("tracker_search_cache_total", "result=\"waited\""), 199u);
  EXPECT_TRUE(f.cache.locks.empty());  // released with the store
  // Every search is one SEARCH event, with the normalised keyword and the user.
  ASSERT_EQ(f.store.events.size(), 200u);
  for (const auto& event : f.store.events) {
    EXPECT_EQ(event.type, domain::EventType::Search);
    EXPECT_EQ(event.component_id, domain::kSearchComponentId);
    EXPECT_EQ(event.keyword, "food");
    EXPECT_EQ(event.user_id, 42);
    EXPECT_EQ(event.session_id, "server");
    EXPECT_FALSE(event.id.empty());
  }
}

TEST(SearchService, FreshEntriesAreServedWithoutQueries) {
  Fixture f;
  concurrent_searches(*f.search, 1, food());
  f.clock.now += 20'000;  // still fresh (TTL 24..36 s)
  Answers answers = concurrent_searches(*f.search, 50, food(std::nullopt, 2));
  EXPECT_EQ(f.posts.queries, 1);
  for (const auto& posts : answers.posts) EXPECT_EQ(posts.size(), 2u);  // cut to the limit
  EXPECT_EQ(f.metric("tracker_search_cache_total", "result=\"hit\""), 50u);
  EXPECT_FALSE(f.store.events.back().user_id);  // anonymous search
}

TEST(SearchService, TtlsAreJitteredAndShorterForEmptyResults) {
  Fixture f;
  f.r = 0.5;  // u = 0: TTL exactly as configured; no early refresh for fresh entries far from expiry
  f.make_service();
  concurrent_searches(*f.search, 1, food());
  concurrent_searches(*f.search, 1, {1, "nothing-here", 10});
  ASSERT_EQ(f.cache.stored_keep.size(), 2u);
  EXPECT_EQ(f.cache.stored_keep[0], 30s + 60s);  // fresh TTL + the time a stale copy is kept
  EXPECT_EQ(f.cache.stored_keep[1], 5s + 60s);
  EXPECT_EQ(f.cache.entries.at("10:food").first.fresh_until_ms, f.clock.now + 30'000);
  EXPECT_EQ(f.cache.entries.at("10:nothing-here").first.fresh_until_ms, f.clock.now + 5'000);
  f.r = 1.0;  // u = +1: 20 % longer
  f.make_service();
  f.clock.now += 6'000;
  concurrent_searches(*f.search, 1, {1, "nothing-here", 10});
  EXPECT_EQ(f.cache.entries.at("10:nothing-here").first.fresh_until_ms, f.clock.now + 6'000);
}

TEST(SearchService, LimitsShareTwoEntriesPerKeyword) {
  Fixture f;
  concurrent_searches(*f.search, 1, food(1, 1));
  concurrent_searches(*f.search, 1, food(1, 10));
  concurrent_searches(*f.search, 1, food(1, 11));
  concurrent_searches(*f.search, 1, food(1, 50));
  EXPECT_EQ(f.posts.queries, 2);
  EXPECT_EQ(f.cache.entries.count("10:food"), 1u);
  EXPECT_EQ(f.cache.entries.count("50:food"), 1u);
}

TEST(SearchService, ExpiredEntryIsRebuiltOnceWhileOthersGetTheStaleCopy) {
  Fixture f;
  concurrent_searches(*f.search, 1, food());
  f.posts.posts[0].like_count = 9;  // changes the database after caching
  f.clock.now += 40'000;            // expired (TTL at most 36 s), still kept
  Answers answers = concurrent_searches(*f.search, 100, food());
  EXPECT_EQ(answers.failures, 0);
  EXPECT_EQ(f.posts.queries, 2);
  int fresh = 0, stale = 0;
  for (const auto& posts : answers.posts) (posts.front().like_count == 9 ? fresh : stale)++;
  EXPECT_EQ(fresh, 1);  // the rebuilder
  EXPECT_EQ(stale, 99);
  EXPECT_EQ(f.metric("tracker_search_cache_total", "result=\"stale\""), 99u);
  EXPECT_EQ(shown(f.cache.entries.at("10:food").first.posts).front().like_count, 9);
}

TEST(SearchService, StaleCopyIsServedWhenTheDatabaseFails) {
  Fixture f;
  concurrent_searches(*f.search, 1, food());
  f.clock.now += 40'000;
  f.posts.fail = true;
  Answers answers = concurrent_searches(*f.search, 5, food());
  EXPECT_EQ(answers.failures, 0);
  for (const auto& posts : answers.posts) EXPECT_EQ(posts.size(), 3u);
  EXPECT_EQ(f.metric("tracker_search_rebuild_failures_total"), 1u);
  EXPECT_TRUE(f.cache.locks.empty());  // a failed rebuild gives the lock back
}

TEST(SearchService, MissingEntryAndFailingDatabaseIsAStoreError) {
  Fixture f;
  f.posts.fail = true;
  Answers answers = concurrent_searches(*f.search, 1, food());
  EXPECT_EQ(answers.failures, 1);
  EXPECT_TRUE(f.store.events.empty());  // a failed search records nothing
  EXPECT_TRUE(f.cache.locks.empty());
}

TEST(SearchService, EarlyRefreshServesTheCurrentCopyAndRebuildsInTheBackground) {
  Fixture f;
  concurrent_searches(*f.search, 1, food());
  f.posts.posts[0].like_count = 5;
  f.clock.now += 35'900;  // fresh for 100 ms more (TTL 36 s), the draw says refresh
  f.r = 1e-9;
  f.make_service();
  Answers answers = concurrent_searches(*f.search, 20, food());
  EXPECT_EQ(answers.failures, 0);
  for (const auto& posts : answers.posts) EXPECT_EQ(posts.front().like_count, 0);  // nobody waited
  EXPECT_EQ(f.posts.queries, 2);  // one background rebuild: the others did not get the lock
  EXPECT_EQ(shown(f.cache.entries.at("10:food").first.posts).front().like_count, 5);
  EXPECT_EQ(f.metric("tracker_search_cache_total", "result=\"early_refresh\""), 20u);
}

// Another request stored the entry (and released the lock) between this one's look and
// its lock: the stored entry is the answer, without a second query.
TEST(SearchService, EntryBuiltBetweenTheLookAndTheLockIsUsed) {
  Fixture f;
  ports::CachedSearch theirs{domain::render_posts({f.posts.posts[2]}), f.clock.now + 30'000, 3};
  f.cache.on_lock = [&] {
    f.cache.entries["10:food"] = {theirs, f.clock.now + 90'000};
    f.cache.on_lock = nullptr;
  };
  Answers answers = concurrent_searches(*f.search, 1, food());
  EXPECT_EQ(f.posts.queries, 0);
  ASSERT_EQ(answers.posts[0].size(), 1u);
  EXPECT_EQ(answers.posts[0][0].id, 3);
  EXPECT_TRUE(f.cache.locks.empty());

  // The same for an expired entry that someone else just rebuilt.
  f.clock.now += 40'000;
  theirs.fresh_until_ms = f.clock.now + 30'000;
  theirs.posts = domain::render_posts({f.posts.posts[1]});
  f.cache.on_lock = [&] {
    f.cache.entries["10:food"] = {theirs, f.clock.now + 90'000};
    f.cache.on_lock = nullptr;
  };
  answers = concurrent_searches(*f.search, 1, food());
  EXPECT_EQ(f.posts.queries, 0);
  EXPECT_EQ(answers.posts[0][0].id, 2);
  EXPECT_TRUE(f.cache.locks.empty());
}

TEST(SearchService, WaitersGiveUpAfterMaxWait) {
  Fixture f;
  f.options.max_wait = 30ms;
  f.make_service();
  f.cache.locks["10:food"] = {"someone-else", f.clock.now + 60'000};  // a rebuild that never ends
  Answers answers = concurrent_searches(*f.search, 3, food());
  EXPECT_EQ(answers.failures, 3);
  EXPECT_EQ(f.posts.queries, 0);
  EXPECT_EQ(f.metric("tracker_search_wait_timeouts_total"), 3u);
}

TEST(SearchService, WithoutCacheEverySearchQueries) {
  Fixture f;
  f.options.ttl = 0ms;
  f.make_service();
  concurrent_searches(*f.search, 5, food());
  EXPECT_EQ(f.posts.queries, 5);
  EXPECT_TRUE(f.cache.entries.empty());
  EXPECT_EQ(f.cache.gets, 0);
}

TEST(SearchService, EventFailureFailsTheSearch) {
  Fixture f;
  f.store.fail = true;
  Answers answers = concurrent_searches(*f.search, 1, food());
  EXPECT_EQ(answers.failures, 1);
}

// ---------------------------------------------------------------------------------------
// PostService
// ---------------------------------------------------------------------------------------

template <class T>
T run(asio::awaitable<T> operation) {
  asio::io_context io;
  std::optional<T> out;
  std::exception_ptr failure;
  asio::co_spawn(io, std::move(operation), [&](std::exception_ptr error, T value) {
    failure = error;
    if (!error) out = std::move(value);
  });
  io.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*out);
}

TEST(PostService, TogglesRecordOneLikeOrUnlikeEventEach) {
  Fixture f;
  PostService service(f.posts, f.ingest, f.metrics);
  auto first = run(service.toggle_like({7, 2}));
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->state.liked);
  EXPECT_EQ(first->state.like_count, 1);
  EXPECT_TRUE(first->event_recorded);
  auto second = run(service.toggle_like({7, 2}));
  EXPECT_FALSE(second->state.liked);
  EXPECT_EQ(second->state.like_count, 0);
  ASSERT_EQ(f.store.events.size(), 2u);
  EXPECT_EQ(f.store.events[0].type, domain::EventType::Like);
  EXPECT_EQ(f.store.events[1].type, domain::EventType::Unlike);
  for (const auto& event : f.store.events) {
    EXPECT_EQ(event.component_id, domain::kLikeComponentId);
    EXPECT_EQ(event.post_id, 2);
    EXPECT_EQ(event.user_id, 7);
    EXPECT_EQ(event.metadata.at("postId"), 2);
    EXPECT_EQ(event.metadata.at("componentId"), domain::kLikeComponentId);
  }
}

TEST(PostService, UnknownPostIsNotToggledNorRecorded) {
  Fixture f;
  PostService service(f.posts, f.ingest, f.metrics);
  EXPECT_FALSE(run(service.toggle_like({7, 99})));
  EXPECT_TRUE(f.store.events.empty());
}

TEST(PostService, UnrecordedEventLeavesTheToggleStanding) {
  Fixture f;
  PostService service(f.posts, f.ingest, f.metrics);
  f.store.fail = true;
  auto outcome = run(service.toggle_like({7, 1}));
  ASSERT_TRUE(outcome);
  EXPECT_FALSE(outcome->event_recorded);
  EXPECT_TRUE(outcome->state.liked);
  EXPECT_EQ(f.posts.posts[0].like_count, 1);
  EXPECT_EQ(f.metric("tracker_like_events_unrecorded_total"), 1u);
}

TEST(PostService, DatabaseFailurePropagates) {
  Fixture f;
  PostService service(f.posts, f.ingest, f.metrics);
  f.posts.fail = true;
  EXPECT_THROW(run(service.toggle_like({7, 1})), ports::StoreUnavailable);
  EXPECT_TRUE(f.store.events.empty());
}

}  // namespace
