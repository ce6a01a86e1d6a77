#pragma once
#include "metrics/metrics.hpp"
#include "postgres/connection.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <vector>

namespace tracker::postgres {

class Pool;

// A connection borrowed from a Pool; returned when the Lease is destroyed.
class Lease {
 public:
  Lease() = default;
  Lease(Lease&& other) noexcept = default;
  Lease& operator=(Lease&& other) noexcept;
  ~Lease();

  Connection& operator*() const { return *connection_; }
  Connection* operator->() const { return connection_.get(); }

 private:
  friend class Pool;
  Lease(Pool* pool, std::unique_ptr<Connection> connection)
      : pool_(pool), connection_(std::move(connection)) {}
  void give_back();

  Pool* pool_ = nullptr;
  std::unique_ptr<Connection> connection_;
};

// A small bounded set of connections for one I/O thread (not thread-safe; leases are
// used and destroyed on that thread, and the pool outlives them). Connects lazily, up
// to `size`. A connection returned broken or inside a transaction is discarded
// rather than reused, and the next acquire() opens a fresh one.
class Pool {
 public:
  Pool(asio::any_io_executor executor, ConnectionOptions options, std::size_t size,
       std::size_t max_waiters, metrics::Registry& metrics);
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Waits up to `timeout` for a free connection (ports::StoreTimeout after that). Fails
  // at once with ports::Overloaded("pg_pool_exhausted") when `max_waiters` acquirers
  // are already waiting, and with StoreUnavailable when connecting fails.
  asio::awaitable<Lease> acquire(milliseconds timeout);

  std::size_t open_connections() const { return open_; }
  std::size_t idle_connections() const { return idle_.size(); }
  std::size_t waiting() const { return waiters_.size(); }

 private:
  friend class Lease;
  struct Waiter;

  void give_back(std::unique_ptr<Connection> connection);
  void hand_over(std::unique_ptr<Connection> connection);

  asio::any_io_executor executor_;
  ConnectionOptions options_;
  std::size_t size_;
  std::size_t max_waiters_;
  std::size_t open_ = 0;  // idle, leased or being connected
  std::vector<std::unique_ptr<Connection>> idle_;
  std::deque<Waiter*> waiters_;  // oldest first
  metrics::Counter& connects_;
  metrics::Counter& connect_failures_;
  metrics::Counter& discarded_;
  metrics::Counter& rejected_exhausted_;
  metrics::Counter& rejected_timeout_;
  metrics::Histogram& waits_;
};

}  // namespace tracker::postgres
