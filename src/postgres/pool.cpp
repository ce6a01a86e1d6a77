#include "postgres/pool.hpp"

#include "ports/errors.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace tracker::postgres {

Lease& Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    give_back();
    pool_ = other.pool_;
    connection_ = std::move(other.connection_);
  }
  return *this;
}

Lease::~Lease() { give_back(); }

void Lease::give_back() {
  if (pool_ != nullptr && connection_) pool_->give_back(std::move(connection_));
}

// An acquire() waiting for a connection. Woken by cancelling its timer, with a
// connection handed over directly (so that a newcomer cannot take it first) or with
// none when a slot freed up and it may connect itself.
struct Pool::Waiter {
  Waiter(Pool& pool, std::chrono::steady_clock::time_point deadline)
      : pool(pool), timer(pool.executor_, deadline) {
    pool.waiters_.push_back(this);
  }
  ~Waiter() {
    if (!woken) std::erase(pool.waiters_, this);
    if (connection) pool.give_back(std::move(connection));  // handed over, never resumed
  }
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;

  Pool& pool;
  asio::steady_timer timer;
  bool woken = false;
  std::unique_ptr<Connection> connection;
};

Pool::Pool(asio::any_io_executor executor, ConnectionOptions options, std::size_t size,
           std::size_t max_waiters, metrics::Registry& metrics)
    : executor_(std::move(executor)),
      options_(std::move(options)),
      size_(size),
      max_waiters_(max_waiters),
      connects_(metrics.counter("tracker_pg_connects_total", "PostgreSQL connections opened")),
      connect_failures_(metrics.counter("tracker_pg_connect_failures_total",
                                        "PostgreSQL connection attempts that failed")),
      discarded_(metrics.counter("tracker_pg_connections_discarded_total",
                                 "PostgreSQL connections dropped as broken or mid-transaction")),
      rejected_exhausted_(metrics.counter("tracker_pg_acquire_rejected_total",
                                          "PostgreSQL connection requests refused",
                                          "reason=\"pool_exhausted\"")),
      rejected_timeout_(metrics.counter("tracker_pg_acquire_rejected_total",
                                        "PostgreSQL connection requests refused",
                                        "reason=\"timeout\"")),
      waits_(metrics.histogram("tracker_pg_acquire_wait_seconds",
                               "Time requests waited for a busy pool's next free PostgreSQL connection")) {}

asio::awaitable<Lease> Pool::acquire(milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    while (!idle_.empty()) {
      std::unique_ptr<Connection> connection = std::move(idle_.back());
      idle_.pop_back();
      if (!connection->broken()) co_return Lease(this, std::move(connection));
      --open_;
      discarded_.inc();
    }

    if (open_ < size_) {
      ++open_;  // reserve the slot while connecting
      ConnectionOptions options = options_;
      auto left =
          std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
      options.connect_timeout = std::clamp(left, milliseconds(1), options.connect_timeout);
      std::unique_ptr<Connection> connection;
      try {
        connection = co_await Connection::connect(executor_, std::move(options));
      } catch (...) {
        --open_;
        connect_failures_.inc();
        hand_over(nullptr);  // a waiter may have better luck
        throw;
      }
      connects_.inc();
      co_return Lease(this, std::move(connection));
    }

    if (waiters_.size() >= max_waiters_) {
      rejected_exhausted_.inc();
      throw ports::Overloaded("pg_pool_exhausted",
                              "all PostgreSQL connections are busy and too many requests wait");
    }
    Waiter waiter(*this, deadline);
    auto waiting_since = std::chrono::steady_clock::now();
    boost::system::error_code ignored;
    co_await waiter.timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    waits_.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - waiting_since).count());
    if (waiter.connection) co_return Lease(this, std::move(waiter.connection));
    if (!waiter.woken) {
      rejected_timeout_.inc();
      throw ports::StoreTimeout("timed out waiting for a free PostgreSQL connection");
    }
    // Woken without a connection: a slot is free, go round and connect.
  }
}

void Pool::give_back(std::unique_ptr<Connection> connection) {
  if (connection->broken() || connection->in_transaction()) {
    // A transaction left open would leak into the next user's statements.
    --open_;
    discarded_.inc();
    connection.reset();
  }
  hand_over(std::move(connection));
}

void Pool::hand_over(std::unique_ptr<Connection> connection) {
  if (waiters_.empty()) {
    if (connection) idle_.push_back(std::move(connection));
    return;
  }
  Waiter* waiter = waiters_.front();
  waiters_.pop_front();
  waiter->woken = true;
  waiter->connection = std::move(connection);
  waiter->timer.cancel();
}

}  // namespace tracker::postgres
