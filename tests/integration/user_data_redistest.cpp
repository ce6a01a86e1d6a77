// lua/erase_user.lua through redis::UnflushedUserData against a real Redis, on a stream of
// the test's own: the user's rows go from every entry after the stored mark (whole entries
// when only theirs, the others' rows added again as a new entry), in as many calls as the
// bounded reads need; entries at or before the mark are left alone; a rewritten entry a
// flusher had taken is acknowledged; old one-row-per-field entries are read too; another
// user whose id appears in another column keeps the row; the backlog count follows; the
// recent keywords go; a second erasure finds nothing.
#include "redis/keys.hpp"
#include "redis/user_data.hpp"
#include "redis_support.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace ports = tracker::ports;
using namespace std::chrono_literals;
using tracker::redis::Connection;
using tracker::redis::Reply;
using tracker::redis::UnflushedUserData;
using tracker::testing::unique_number;

std::string row(std::int64_t user, int n, std::int64_t component = 1002) {
  return "01900000-0000-7000-8000-" + std::to_string(100'000'000'000 + n) + "\tCLICK\t" + std::to_string(user) +
         "\ts\t" + std::to_string(component) + "\t\\N\t\\N\t\\N\t{}\t\\N\t2026-03-02T10:00:00.000Z";
}

// Parts by reference (GCC 12 frees a temporary argument of a coroutine twice).
template <class... Parts>
asio::awaitable<Reply> run(Connection& connection, const Parts&... parts) {
  const std::vector<std::string_view> args{std::string_view(parts)...};
  co_return co_await connection.execute(args, 2s);
}

// The rows of every entry of the stream, in stream order: (entry id, rows).
asio::awaitable<std::vector<std::pair<std::string, std::vector<std::string>>>> entries(Connection& connection,
                                                                                      const std::string& stream) {
  Reply reply = co_await run(connection, "XRANGE", stream, "-", "+");
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  for (const Reply& entry : reply.elements) {
    std::vector<std::string> rows;
    const auto& fields = entry.elements.at(1).elements;
    for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
      std::string_view value = fields[i + 1].text;
      if (fields[i].text != "rows") {
        rows.emplace_back(value);
        continue;
      }
      while (!value.empty()) {
        auto end = value.find('\n');
        rows.emplace_back(value.substr(0, end));
        if (end == std::string_view::npos) break;
        value.remove_prefix(end + 1);
      }
    }
    out.emplace_back(entry.elements.at(0).text, std::move(rows));
  }
  co_return out;
}

TEST(EraseUserScript, RemovesTheUsersUnstoredRowsAndKeepsEverythingElse) {
  const std::int64_t user = unique_number(700'000'000'000);
  const std::int64_t other = user + 1;
  const std::string stream = tracker::testing::unique_key("erase-stream");
  const std::string backlog = tracker::testing::unique_key("erase-backlog");
  const std::string recent = tracker::redis::keys::recent_keywords(tracker::redis::keys::shard_tag(0), user);
  tracker::testing::with_shared_connection(tracker::testing::options(), [&](std::shared_ptr<Connection> connection,
                                                                            tracker::metrics::Registry&) -> asio::awaitable<void> {
    Connection& redis = *connection;
    co_await run(redis, "XGROUP", "CREATE", stream, "flusher", "0", "MKSTREAM");
    const std::string first = row(user, 1) + "\n" + row(other, 2);  // in PostgreSQL already
    const std::string second = row(user, 3) + "\n" + row(other, 4) + "\n" + row(other, 5);
    const std::string third = row(user, 6) + "\n" + row(user, 7);
    const std::string old_user = row(user, 8), old_other = row(other, 9);  // an older version's entry
    const std::string component = row(other, 10, user);  // the user's id as the component
    const std::string last = row(other, 11);
    const std::string stored = (co_await run(redis, "XADD", stream, "*", "rows", first)).text;
    co_await run(redis, "XADD", stream, "*", "rows", second);
    co_await run(redis, "XADD", stream, "*", "rows", third);
    co_await run(redis, "XADD", stream, "*", "r0", old_user, "r1", old_other);
    co_await run(redis, "XADD", stream, "*", "rows", component);
    co_await run(redis, "XADD", stream, "*", "rows", last);
    co_await run(redis, "SET", backlog, "11");
    // A flusher took the first three entries (it stored the first, then failed).
    co_await run(redis, "XREADGROUP", "GROUP", "flusher", "flusher", "COUNT", "3", "STREAMS", stream, ">");
    co_await run(redis, "RPUSH", recent, "cats", "dogs");

    UnflushedUserData data(connection, 2s, 2);  // two entries per call: several calls
    data.use_keys(stream, backlog, "flusher");
    const ports::BacklogPosition mark = ports::BacklogPosition::parse(stored);
    ports::UnflushedErasure erased = co_await data.erase_user(user, mark);
    EXPECT_EQ(erased.events, 4);
    EXPECT_EQ(erased.recent_keywords, 2);
    EXPECT_EQ((co_await run(redis, "EXISTS", recent)).integer, 0);
    EXPECT_EQ((co_await run(redis, "GET", backlog)).as_int(), 7);

    auto left = co_await entries(redis, stream);
    std::vector<std::string> rows_after_mark;
    std::size_t rows_in_all = 0;
    for (const auto& [id, rows] : left) {
      rows_in_all += rows.size();
      if (ports::BacklogPosition::parse(id) > mark) rows_after_mark.insert(rows_after_mark.end(), rows.begin(), rows.end());
    }
    EXPECT_FALSE(left.empty());
    if (left.empty()) co_return;
    EXPECT_EQ(left.front().first, stored);  // at or before the mark: untouched
    EXPECT_EQ(left.front().second, (std::vector<std::string>{row(user, 1), row(other, 2)}));
    EXPECT_EQ(rows_in_all, 7u);
    std::sort(rows_after_mark.begin(), rows_after_mark.end());
    std::vector<std::string> expected = {row(other, 4), row(other, 5), row(other, 9), row(other, 10, user),
                                         row(other, 11)};
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(rows_after_mark, expected);
    // Of what the flusher took, only the stored entry is still its to acknowledge.
    Reply pending = co_await run(redis, "XPENDING", stream, "flusher", "-", "+", "10");
    EXPECT_EQ(pending.elements.size(), 1u);
    if (!pending.elements.empty()) {
      EXPECT_EQ(pending.elements[0].elements.at(0).text, stored);
    }

    ports::UnflushedErasure again = co_await data.erase_user(user, mark);
    EXPECT_EQ(again.events, 0);
    EXPECT_EQ(again.recent_keywords, 0);
    EXPECT_EQ((co_await run(redis, "GET", backlog)).as_int(), 7);
    co_await run(redis, "DEL", stream, backlog);
  });
}

TEST(EraseUserScript, AnEmptyStreamOrNoGroupIsNoProblem) {
  const std::int64_t user = unique_number(710'000'000'000);
  const std::string stream = tracker::testing::unique_key("erase-empty");
  const std::string backlog = tracker::testing::unique_key("erase-empty-backlog");
  tracker::testing::with_shared_connection(tracker::testing::options(), [&](std::shared_ptr<Connection> connection,
                                                                            tracker::metrics::Registry&) -> asio::awaitable<void> {
    UnflushedUserData data(connection, 2s);
    data.use_keys(stream, backlog, "flusher");
    const ports::BacklogPosition nothing_stored;
    ports::UnflushedErasure erased = co_await data.erase_user(user, nothing_stored);
    EXPECT_EQ(erased.events, 0);
    // A stream no flusher has read yet (no consumer group): the user's entry still goes.
    const std::string only = row(user, 1);
    co_await run(*connection, "XADD", stream, "*", "rows", only);
    co_await run(*connection, "SET", backlog, "1");
    erased = co_await data.erase_user(user, nothing_stored);
    EXPECT_EQ(erased.events, 1);
    EXPECT_EQ((co_await run(*connection, "XLEN", stream)).integer, 0);
    EXPECT_EQ((co_await run(*connection, "GET", backlog)).as_int(), 0);
    co_await run(*connection, "DEL", stream, backlog);
  });
}

}  // namespace
