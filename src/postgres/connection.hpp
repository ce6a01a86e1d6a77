#pragma once
#include "postgres/result.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

struct pg_conn;  // libpq's PGconn

namespace tracker::postgres {

namespace asio = boost::asio;
using std::chrono::milliseconds;

struct ConnectionOptions {
  // libpq connection string. Use an IP address for host (or hostaddr=): libpq resolves
  // host names with a blocking getaddrinfo() even when connecting asynchronously.
  std::string dsn;
  milliseconds connect_timeout{3000};
  // Default for operations called with timeout 0. Enforced by the client (the server
  // is sent a cancel request), not as the server's statement_timeout, so a caller
  // can give one long COPY more time.
  milliseconds statement_timeout{5000};
};

// One statement of a pipeline. Parameters are in text format; nullopt is SQL NULL.
struct Statement {
  std::string sql;
  std::vector<std::optional<std::string>> params;
};

// One non-blocking libpq connection driven by an Asio executor. Owned by one I/O
// thread (not thread-safe) and runs one operation at a time.
//
// Errors are ports::StoreError subclasses (see errors.hpp): SqlError when the server
// rejects a statement and SqlBusy when it refuses one for now (read-only, serialization
// failure, deadlock; the connection stays usable either way), StoreUnavailable when the
// connection is refused or lost, StoreTimeout when an operation outlives its timeout
// (the server is sent a cancel request). After Unavailable or Timeout the connection
// is broken() and the owner replaces it.
class Connection {
 public:
  static asio::awaitable<std::unique_ptr<Connection>> connect(asio::any_io_executor executor,
                                                              ConnectionOptions options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // One statement with $1.. parameters; timeout 0 means options.statement_timeout.
  // A COPY statement is refused (StoreRejected) and breaks the connection: COPY data
  // goes through copy_in().
  asio::awaitable<Result> execute(std::string_view sql,
                                  std::span<const std::optional<std::string>> params = {},
                                  milliseconds timeout = {});

  // Like execute(), for a statement run often: prepared under `name` on its first use on
  // this connection, so that later runs skip parsing and, once PostgreSQL keeps a generic
  // plan, planning. A name must always stand for the same SQL.
  asio::awaitable<Result> execute_prepared(std::string_view name, std::string_view sql,
                                           std::span<const std::optional<std::string>> params = {},
                                           milliseconds timeout = {});

  // Sends all statements in one round trip (libpq pipeline mode, one sync at the end)
  // and returns their results in order. The server skips everything after the first
  // failing statement, which is thrown as SqlError; if the failure left a transaction
  // that the pipeline itself opened aborted, it is rolled back first, so the
  // connection is idle again. Without BEGIN the statements share one implicit
  // transaction.
  asio::awaitable<std::vector<Result>> pipeline(std::span<const Statement> statements,
                                                milliseconds timeout = {});

  // Runs `copy_sql` (COPY ... FROM STDIN) and streams `data` in COPY text format.
  // Returns the number of rows copied. A row the server rejects is reported (SqlError)
  // only once all of `data` has been sent.
  asio::awaitable<std::int64_t> copy_in(std::string_view copy_sql, std::string_view data,
                                        milliseconds timeout = {});

  // True after a connection-level failure or timeout; every operation then throws
  // StoreUnavailable.
  bool broken() const { return broken_; }
  // True inside BEGIN ... COMMIT/ROLLBACK, including a failed transaction that still
  // needs its ROLLBACK.
  bool in_transaction() const;

 private:
  using Clock = std::chrono::steady_clock;
  class Operation;
  struct ClearResult {
    void operator()(pg_result* result) const;
  };
  using ResultPtr = std::unique_ptr<pg_result, ClearResult>;
  struct Outcome {
    Result last;      // the statement's last successful result
    ResultPtr error;  // its first error, if any
  };

  Connection(asio::any_io_executor executor, ConnectionOptions options, pg_conn* conn);

  Clock::time_point deadline_after(milliseconds timeout) const;
  asio::awaitable<Result> run_query(const std::string& sql,
                                    std::span<const std::optional<std::string>> params,
                                    Clock::time_point deadline);
  void send_query(const std::string& sql, std::span<const std::optional<std::string>> params);
  asio::awaitable<Outcome> read_results(Clock::time_point deadline, ResultPtr first = nullptr);
  asio::awaitable<ResultPtr> next_result(Clock::time_point deadline);
  asio::awaitable<void> flush(Clock::time_point deadline);
  asio::awaitable<short> wait(short events, Clock::time_point deadline);
  void adopt_socket();
  void mark_broken();
  std::exception_ptr error_from(const pg_result* result);
  [[noreturn]] void fail(const pg_result* result = nullptr);
  [[noreturn]] void time_out();

  ConnectionOptions options_;
  pg_conn* conn_;
  asio::posix::stream_descriptor socket_;
  asio::steady_timer timer_;
  bool broken_ = false;
  bool busy_ = false;
  std::unordered_set<std::string> prepared_;  // statement names prepared on this connection
};

}  // namespace tracker::postgres
