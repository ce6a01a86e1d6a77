// The PostgreSQL posts adapter against a real PostgreSQL (TRACKER_PG_DSN, migrated):
// posts round-trip, toggle sequences, concurrent toggles that end consistent (the count
// equals the like rows, never negative), and hashtag search order with both of
// search_posts()'s plans. Every test uses hashtags and user ids of its own and deletes
// its posts afterwards.
#include "metrics/metrics.hpp"
#include "postgres/connection.hpp"
#include "postgres/pool.hpp"
#include "postgres/post_repository.hpp"

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

std::string dsn() {
  const char* env = std::getenv("TRACKER_PG_DSN");
  return env != nullptr && *env != '\0' ? env : "host=127.0.0.1 port=55432 user=tracker dbname=tracker";
}

// Runs one operation to completion on `io` and returns its result (or rethrows). The
// tests are plain functions around these calls: no test logic inside coroutines.
template <class T>
T await(asio::io_context& io, asio::awaitable<T> operation) {
  std::optional<T> out;
  std::exception_ptr failure;
  asio::co_spawn(io, std::move(operation), [&](std::exception_ptr error, T value) {
    failure = error;
    if (!error) out.emplace(std::move(value));
  });
  io.restart();
  io.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*out);
}

asio::awaitable<tracker::postgres::Result> execute(std::string sql, Params params) {
  auto executor = co_await asio::this_coro::executor;
  ConnectionOptions options;
  options.dsn = dsn();
  std::unique_ptr<Connection> db = co_await Connection::connect(executor, options);
  tracker::postgres::Result result = co_await db->execute(sql, params);
  co_return result;
}

class PostRepositoryTest : public ::testing::Test {
 protected:
  PostRepositoryTest()
      : random_(std::random_device{}()),
        pool_(io_.get_executor(), ConnectionOptions{.dsn = dsn()}, 50, 256, metrics_),
        posts_(io_.get_executor(), pool_, 20s, metrics_) {
    tag_ = "pgtest-" + std::to_string(::getpid()) + "-" + std::to_string(random_() % 1'000'000'000);
  }

  void TearDown() override {
    std::string ids = "{";
    for (std::int64_t id : created_) {
      if (ids.size() > 1) ids += ',';
      ids += std::to_string(id);
    }
    await(io_, execute("delete from posts where id = any($1::bigint[])", {ids + "}"}));
    await(io_, execute("delete from hashtag_stats where hashtag like $1", {tag_ + "%"}));
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
  std::string tag_;
  std::vector<std::int64_t> created_;
};

TEST_F(PostRepositoryTest, CreateAndGetRoundTrip) {
  domain::NewPost post = new_post(user(), {tag("-a"), tag("-\"quoted\",{x}")}, "h\xC3\xA9llo\nline 'two'");
  post.image_urls = {"https://img.example.com/a.jpg", "https://img.example.com/b,c.jpg?x=\"1\""};
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

TEST_F(PostRepositoryTest, SearchOrdersByLikesThenNewestWithEitherPlan) {
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

  // A rare hashtag: the GIN plan.
  EXPECT_EQ(search_ids(wanted, 10), expected);
  EXPECT_EQ(search_ids(wanted, 2), (std::vector<std::int64_t>{ids[3], ids[1]}));
  EXPECT_TRUE(search_ids(tag("-nothing"), 10).empty());

  // Told the hashtag is common: the ranking-index walk (or, if its bounded walk does not
  // find enough, the GIN plan again) must give the same answer.
  await(io_, execute("update hashtag_stats set post_count = 1000000000 where hashtag = $1", {wanted}));
  EXPECT_EQ(search_ids(wanted, 10), expected);
  EXPECT_EQ(search_ids(wanted, 3), (std::vector<std::int64_t>{ids[3], ids[1], ids[2]}));

  auto first = await(io_, posts_.search_by_hashtag(wanted, 1));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].like_count, 2);
  EXPECT_EQ(first[0].content, "d");
  EXPECT_EQ(first[0].hashtags, (std::vector<std::string>{other, wanted}));
}

TEST_F(PostRepositoryTest, CreateCountsHashtags) {
  create(new_post(user(), {tag("-x"), tag("-y")}));
  create(new_post(user(), {tag("-y")}));
  auto result = await(io_, execute("select string_agg(hashtag || '=' || post_count, ',' order by hashtag) "
                                   "from hashtag_stats where hashtag like $1",
                                   {tag("-%")}));
  EXPECT_EQ(result.text(0, 0), tag("-x") + "=1," + tag("-y") + "=2");
}

}  // namespace
