#include "postgres/connection.hpp"

#include "ports/errors.hpp"

#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <libpq-fe.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

namespace tracker::postgres {

namespace {

constexpr std::size_t kCopyChunk = 64 * 1024;
constexpr std::size_t kMaxParams = 65535;  // the protocol's limit

std::string trimmed(const char* message) {
  std::string out = message ? message : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

void log_notice(void*, const PGresult* notice) {
  const char* severity = PQresultErrorField(notice, PG_DIAG_SEVERITY_NONLOCALIZED);
  std::string message = trimmed(PQresultErrorMessage(notice));
  if (severity != nullptr && std::string_view(severity) == "WARNING") {
    spdlog::warn("postgres: {}", message);
  } else {
    spdlog::debug("postgres: {}", message);
  }
}

// PQcancel opens its own connection to the server and blocks until the request is
// delivered (with no timeout of its own), so it runs on a worker thread and the I/O
// thread does not wait for it.
void send_cancel(PGconn* conn) {
  std::shared_ptr<PGcancel> cancel(PQgetCancel(conn), [](PGcancel* c) {
    if (c != nullptr) PQfreeCancel(c);
  });
  if (!cancel) return;
  static asio::thread_pool worker(1);
  asio::post(worker, [cancel] {
    char error[256];
    if (!PQcancel(cancel.get(), error, sizeof error)) {
      spdlog::warn("postgres: cancel request failed: {}", trimmed(error));
    }
  });
}

void check_param_count(std::span<const std::optional<std::string>> params) {
  if (params.size() > kMaxParams) {
    throw ports::StoreRejected("postgres: a statement takes at most 65535 parameters");
  }
}

}  // namespace

void Connection::ClearResult::operator()(pg_result* result) const { PQclear(result); }

// Enforces one operation at a time, and breaks the connection when an operation
// stops half-way (its coroutine destroyed, an unexpected exception): libpq would
// otherwise still expect that operation's results.
class Connection::Operation {
 public:
  explicit Operation(Connection& connection) : connection_(connection) {
    if (connection_.busy_) {
      throw std::logic_error("postgres::Connection runs one operation at a time");
    }
    if (connection_.broken_) throw ports::StoreUnavailable("postgres: connection is broken");
    connection_.busy_ = true;
  }
  ~Operation() {
    connection_.busy_ = false;
    PGconn* conn = connection_.conn_;
    if (!connection_.broken_ &&
        (PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) == PQTRANS_ACTIVE ||
         PQpipelineStatus(conn) != PQ_PIPELINE_OFF)) {
      connection_.mark_broken();
    }
  }
  Operation(const Operation&) = delete;
  Operation& operator=(const Operation&) = delete;

 private:
  Connection& connection_;
};

Connection::Connection(asio::any_io_executor executor, ConnectionOptions options, pg_conn* conn)
    : options_(std::move(options)), conn_(conn), socket_(executor), timer_(executor) {}

Connection::~Connection() {
  // The socket belongs to libpq: take it back from Asio before PQfinish closes it.
  if (socket_.is_open()) socket_.release();
  PQfinish(conn_);
}

asio::awaitable<std::unique_ptr<Connection>> Connection::connect(asio::any_io_executor executor,
                                                                 ConnectionOptions options) {
  auto deadline = Clock::now() + options.connect_timeout;
  PGconn* conn = PQconnectStart(options.dsn.c_str());
  if (conn == nullptr) throw ports::StoreUnavailable("postgres: out of memory");
  std::unique_ptr<Connection> connection(
      new Connection(std::move(executor), std::move(options), conn));
  PQsetNoticeReceiver(conn, log_notice, nullptr);

  // libpq's rule: before the first PQconnectPoll, wait as if it had asked for writing.
  PostgresPollingStatusType status = PGRES_POLLING_WRITING;
  while (PQstatus(conn) != CONNECTION_BAD && status != PGRES_POLLING_OK &&
         status != PGRES_POLLING_FAILED) {
    // libpq may move to a new socket between polls (next address, SSL or GSS
    // fallback), possibly with the same number, so the descriptor is adopted afresh.
    connection->adopt_socket();
    co_await connection->wait(status == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
    status = PQconnectPoll(conn);
  }
  if (status != PGRES_POLLING_OK) connection->fail();
  connection->adopt_socket();
  if (PQsetnonblocking(conn, 1) != 0) connection->fail();
  co_return connection;
}

bool Connection::in_transaction() const {
  auto status = PQtransactionStatus(conn_);
  return status == PQTRANS_INTRANS || status == PQTRANS_INERROR;
}

asio::awaitable<Result> Connection::execute(std::string_view sql,
                                            std::span<const std::optional<std::string>> params,
                                            milliseconds timeout) {
  Operation operation(*this);
  check_param_count(params);
  co_return co_await run_query(std::string(sql), params, deadline_after(timeout));
}

asio::awaitable<Result> Connection::execute_prepared(std::string_view name, std::string_view sql,
                                                     std::span<const std::optional<std::string>> params,
                                                     milliseconds timeout) {
  Operation operation(*this);
  check_param_count(params);
  auto deadline = deadline_after(timeout);
  std::string statement(name);
  if (!prepared_.contains(statement)) {
    std::string text(sql);
    if (!PQsendPrepare(conn_, statement.c_str(), text.c_str(), static_cast<int>(params.size()), nullptr)) fail();
    co_await flush(deadline);
    Outcome prepared = co_await read_results(deadline);
    if (prepared.error) fail(prepared.error.get());
    prepared_.insert(statement);
  }
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& param : params) values.push_back(param ? param->c_str() : nullptr);
  if (!PQsendQueryPrepared(conn_, statement.c_str(), static_cast<int>(params.size()), values.data(), nullptr,
                           nullptr, 0)) {
    fail();
  }
  co_await flush(deadline);
  Outcome outcome = co_await read_results(deadline);
  if (outcome.error) fail(outcome.error.get());
  co_return std::move(outcome.last);
}

asio::awaitable<std::vector<Result>> Connection::pipeline(std::span<const Statement> statements,
                                                          milliseconds timeout) {
  Operation operation(*this);
  if (statements.empty()) co_return std::vector<Result>{};
  auto deadline = deadline_after(timeout);
  for (const auto& statement : statements) check_param_count(statement.params);
  bool started_idle = PQtransactionStatus(conn_) == PQTRANS_IDLE;

  if (!PQenterPipelineMode(conn_)) fail();
  for (const auto& statement : statements) send_query(statement.sql, statement.params);
  if (!PQpipelineSync(conn_)) fail();
  co_await flush(deadline);

  // Every result up to the sync has to be read, even after an error, before libpq
  // lets the connection leave pipeline mode.
  std::vector<Result> results;
  results.reserve(statements.size());
  ResultPtr error;
  for (std::size_t i = 0; i < statements.size(); ++i) {
    Outcome outcome = co_await read_results(deadline);
    if (outcome.error && !error) error = std::move(outcome.error);
    results.push_back(std::move(outcome.last));
  }
  ResultPtr sync = co_await next_result(deadline);
  if (!sync || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC || !PQexitPipelineMode(conn_)) {
    fail();
  }
  if (!error) co_return results;

  std::exception_ptr failure = error_from(error.get());
  // Inside BEGIN the sync does not end the failed transaction. If the pipeline opened
  // it, close it here rather than hand the caller a connection that rejects everything.
  if (!broken_ && started_idle && PQtransactionStatus(conn_) == PQTRANS_INERROR) {
    try {
      co_await run_query("ROLLBACK", {}, deadline);
    } catch (const ports::StoreError&) {
      // Already reflected in broken(); the statement's error is the one to report.
    }
  }
  std::rethrow_exception(failure);
}

asio::awaitable<std::int64_t> Connection::copy_in(std::string_view copy_sql, std::string_view data,
                                                  milliseconds timeout) {
  Operation operation(*this);
  auto deadline = deadline_after(timeout);
  std::string sql(copy_sql);
  if (!PQsendQuery(conn_, sql.c_str())) fail();
  co_await flush(deadline);

  ResultPtr started = co_await next_result(deadline);
  if (!started || PQresultStatus(started.get()) != PGRES_COPY_IN) {
    Outcome outcome = co_await read_results(deadline, std::move(started));
    if (outcome.error) fail(outcome.error.get());
    throw ports::StoreRejected("postgres: copy_in() needs a COPY ... FROM STDIN statement");
  }

  for (std::size_t offset = 0; offset < data.size(); offset += kCopyChunk) {
    std::size_t size = std::min(kCopyChunk, data.size() - offset);
    // In non-blocking mode libpq grows its buffer rather than refuse data (0 means it
    // could not grow it), so it is flushing every chunk that bounds memory.
    if (PQputCopyData(conn_, data.data() + offset, static_cast<int>(size)) != 1) fail();
    co_await flush(deadline);
  }
  if (PQputCopyEnd(conn_, nullptr) != 1) fail();
  co_await flush(deadline);

  Outcome outcome = co_await read_results(deadline);
  if (outcome.error) fail(outcome.error.get());
  co_return outcome.last.affected_rows();
}

Connection::Clock::time_point Connection::deadline_after(milliseconds timeout) const {
  return Clock::now() + (timeout.count() > 0 ? timeout : options_.statement_timeout);
}

asio::awaitable<Result> Connection::run_query(const std::string& sql,
                                              std::span<const std::optional<std::string>> params,
                                              Clock::time_point deadline) {
  send_query(sql, params);
  co_await flush(deadline);
  Outcome outcome = co_await read_results(deadline);
  if (outcome.error) fail(outcome.error.get());
  co_return std::move(outcome.last);
}

void Connection::send_query(const std::string& sql,
                            std::span<const std::optional<std::string>> params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& param : params) values.push_back(param ? param->c_str() : nullptr);
  if (!PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                         values.data(), nullptr, nullptr, 0)) {
    fail();
  }
}

// Reads one statement's results up to the null that ends them, even past an error,
// so that the connection is ready for the next statement.
asio::awaitable<Connection::Outcome> Connection::read_results(Clock::time_point deadline,
                                                              ResultPtr result) {
  Outcome outcome;
  if (!result) result = co_await next_result(deadline);
  while (result) {
    switch (PQresultStatus(result.get())) {
      case PGRES_FATAL_ERROR:
      case PGRES_BAD_RESPONSE:
        if (!outcome.error) outcome.error = std::move(result);
        break;
      case PGRES_PIPELINE_ABORTED:  // skipped by the server after an earlier error
        break;
      case PGRES_COPY_IN:
      case PGRES_COPY_OUT:
      case PGRES_COPY_BOTH:
        // Leaving COPY mode takes the data-transfer calls; only copy_in() has them.
        mark_broken();
        throw ports::StoreRejected("postgres: COPY needs copy_in() (FROM STDIN only)");
      default:
        outcome.last = Result(result.release());
    }
    result = co_await next_result(deadline);
  }
  co_return outcome;
}

asio::awaitable<Connection::ResultPtr> Connection::next_result(Clock::time_point deadline) {
  while (PQisBusy(conn_)) {
    co_await wait(POLLIN, deadline);
    if (!PQconsumeInput(conn_)) fail();
  }
  co_return ResultPtr(PQgetResult(conn_));
}

// Sends what libpq has buffered. The server may stop reading while its own output to
// us is backed up, so incoming data is consumed meanwhile (libpq's documented loop).
asio::awaitable<void> Connection::flush(Clock::time_point deadline) {
  for (;;) {
    int pending = PQflush(conn_);
    if (pending == 0) co_return;
    if (pending < 0) fail();
    short ready = co_await wait(POLLIN | POLLOUT, deadline);
    if ((ready & POLLIN) && !PQconsumeInput(conn_)) fail();
  }
}

// Waits until the socket is ready for `events` (POLLIN and/or POLLOUT) and returns
// which. (Asio re-arms the descriptor when a wait starts, so readiness that libpq left
// unconsumed is reported at once.)
asio::awaitable<short> Connection::wait(short events, Clock::time_point deadline) {
  int fd = PQsocket(conn_);
  if (fd < 0 || fd != socket_.native_handle()) fail();
  // Checked here too: a socket that is always ready would otherwise win every race
  // against an expired timer.
  if (Clock::now() >= deadline) time_out();

  using asio::experimental::make_parallel_group;
  using asio::experimental::wait_for_one;
  using Descriptor = asio::posix::descriptor_base;
  timer_.expires_at(deadline);
  bool timed_out = false;
  boost::system::error_code error;
  short result = events;
  if (events == (POLLIN | POLLOUT)) {
    auto [order, read_error, write_error, timer_error] =
        co_await make_parallel_group(socket_.async_wait(Descriptor::wait_read, asio::deferred),
                                     socket_.async_wait(Descriptor::wait_write, asio::deferred),
                                     timer_.async_wait(asio::deferred))
            .async_wait(wait_for_one(), asio::use_awaitable);
    timed_out = order[0] == 2;
    error = order[0] == 0 ? read_error : write_error;
    result = order[0] == 0 ? POLLIN : POLLOUT;
  } else {
    auto direction = events == POLLIN ? Descriptor::wait_read : Descriptor::wait_write;
    auto [order, wait_error, timer_error] =
        co_await make_parallel_group(socket_.async_wait(direction, asio::deferred),
                                     timer_.async_wait(asio::deferred))
            .async_wait(wait_for_one(), asio::use_awaitable);
    timed_out = order[0] == 1;
    error = wait_error;
  }
  if (timed_out) time_out();
  if (error) {
    mark_broken();
    throw ports::StoreUnavailable("postgres: waiting on the socket failed: " + error.message());
  }
  co_return result;
}

void Connection::adopt_socket() {
  if (socket_.is_open()) socket_.release();
  int fd = PQsocket(conn_);
  if (fd < 0) return;
  boost::system::error_code error;
  socket_.assign(fd, error);
  if (error) {
    mark_broken();
    throw ports::StoreUnavailable("postgres: cannot watch the socket: " + error.message());
  }
}

void Connection::mark_broken() {
  broken_ = true;
  // libpq may have closed the socket already and its number may be reused soon:
  // drop Asio's registration now rather than at destruction.
  if (socket_.is_open()) socket_.release();
}

// The one place where libpq's failures become ports errors.
std::exception_ptr Connection::error_from(const pg_result* result) {
  const char* field = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string sqlstate = field != nullptr ? field : "";
  std::string message =
      trimmed(result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(conn_));
  if (message.empty()) message = "unexpected protocol state";
  if (!sqlstate.empty() && !sqlstate::ends_session(sqlstate) && PQstatus(conn_) == CONNECTION_OK) {
    if (sqlstate::is_transient(sqlstate)) return std::make_exception_ptr(SqlBusy(sqlstate, "postgres: " + message));
    return std::make_exception_ptr(SqlError(sqlstate, "postgres: " + message));
  }
  // Refused, lost, or an error the server did not send (libpq's own, e.g. a protocol
  // violation): the connection's state is unknown.
  mark_broken();
  return std::make_exception_ptr(ports::StoreUnavailable("postgres: " + message));
}

void Connection::fail(const pg_result* result) { std::rethrow_exception(error_from(result)); }

void Connection::time_out() {
  // The server may still be running the statement: ask it to stop, and give up on
  // the connection, whose protocol state is now unknown.
  if (PQstatus(conn_) == CONNECTION_OK) send_cancel(conn_);
  mark_broken();
  throw ports::StoreTimeout("postgres: operation timed out");
}

}  // namespace tracker::postgres
