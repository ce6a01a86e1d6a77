// Integration tests of the pipelined Redis client against a real Redis
// (TRACKER_REDIS_HOST / TRACKER_REDIS_PORT).
#include "metrics/metrics.hpp"
#include "ports/errors.hpp"
#include "redis/connection.hpp"
#include "redis/errors.hpp"
#include "redis/script.hpp"
#include "redis_support.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace ports = tracker::ports;
using namespace std::chrono_literals;
using tracker::redis::Connection;
using tracker::redis::ConnectionOptions;
using tracker::redis::Reply;
using tracker::redis::ReplyError;
using tracker::redis::ScriptMissing;
using tracker::redis::Script;
using tracker::testing::options;
using tracker::testing::unique_key;
using tracker::testing::wait_connected;
using tracker::testing::with_connection;

TEST(RedisConnection, ConcurrentCommandsArePipelinedAndMatchedInOrder) {
  with_connection(options(), [](Connection& redis) -> asio::awaitable<void> {
    std::string key = unique_key("counter");
    constexpr int kCommands = 5000;
    std::vector<std::int64_t> answers(kCommands, -1);
    int finished = 0;
    auto executor = co_await asio::this_coro::executor;
    for (int i = 0; i < kCommands; ++i) {
      asio::co_spawn(
          executor,
          [&, i]() -> asio::awaitable<void> {
            const std::string_view incr[] = {"INCR", key};
            answers[i] = (co_await redis.execute(incr)).integer;
            ++finished;
          },
          asio::detached);
    }
    asio::steady_timer timer(executor);
    for (int spins = 0; finished < kCommands && spins < 500; ++spins) {
      timer.expires_after(10ms);
      co_await timer.async_wait(asio::use_awaitable);
    }
    EXPECT_EQ(finished, kCommands);
    // Issued in order on one connection, so each got the value of its position.
    for (int i = 0; i < kCommands; ++i) EXPECT_EQ(answers[i], i + 1) << "command " << i;
    const std::string_view del[] = {"DEL", key};
    co_await redis.execute(del);
  });
}

// Commands are written as RESP by the client itself: any bytes, empty and large
// arguments go through unchanged.
TEST(RedisConnection, ArgumentsAreBinarySafe) {
  with_connection(options(), [](Connection& redis) -> asio::awaitable<void> {
    std::string key = unique_key("binary");
    std::string large(300'000, 'x');
    for (std::size_t i = 0; i < large.size(); i += 997) large[i] = static_cast<char>(i % 256);
    for (std::string value : {std::string(), std::string("a\r\n$3\r\n*1\0b", 11), large}) {
      const std::string_view set[] = {"SET", key, value};
      EXPECT_EQ((co_await redis.execute(set)).text, "OK");
      const std::string_view get[] = {"GET", key};
      Reply reply = co_await redis.execute(get);
      EXPECT_TRUE(reply.is_string());
      EXPECT_EQ(reply.text, value);
    }
    const std::string_view del[] = {"DEL", key};
    co_await redis.execute(del);
  });
}

TEST(RedisConnection, ErrorRepliesAreThrownClassifiedAndTheConnectionGoesOn) {
  with_connection(options(), [](Connection& redis) -> asio::awaitable<void> {
    const std::string_view bad[] = {"NOSUCHCOMMAND"};
    try {
      co_await redis.execute(bad);
      ADD_FAILURE() << "an error reply was returned";
    } catch (const ReplyError& error) {
      EXPECT_EQ(error.prefix(), "ERR");
    }
    const std::string_view noscript[] = {"EVALSHA", "0000000000000000000000000000000000000000", "0"};
    bool missing = false;
    try {
      co_await redis.execute(noscript);
    } catch (const ScriptMissing&) {
      missing = true;
    }
    EXPECT_TRUE(missing);
    const std::string_view ping[] = {"PING"};
    EXPECT_EQ((co_await redis.execute(ping)).text, "PONG");
  });
}

TEST(RedisConnection, ScriptsAreReloadedAfterScriptFlush) {
  with_connection(options(), [](Connection& redis) -> asio::awaitable<void> {
    static constexpr std::string_view kBody = "return ARGV[1] .. '!'";
    Script script(kBody);
    const std::string_view args[] = {"hello"};
    EXPECT_EQ((co_await script.run(redis, {}, args)).text, "hello!");
    const std::string_view flush[] = {"SCRIPT", "FLUSH"};
    co_await redis.execute(flush);
    EXPECT_EQ((co_await script.run(redis, {}, args)).text, "hello!");  // NOSCRIPT, then EVAL
  });
}

TEST(RedisConnection, ATimedOutCommandFailsFastAndTheConnectionRecovers) {
  with_connection(options(), [](Connection& redis) -> asio::awaitable<void> {
    // A script that spins for half a second blocks the server: no answer within 100 ms.
    const std::string_view sleep[] = {
        "EVAL",
        "local t0 = redis.call('TIME') local start = t0[1] * 1000000 + t0[2] "
        "while true do local t = redis.call('TIME') "
        "if t[1] * 1000000 + t[2] - start > 500000 then return 1 end end",
        "0"};
    auto started = std::chrono::steady_clock::now();
    EXPECT_THROW(co_await redis.execute(sleep, 100ms), ports::StoreTimeout);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 400ms);
    co_await wait_connected(redis, 5s);
    const std::string_view ping[] = {"PING"};
    Reply reply;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (int attempt = 0; attempt < 50; ++attempt) {  // reconnects once Redis answers again
      bool answered = false;
      try {
        reply = co_await redis.execute(ping, 1000ms);
        answered = true;
      } catch (const ports::StoreUnavailable&) {
      }
      if (answered) break;
      timer.expires_after(50ms);
      co_await timer.async_wait(asio::use_awaitable);
    }
    EXPECT_EQ(reply.text, "PONG");
  });
}

TEST(RedisConnection, AnUnreachableServerIsUnavailableAtOnce) {
  asio::io_context io;
  tracker::metrics::Registry metrics;
  ConnectionOptions unreachable = options();
  unreachable.port = 1;  // nothing listens there
  auto connection = Connection::create(io.get_executor(), unreachable, metrics);
  connection->start();
  bool threw_unavailable = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        const std::string_view ping[] = {"PING"};
        try {
          co_await connection->execute(ping);
        } catch (const ports::StoreUnavailable&) {
          threw_unavailable = true;
        }
      },
      [&](std::exception_ptr) { connection->stop(); });
  io.run();
  EXPECT_TRUE(threw_unavailable);
}

TEST(RedisConnection, TooManyWaitingCommandsAreRefusedWithOverloaded) {
  ConnectionOptions small = options();
  small.max_pending = 10;
  with_connection(small, [](Connection& redis) -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    int overloaded = 0, answered = 0;
    for (int i = 0; i < 50; ++i) {
      asio::co_spawn(
          executor,
          [&]() -> asio::awaitable<void> {
            const std::string_view ping[] = {"PING"};
            try {
              co_await redis.execute(ping);
              ++answered;
            } catch (const ports::Overloaded& e) {
              EXPECT_EQ(e.reason(), "redis_queue_full");
              ++overloaded;
            }
          },
          asio::detached);
    }
    asio::steady_timer timer(executor);
    for (int spins = 0; overloaded + answered < 50 && spins < 300; ++spins) {
      timer.expires_after(10ms);
      co_await timer.async_wait(asio::use_awaitable);
    }
    EXPECT_EQ(answered, 10);
    EXPECT_EQ(overloaded, 40);
  });
}

}  // namespace
