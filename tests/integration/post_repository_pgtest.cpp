// The PostgreSQL posts adapter against a real PostgreSQL (TRACKER_PG_DSN, migrated):
// posts round-trip, toggle sequences, concurrent toggles that end consistent (the count
// equals the like rows, never negative), grouped toggles against toggling one at a time,
// the search ranking (post_hashtags) following every change of posts, and hashtag
// search order. Every test uses hashtags and user ids of its own and deletes
// its posts afterwards.
#include "pg_support.hpp"

#include "metrics/metrics.hpp"
#include "postgres/connection.hpp"
#include "postgres/pool.hpp"
#include "postgres/post_repository.hpp"
#include "postgres/ranking_upkeep.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace domain = tracker::domain;
using namespace std::chrono_literals;
using tracker::postgres::Connection;
using tracker::postgres::ConnectionOptions;
using tracker::postgres::Pool;
using tracker::postgres::PostRepository;
using Params = std::vector<std::optional<std::string>>;

using tracker::pgtest::await;
using tracker::pgtest::dsn;
using tracker::pgtest::execute;

// A bigint[] literal.
std::string id_array(const std::vector<std::int64_t>& ids) {
  std::string out = "{";
  for (std::int64_t id : ids) {
    if (out.size() > 1) out += ',';
    out += std::to_string(id);
  }
  out += '}';
  return out;
}

// Runs the statements in one round trip on a connection of their own.
asio::awaitable<std::vector<tracker::postgres::Result>> pipeline(std::vector<tracker::postgres::Statement> statements) {
  auto executor = co_await asio::this_coro::executor;
  ConnectionOptions options;
  options.dsn = dsn();
  std::unique_ptr<Connection> db = co_await Connection::connect(executor, options);
  std::vector<tracker::postgres::Result> results = co_await db->pipeline(statements);
  co_return results;
}

class PostRepositoryTest : public ::testing::Test {
 protected:
  PostRepositoryTest()
      : random_(std::random_device{}()),
        pool_(io_.get_executor(), ConnectionOptions{.dsn = dsn()}, 50, 256, metrics_),
        posts_(io_.get_executor(), pool_, 20s, metrics_),
        upkeep_(pool_, 20s) {
    tag_ = "pgtest-" + std::to_string(::getpid()) + "-" + std::to_string(random_() % 1'000'000'000);
  }

  void TearDown() override {
    await(io_, execute("delete from posts where id = any($1::bigint[])", {created_ids()}));
    EXPECT_EQ(ranking_rows(), 0);  // deleting the posts took their ranking rows along
  }

  std::string tag(const std::string& suffix = "") const { return tag_ + suffix; }
  std::int64_t user() { return 1'000'000'000'000 + static_cast<std::int64_t>(random_() % 1'000'000'000'000); }

  static domain::NewPost new_post(std::int64_t author, std::vector<std::string> hashtags,
                                  std::string content = "content") {
    domain::NewPost post;
    post.user_id = author;
    post.content = std::move(content);
    post.hashtags = std::move(hashtags);
    return post;
  }

  std::int64_t create(const domain::NewPost& post) {
    created_.push_back(await(io_, posts_.create(post)));
    return created_.back();
  }
  std::optional<domain::LikeState> toggle(std::int64_t user_id, std::int64_t post_id) {
    return await(io_, posts_.toggle_like(user_id, post_id));
  }
  std::optional<domain::Post> get(std::int64_t post_id) { return await(io_, posts_.get(post_id)); }
  std::vector<std::int64_t> search_ids(const std::string& hashtag, std::size_t limit) {
    std::vector<std::int64_t> ids;
    for (const auto& post : await(io_, posts_.search_by_hashtag(hashtag, limit))) ids.push_back(post.id);
    return ids;
  }
  // The ranking rows of this test's hashtags (found through the ranking's key).
  std::int64_t ranking_rows() {
    return await(io_, execute("select count(*) from post_hashtags where hashtag >= $1 and hashtag < $1 || '~'",
                              {tag_}))
        .as_int64(0, 0);
  }
  // Takes every noted change of posts into the search ranking, as the server's upkeep does
  // every --search-ranking-lag-ms; returns the number of posts.
  std::size_t apply_ranking() {
    std::size_t total = 0;
    for (std::size_t applied = 1; applied > 0;) {
      applied = await(io_, upkeep_.apply_changes(1000));
      total += applied;
    }
    return total;
  }
  // The ranking like count of `post_id`'s rows (-1: none).
  std::int64_t ranking_likes(std::int64_t post_id) {
    return await(io_, execute("select coalesce(max(like_count), -1) from post_hashtags"
                              " where hashtag >= $1 and hashtag < $1 || '~' and post_id = $2::bigint",
                              {tag_, std::to_string(post_id)}))
        .as_int64(0, 0);
  }
  // Once the upkeep has taken the changes in, post_hashtags holds exactly one row per
  // hashtag of each PUBLIC post of this test.
  void expect_ranking_follows_posts() {
    apply_ranking();
    auto differences = await(
        io_, execute("with expected as ("
                     "  select t.tag, p.like_count, p.created_at, p.id from posts p, unnest(p.hashtags) t(tag)"
                     "  where p.visibility = 'PUBLIC' and p.id = any($2::bigint[]) and t.tag like $1 || '%'"
                     "  group by 1, 2, 3, 4),"
                     " actual as ("
                     "  select hashtag, like_count, created_at, post_id from post_hashtags"
                     "  where hashtag >= $1 and hashtag < $1 || '~')"
                     " select count(*) from ((select * from expected except all select * from actual)"
                     "  union all (select * from actual except all select * from expected)) d",
                     {tag_, created_ids()}));
    EXPECT_EQ(differences.as_int64(0, 0), 0);
  }
  std::string created_ids() const { return id_array(created_); }
  std::int64_t like_rows(std::int64_t post_id) {
    return await(io_, execute("select count(*) from likes where post_id = $1::bigint", {std::to_string(post_id)}))
        .as_int64(0, 0);
  }

  // Starts `count` toggles at once (each on its own pooled connection) and waits for all.
  std::vector<std::optional<domain::LikeState>> concurrent_toggles(const std::vector<std::int64_t>& users,
                                                                   std::int64_t post_id) {
    std::vector<std::optional<domain::LikeState>> states(users.size());
    std::exception_ptr failure;
    for (std::size_t i = 0; i < users.size(); ++i) {
      asio::co_spawn(io_, posts_.toggle_like(users[i], post_id),
                     [&, i](std::exception_ptr error, std::optional<domain::LikeState> state) {
                       if (error) failure = error;
                       states[i] = state;
                     });
    }
    io_.restart();
    io_.run();
    if (failure) std::rethrow_exception(failure);
    return states;
  }

  asio::io_context io_;
  tracker::metrics::Registry metrics_;
  std::mt19937_64 random_;
  Pool pool_;
  PostRepository posts_;
  tracker::postgres::RankingUpkeep upkeep_;
  std::string tag_;
  std::vector<std::int64_t> created_;
};

TEST_F(PostRepositoryTest, CreateAndGetRoundTrip) {
  // Array elements that PostgreSQL quotes and escapes in its output: delimiters, braces,
  // quotes, backslashes, white space, NULL as text, empty.
  domain::NewPost post = new_post(user(), {tag("-a"), tag("-\"quoted\",{x}"), tag("-back\\slash\\"), tag(" spaced")},
                                  "h\xC3\xA9llo\nline 'two'");
  post.image_urls = {"https://img.example.com/a.jpg", "https://img.example.com/b,c.jpg?x=\"1\"", "NULL", ""};
  post.visibility = domain::Visibility::Private;
  std::int64_t id = create(post);
  EXPECT_GT(id, 0);
  auto stored = get(id);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->id, id);
  EXPECT_EQ(stored->user_id, post.user_id);
  EXPECT_EQ(stored->content, post.content);
  EXPECT_EQ(stored->image_urls, post.image_urls);
  EXPECT_EQ(stored->hashtags, post.hashtags);
  EXPECT_EQ(stored->visibility, domain::Visibility::Private);
  EXPECT_EQ(stored->like_count, 0);
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_NEAR(static_cast<double>(stored->created_at_ms), static_cast<double>(now_ms), 60'000.0);
  EXPECT_EQ(stored->created_at_ms, stored->updated_at_ms);
  EXPECT_FALSE(get(std::numeric_limits<std::int64_t>::max()));
}

TEST_F(PostRepositoryTest, ToggleSequence) {
  std::int64_t id = create(new_post(user(), {tag()}));
  std::int64_t alice = user(), bob = user();
  struct Step {
    std::int64_t user;
    bool liked;
    std::int64_t count;
  };
  for (const Step& step : std::vector<Step>{{alice, true, 1}, {bob, true, 2}, {alice, false, 1}, {alice, true, 2},
                                            {bob, false, 1}, {alice, false, 0}, {alice, true, 1}}) {
    auto state = toggle(step.user, id);
    ASSERT_TRUE(state);
    EXPECT_EQ(state->liked, step.liked);
    EXPECT_EQ(state->like_count, step.count);
    EXPECT_EQ(like_rows(id), step.count);
  }
  EXPECT_EQ(get(id)->like_count, 1);
  EXPECT_FALSE(toggle(alice, std::numeric_limits<std::int64_t>::max()));
}

// 50 toggles by one user on one post at once: they take turns on the post's row lock,
// so each one flips the state: 25 likes and 25 unlikes in some order, ending where it
// started, the count equal to the rows all along and never negative.
TEST_F(PostRepositoryTest, ConcurrentTogglesOfOneUserEndConsistent) {
  std::int64_t id = create(new_post(user(), {tag()}));
  auto states = concurrent_toggles(std::vector<std::int64_t>(50, user()), id);
  int liked = 0, unliked = 0;
  for (const auto& state : states) {
    ASSERT_TRUE(state);
    if (state->liked) {
      ++liked;
      EXPECT_EQ(state->like_count, 1);
    } else {
      ++unliked;
      EXPECT_EQ(state->like_count, 0);
    }
  }
  EXPECT_EQ(liked, 25);
  EXPECT_EQ(unliked, 25);
  EXPECT_EQ(get(id)->like_count, 0);
  EXPECT_EQ(like_rows(id), 0);
  // And once more from a liked start: 51 toggles end liked.
  auto more = concurrent_toggles(std::vector<std::int64_t>(51, user()), id);
  EXPECT_EQ(get(id)->like_count, 1);
  EXPECT_EQ(like_rows(id), 1);
}

// One group on its way at a time: the toggles arriving meanwhile wait and go together
// in the next group, at most max_toggle_group each.
TEST_F(PostRepositoryTest, TogglesWaitForTheGroupOnItsWayAndGoInFullGroups) {
  std::int64_t id = create(new_post(user(), {tag()}));
  tracker::metrics::Registry metrics;
  Pool pool(io_.get_executor(), ConnectionOptions{.dsn = dsn()}, 50, 256, metrics);
  PostRepository grouped(io_.get_executor(), pool, 20s, metrics, 8, 1);
  std::vector<std::optional<domain::LikeState>> states(50);
  std::int64_t one_user = user();
  for (std::size_t i = 0; i < states.size(); ++i) {
    asio::co_spawn(io_, grouped.toggle_like(one_user, id),
                   [&states, i](std::exception_ptr error, std::optional<domain::LikeState> state) {
                     if (!error) states[i] = state;
                   });
  }
  io_.restart();
  io_.run();
  EXPECT_EQ(metrics.counter("tracker_like_toggle_groups_total", "").value(), 7u);  // 8 * 6 + 2
  EXPECT_EQ(metrics.counter("tracker_pg_connects_total", "").value(), 1u);         // one after the other
  int liked = 0;
  for (const auto& state : states) {
    ASSERT_TRUE(state);
    liked += state->liked;
  }
  EXPECT_EQ(liked, 25);
  EXPECT_EQ(get(id)->like_count, 0);
  EXPECT_EQ(like_rows(id), 0);
}

// Several groups may be on their way, but never two with the same post: the toggles of
// a post that a group holds wait for it (instead of for its row lock in PostgreSQL), so
// toggles of one post go one group after another on one connection, while another
// post's group goes at once.
TEST_F(PostRepositoryTest, GroupsOnTheirWayAtOnceNeverShareAPost) {
  std::int64_t busy = create(new_post(user(), {tag()}));
  std::int64_t other = create(new_post(user(), {tag()}));
  tracker::metrics::Registry metrics;
  Pool pool(io_.get_executor(), ConnectionOptions{.dsn = dsn()}, 50, 256, metrics);
  PostRepository grouped(io_.get_executor(), pool, 20s, metrics, 4, 3);
  std::vector<std::int64_t> posts(20, busy);
  posts.push_back(other);
  std::vector<std::optional<domain::LikeState>> states(posts.size());
  std::int64_t one_user = user();
  for (std::size_t i = 0; i < states.size(); ++i) {
    asio::co_spawn(io_, grouped.toggle_like(one_user, posts[i]),
                   [&states, i](std::exception_ptr error, std::optional<domain::LikeState> state) {
                     if (!error) states[i] = state;
                   });
  }
  io_.restart();
  io_.run();
  // busy: 5 groups of 4, one after the other; other: its own group, sent with busy's first.
  EXPECT_EQ(metrics.counter("tracker_like_toggle_groups_total", "").value(), 6u);
  EXPECT_EQ(metrics.counter("tracker_pg_connects_total", "").value(), 2u);
  for (std::size_t i = 0; i < 20; ++i) {
    ASSERT_TRUE(states[i]);
    EXPECT_EQ(states[i]->liked, i % 2 == 0);  // in the order they came
  }
  ASSERT_TRUE(states[20]);
  EXPECT_TRUE(states[20]->liked);
  EXPECT_EQ(get(busy)->like_count, 0);
  EXPECT_EQ(like_rows(busy), 0);
  EXPECT_EQ(get(other)->like_count, 1);
}

// Many users toggling one post at once, some twice: the count equals the rows.
TEST_F(PostRepositoryTest, ConcurrentTogglesOfManyUsersKeepTheCountEqualToTheRows) {
  std::int64_t id = create(new_post(user(), {tag()}));
  std::vector<std::int64_t> users;
  for (int i = 0; i < 40; ++i) {
    users.push_back(user());
    if (i % 4 == 0) users.push_back(users.back());  // every fourth user likes and takes it back
  }
  auto states = concurrent_toggles(users, id);
  for (const auto& state : states) {
    ASSERT_TRUE(state);
    EXPECT_GE(state->like_count, 0);
  }
  EXPECT_EQ(get(id)->like_count, 30);
  EXPECT_EQ(like_rows(id), 30);
}

TEST_F(PostRepositoryTest, SearchOrdersByLikesThenNewest) {
  std::string wanted = tag("-s"), other = tag("-other");
  // Created in this order: a, b, c, d (newer each), e private, f without the tag.
  std::vector<std::int64_t> ids;
  for (const char* name : {"a", "b", "c", "d"}) ids.push_back(create(new_post(user(), {other, wanted}, name)));
  domain::NewPost hidden = new_post(user(), {wanted}, "e");
  hidden.visibility = domain::Visibility::Private;
  std::int64_t private_id = create(hidden);
  create(new_post(user(), {other}, "f"));
  // Likes: b 2, c 1, d 2, a 0, e 3 -> d (2, newer), b (2), c (1), a (0); e is private.
  for (int i = 0; i < 2; ++i) toggle(user(), ids[1]);
  toggle(user(), ids[2]);
  for (int i = 0; i < 2; ++i) toggle(user(), ids[3]);
  for (int i = 0; i < 3; ++i) toggle(user(), private_id);
  std::vector<std::int64_t> expected{ids[3], ids[1], ids[2], ids[0]};

  // Before the upkeep has taken the likes in, an answer that holds every post already
  // shows them in the order of their current counts.
  EXPECT_EQ(search_ids(wanted, 10), expected);
  apply_ranking();
  EXPECT_EQ(search_ids(wanted, 10), expected);
  EXPECT_EQ(search_ids(wanted, 2), (std::vector<std::int64_t>{ids[3], ids[1]}));
  EXPECT_EQ(search_ids(wanted, 3), (std::vector<std::int64_t>{ids[3], ids[1], ids[2]}));
  EXPECT_EQ(search_ids(wanted, 11), expected);  // the statement for up to 50
  EXPECT_EQ(search_ids(wanted, 50), expected);
  EXPECT_EQ(search_ids(wanted, 51), expected);  // past what the API allows: not prepared
  EXPECT_TRUE(search_ids(tag("-nothing"), 10).empty());
  expect_ranking_follows_posts();

  auto first = await(io_, posts_.search_by_hashtag(wanted, 1));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].like_count, 2);
  EXPECT_EQ(first[0].content, "d");
  EXPECT_EQ(first[0].hashtags, (std::vector<std::string>{other, wanted}));
}

// toggle_likes() works a group as a set: it must give what toggling one at a time in
// input order gives, with (user, post) pairs repeated inside a group, posts shared by
// several users, and posts that do not exist.
TEST_F(PostRepositoryTest, GroupedTogglesMatchTogglingOneAtATime) {
  std::vector<std::int64_t> posts, users;
  for (int i = 0; i < 4; ++i) posts.push_back(create(new_post(user(), {tag()})));
  for (int i = 0; i < 3; ++i) users.push_back(user());
  const std::int64_t missing = std::numeric_limits<std::int64_t>::max();
  std::map<std::pair<std::int64_t, std::int64_t>, bool> liked;
  std::map<std::int64_t, std::int64_t> counts;
  for (int group = 0; group < 30; ++group) {
    std::vector<std::int64_t> group_users, group_posts;
    std::size_t size = 1 + random_() % 12;
    for (std::size_t i = 0; i < size; ++i) {
      group_users.push_back(users[random_() % users.size()]);
      group_posts.push_back(random_() % 10 == 0 ? missing : posts[random_() % posts.size()]);
    }
    auto result = await(io_, execute("select liked, like_count from toggle_likes($1::bigint[], $2::bigint[])",
                                     {id_array(group_users), id_array(group_posts)}));
    ASSERT_EQ(result.rows(), static_cast<int>(size));
    for (std::size_t i = 0; i < size; ++i) {
      SCOPED_TRACE("group " + std::to_string(group) + ", toggle " + std::to_string(i));
      int row = static_cast<int>(i);
      if (group_posts[i] == missing) {
        EXPECT_TRUE(result.is_null(row, 0));
        EXPECT_TRUE(result.is_null(row, 1));
        continue;
      }
      bool now = liked[{group_users[i], group_posts[i]}] = !liked[{group_users[i], group_posts[i]}];
      counts[group_posts[i]] += now ? 1 : -1;
      EXPECT_EQ(result.text(row, 0), now ? "t" : "f");
      EXPECT_EQ(result.as_int64(row, 1), counts[group_posts[i]]);
    }
  }
  for (std::int64_t post : posts) {
    EXPECT_EQ(get(post)->like_count, counts[post]);
    EXPECT_EQ(like_rows(post), counts[post]);
  }
  expect_ranking_follows_posts();
}

// post_hashtags is what search reads: one row per hashtag of each PUBLIC post, with the
// post's like count and creation time, whatever changed the post.
TEST_F(PostRepositoryTest, RankingFollowsEveryChangeOfPosts) {
  std::int64_t a = create(new_post(user(), {tag("-1"), tag("-2")}));
  domain::NewPost hidden = new_post(user(), {tag("-1")});
  hidden.visibility = domain::Visibility::Private;
  std::int64_t b = create(hidden);
  std::int64_t c = create(new_post(user(), {tag("-2"), tag("-3"), tag("-4")}));
  expect_ranking_follows_posts();
  EXPECT_EQ(ranking_rows(), 5);
  toggle(user(), a);
  toggle(user(), a);
  toggle(user(), b);
  expect_ranking_follows_posts();
  // Writers other than the server: an update of the hashtags, of the visibility, a
  // post inserted by hand with a hashtag twice, a delete.
  await(io_, execute("update posts set hashtags = array[$1, $2] where id = $3::bigint",
                     {tag("-3"), tag("-5"), std::to_string(a)}));
  await(io_, execute("update posts set visibility = 'PUBLIC' where id = $1::bigint", {std::to_string(b)}));
  await(io_, execute("update posts set visibility = 'PRIVATE', like_count = 0 where id = $1::bigint",
                     {std::to_string(c)}));
  auto inserted = await(io_, execute("insert into posts (user_id, content, hashtags) values (1, 'by hand', "
                                     "array[$1, $1, $2]) returning id",
                                     {tag("-6"), tag("-1")}));
  created_.push_back(inserted.as_int64(0, 0));
  expect_ranking_follows_posts();
  EXPECT_EQ(ranking_rows(), 2 + 1 + 0 + 2);
  await(io_, execute("delete from posts where id = $1::bigint", {std::to_string(a)}));
  expect_ranking_follows_posts();
  EXPECT_EQ(ranking_rows(), 3);
}

// The ranking takes a change in when the upkeep runs, not before; a post that a
// transaction is changing at that moment is left for the next run, which takes it in.
TEST_F(PostRepositoryTest, RankingTakesChangesInAtTheUpkeepAndSkipsPostsBeingChanged) {
  std::int64_t a = create(new_post(user(), {tag("-1")}));
  std::int64_t b = create(new_post(user(), {tag("-2")}));
  apply_ranking();
  toggle(user(), a);
  toggle(user(), b);
  toggle(user(), b);
  EXPECT_EQ(ranking_likes(a), 0);
  EXPECT_EQ(ranking_likes(b), 0);

  // A transaction holds b's row (an update that changes nothing the ranking shows) while
  // the upkeep runs: a is taken in, b waits for the next run.
  struct Seen {
    std::int64_t a_likes = 0, b_likes = 0;
  };
  auto held_while_applying = [&]() -> asio::awaitable<Seen> {
    ConnectionOptions options;
    options.dsn = dsn();
    auto holder = co_await Connection::connect(co_await asio::this_coro::executor, options);
    co_await holder->execute("begin");
    const std::optional<std::string> held[] = {std::to_string(b)};
    co_await holder->execute("update posts set content = content where id = $1::bigint", held);
    for (std::size_t applied = 1; applied > 0;) applied = co_await upkeep_.apply_changes(1000);
    Seen seen;
    auto likes = [&](std::int64_t post) -> asio::awaitable<std::int64_t> {
      const std::optional<std::string> params[] = {tag_, std::to_string(post)};
      auto result = co_await holder->execute(
          "select coalesce(max(like_count), -1) from post_hashtags"
          " where hashtag >= $1 and hashtag < $1 || '~' and post_id = $2::bigint",
          params);
      co_return result.as_int64(0, 0);
    };
    seen.a_likes = co_await likes(a);
    seen.b_likes = co_await likes(b);
    co_await holder->execute("commit");
    co_return seen;
  };
  Seen seen = await(io_, held_while_applying());
  EXPECT_EQ(seen.a_likes, 1);
  EXPECT_EQ(seen.b_likes, 0);
  EXPECT_GE(apply_ranking(), 1u);
  EXPECT_EQ(ranking_likes(b), 2);
  expect_ranking_follows_posts();
}

// Toggles read posts, likes and the ranking by key, even with plans made while those
// tables were small: PL/pgSQL keeps a generic plan per connection while likes grows from
// nothing, faster than autovacuum's statistics follow, so a plan that scans a small
// likes table would go on scanning it when it is large.
TEST_F(PostRepositoryTest, TogglesNeverScanTables) {
  std::int64_t a = create(new_post(user(), {tag("-1"), tag("-2")}));
  std::int64_t b = create(new_post(user(), {tag("-2")}));
  std::int64_t u1 = user(), u2 = user();  // u1 likes a and b, u2 likes a; then all back
  std::string users = id_array({u1, u1, u2, u2});
  std::string posts = id_array({a, b, a, std::numeric_limits<std::int64_t>::max()});
  std::vector<tracker::postgres::Statement> statements{
      {"begin", {}},
      {"set plan_cache_mode = force_generic_plan", {}},
      {"select count(*) from toggle_likes($1::bigint[], $2::bigint[])", {users, posts}},
      {"select count(*) from toggle_likes($1::bigint[], $2::bigint[])", {users, posts}},
      {"select count(*) >= 0 from apply_post_ranking(1000)", {}},
      {"select relname || '=' || seq_scan from pg_stat_xact_user_tables"
       " where relname in ('posts', 'likes', 'post_hashtags', 'post_ranking_pending') and seq_scan > 0",
       {}},
      {"rollback", {}}};
  auto scans = await(io_, pipeline(std::move(statements)));
  ASSERT_EQ(scans.size(), 7u);
  EXPECT_EQ(scans[2].as_int64(0, 0), 4);  // one answer per toggle, the unknown post's too
  EXPECT_EQ(scans[3].as_int64(0, 0), 4);
  std::string scanned;
  for (int row = 0; row < scans[5].rows(); ++row) scanned += std::string(scans[5].text(row, 0)) + " ";
  EXPECT_EQ(scanned, "");
}

}  // namespace
