// The PostgreSQL event reader against a real PostgreSQL: walking every page of a listing
// yields each matching row exactly once, newest first by (server_time, id), whatever the
// page size, also where many rows share one server_time; filters and time ranges narrow
// it. Each test inserts rows of a session of its own and deletes them afterwards.
#include "pg_support.hpp"

#include "metrics/metrics.hpp"
#include "postgres/event_reader.hpp"
#include "postgres/pool.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <random>

namespace {

using namespace std::chrono_literals;
using tracker::domain::EventQuery;
using tracker::domain::EventType;
using tracker::pgtest::await;
using tracker::pgtest::execute;

class EventReaderTest : public ::testing::Test {
 protected:
  EventReaderTest()
      : pool_(io_.get_executor(), tracker::postgres::ConnectionOptions{.dsn = tracker::pgtest::dsn()}, 2, 16, metrics_),
        reader_(pool_, 20s) {
    session_ = "pgtest-events-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}());
    // 40 rows over 4 distinct times (10 per time, told apart only by id), CLICK and LIKE
    // taking turns, user ids 0..4, in a partition far from today's.
    await(io_, execute("insert into events (id, event_type, user_id, session_id, component_id, post_id, metadata,"
                       " server_time)"
                       " select gen_random_uuid(), case when i % 2 = 0 then 'CLICK' else 'LIKE' end, i % 5, $1, 1002,"
                       " case when i % 2 = 1 then 7 end, '{\"componentId\": 1002}',"
                       " '2026-03-01 10:00:00.123456+00'::timestamptz + (i % 4) * interval '1 second'"
                       " from generate_series(0, 39) as i",
                       {session_}));
  }
  ~EventReaderTest() override { await(io_, execute("delete from events where session_id = $1", {session_})); }

  // The ids the database itself lists for the condition, newest first.
  std::vector<std::string> expected(const std::string& condition = "true") {
    auto result = await(io_, execute("select id::text from events where session_id = $1 and " + condition +
                                          " order by server_time desc, id desc",
                                      {session_}));
    std::vector<std::string> ids;
    for (int row = 0; row < result.rows(); ++row) ids.emplace_back(result.text(row, 0));
    return ids;
  }

  std::vector<std::string> walk(EventQuery query) {
    query.session_id = session_;
    std::vector<std::string> ids;
    for (int pages = 0; pages < 1000; ++pages) {
      auto page = await(io_, reader_.list(query));
      EXPECT_LE(page.events.size(), query.limit);
      for (const auto& event : page.events) ids.push_back(event.id);
      if (!page.next) return ids;
      EXPECT_EQ(page.events.size(), query.limit);
      query.after = page.next;
    }
    ADD_FAILURE() << "the listing did not end";
    return ids;
  }

  boost::asio::io_context io_;
  tracker::metrics::Registry metrics_;
  tracker::postgres::Pool pool_;
  tracker::postgres::EventReader reader_;
  std::string session_;
};

TEST_F(EventReaderTest, EveryPageSizeYieldsEveryRowOnceInOrder) {
  auto all = expected();
  ASSERT_EQ(all.size(), 40u);
  for (std::size_t limit : {1, 3, 7, 10, 39, 40, 41, 500}) {
    EventQuery query;
    query.limit = limit;
    EXPECT_EQ(walk(query), all) << "limit " << limit;
  }
}

TEST_F(EventReaderTest, FiltersNarrowTheListing) {
  EventQuery likes;
  likes.type = EventType::Like;
  likes.limit = 4;
  EXPECT_EQ(walk(likes), expected("event_type = 'LIKE'"));

  EventQuery user;
  user.user_id = 3;
  user.limit = 3;
  EXPECT_EQ(walk(user), expected("user_id = 3"));

  EventQuery post;
  post.post_id = 7;
  post.component_id = 1002;
  post.limit = 6;
  EXPECT_EQ(walk(post), expected("post_id = 7"));

  EventQuery keyword;
  keyword.keyword = "none";
  EXPECT_TRUE(walk(keyword).empty());
}

TEST_F(EventReaderTest, TimeRangeIsFromInclusiveToExclusive) {
  constexpr std::int64_t kSecond0 = 1772359200123;  // 2026-03-01T10:00:00.123Z, in ms (the rows have .123456)
  EventQuery range;
  range.from_ms = kSecond0 + 1000;  // before the rows of second 1 (.123456 > .123)
  range.to_ms = kSecond0 + 3000;    // before the rows of second 3
  range.limit = 5;
  auto ids = walk(range);
  EXPECT_EQ(ids, expected("server_time >= '2026-03-01 10:00:01.123+00' and server_time < '2026-03-01 10:00:03.123+00'"));
  EXPECT_EQ(ids.size(), 20u);
}

TEST_F(EventReaderTest, ReadsTheColumns) {
  EventQuery query;
  query.session_id = session_;
  query.limit = 1;
  query.type = EventType::Like;
  auto page = await(io_, reader_.list(query));
  ASSERT_EQ(page.events.size(), 1u);
  const auto& event = page.events[0];
  EXPECT_EQ(event.type, "LIKE");
  EXPECT_EQ(event.session_id, session_);
  EXPECT_EQ(event.component_id, 1002);
  EXPECT_EQ(event.post_id, 7);
  EXPECT_FALSE(event.keyword);
  EXPECT_FALSE(event.client_time_ms);
  EXPECT_EQ(event.server_time_us, 1772359203123456);  // second 3, the newest
  EXPECT_EQ(event.metadata_json, R"({"componentId": 1002})");
  ASSERT_TRUE(page.next);
  EXPECT_EQ(page.next->id, event.id);
}

}  // namespace
