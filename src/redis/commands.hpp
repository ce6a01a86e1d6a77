#pragma once
#include "redis/reply.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <initializer_list>
#include <span>
#include <string_view>

namespace tracker::redis {

namespace asio = boost::asio;
using std::chrono::milliseconds;

// What the adapters need of Redis: send a command, get its reply, within a deadline. One
// connection provides it, and so does a client of a Redis Cluster, which sends each
// command to the master that owns the slot of the command's first key. Adapters hold a
// Commands, never a Connection, so that they run unchanged on either.
//
// Errors are thrown as ports::StoreError subclasses (redis/errors.hpp).
class Commands {
 public:
  virtual ~Commands() = default;

  virtual asio::awaitable<Reply> execute(std::span<const std::string_view> args,
                                         milliseconds timeout) = 0;
  asio::awaitable<Reply> execute(std::span<const std::string_view> args) {
    return execute(args, default_timeout());
  }
  // The arguments' storage lives until the end of the full expression that awaits this.
  asio::awaitable<Reply> execute(std::initializer_list<std::string_view> args) {
    return execute(std::span<const std::string_view>(args.begin(), args.size()));
  }

  // The command goes to the connection that a command on `key` would use, whatever its
  // own arguments: WAIT after a write must reach the master, and the connection, that
  // took the write. One connection has only itself.
  virtual asio::awaitable<Reply> execute_at(std::string_view key, std::span<const std::string_view> args,
                                            milliseconds timeout) {
    (void)key;
    return execute(args, timeout);
  }

  virtual milliseconds default_timeout() const = 0;
  // False while no command could be sent now (a health probe answers "not ready").
  virtual bool connected() const = 0;
  // The I/O thread that owns this (adapters post their own work there).
  virtual const asio::any_io_executor& executor() const = 0;
};

// A Commands that the program starts and stops: one Connection or a ClusterClient
// (make_client in redis/cluster.hpp picks one), so main wires either the same way.
class Client : public Commands {
 public:
  virtual void start() = 0;
  // Fails what is waiting and stops reconnecting; posted, so callable from any thread.
  virtual void stop() = 0;
  // Returns once connected() or after `limit`, whichever comes first.
  virtual asio::awaitable<void> wait_connected(milliseconds limit) = 0;
};

}  // namespace tracker::redis
