// Helpers for tests against a real PostgreSQL (TRACKER_PG_DSN, migrated).
#pragma once
#include "postgres/connection.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace tracker::pgtest {

inline std::string dsn() {
  const char* env = std::getenv("TRACKER_PG_DSN");
  return env != nullptr && *env != '\0' ? env : "host=127.0.0.1 port=55432 user=tracker dbname=tracker";
}

// Runs one operation to completion on `io` and returns its result (or rethrows).
template <class T>
T await(boost::asio::io_context& io, boost::asio::awaitable<T> operation) {
  std::optional<T> out;
  std::exception_ptr failure;
  boost::asio::co_spawn(io, std::move(operation), [&](std::exception_ptr error, T value) {
    failure = error;
    if (!error) out.emplace(std::move(value));
  });
  io.restart();
  io.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*out);
}

// One statement on a connection of its own.
inline boost::asio::awaitable<postgres::Result> execute(std::string sql, std::vector<std::optional<std::string>> params) {
  auto executor = co_await boost::asio::this_coro::executor;
  // A named variable: GCC 12 destroys a temporary inside a co_await expression twice.
  postgres::ConnectionOptions options;
  options.dsn = dsn();
  std::unique_ptr<postgres::Connection> db = co_await postgres::Connection::connect(executor, options);
  postgres::Result result = co_await db->execute(sql, params);
  co_return result;
}

}  // namespace tracker::pgtest
