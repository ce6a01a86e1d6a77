#pragma once
// Shared by the *_redistest.cpp tests: the test Redis (TRACKER_REDIS_HOST /
// TRACKER_REDIS_PORT) and a connection to it on a fresh io_context.
#include "metrics/metrics.hpp"
#include "redis/connection.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tracker::testing {

namespace asio = boost::asio;
using redis::Connection;
using redis::ConnectionOptions;
using namespace std::chrono_literals;

inline ConnectionOptions options() {
  ConnectionOptions options;
  const char* host = std::getenv("TRACKER_REDIS_HOST");
  const char* port = std::getenv("TRACKER_REDIS_PORT");
  options.host = host && *host ? host : "127.0.0.1";
  options.port = static_cast<std::uint16_t>(port && *port ? std::atoi(port) : 56379);
  return options;
}

inline std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A number above `base` that no other run uses at the same time (by process and time), for
// ids whose counts, balances or lists a test reads as its own.
inline std::int64_t unique_number(std::int64_t base) {
  return base + (::getpid() % 100'000) * 1000 + (now_ms() / 7) % 1000;
}

inline std::string unique_key(const std::string& name) {
  return "test:" + name + ":" + std::to_string(::getpid()) + ":" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
}

// A command's words as strings: GCC 12 mishandles a braced list inside a co_await, so
// tests build commands with words(...) and send them with run().
template <class... Words>
std::vector<std::string> words(Words&&... each) {
  std::vector<std::string> out;
  (out.emplace_back(std::forward<Words>(each)), ...);
  return out;
}

inline asio::awaitable<redis::Reply> run(Connection& redis, std::vector<std::string> command,
                                         std::chrono::milliseconds timeout = 5s) {
  std::vector<std::string_view> args(command.begin(), command.end());
  co_return co_await redis.execute(args, timeout);
}

inline asio::awaitable<void> wait_connected(Connection& connection, std::chrono::milliseconds limit = 3s) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!connection.connected()) {
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("redis did not connect");
    timer.expires_after(10ms);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

// Runs `body(connection, metrics)` against a started connection on a fresh io_context;
// the connection is shared, for adapters that keep one.
template <class Body>
void with_shared_connection(ConnectionOptions connection_options, Body body) {
  asio::io_context io;
  tracker::metrics::Registry metrics;
  auto connection = Connection::create(io.get_executor(), connection_options, metrics);
  connection->start();
  std::exception_ptr error;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await wait_connected(*connection);
        co_await body(connection, metrics);
      },
      [&](std::exception_ptr e) {
        error = e;
        connection->stop();
      });
  io.run();
  if (error) std::rethrow_exception(error);
}

// Runs `body(connection)` against a started connection on a fresh io_context.
template <class Body>
void with_connection(ConnectionOptions connection_options, Body body) {
  with_shared_connection(connection_options, [&body](std::shared_ptr<Connection> connection,
                                                     tracker::metrics::Registry&) { return body(*connection); });
}

}  // namespace tracker::testing
