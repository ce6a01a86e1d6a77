// Integration tests of the libpq adapter against a real PostgreSQL (TRACKER_PG_DSN).
#include "metrics/metrics.hpp"
#include "ports/errors.hpp"
#include "postgres/connection.hpp"
#include "postgres/pool.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace ports = tracker::ports;
using namespace std::chrono_literals;
using tracker::postgres::Connection;
using tracker::postgres::ConnectionOptions;
using tracker::postgres::Lease;
using tracker::postgres::Pool;
using tracker::postgres::Result;
using tracker::postgres::SqlError;
using tracker::postgres::Statement;
using Clock = std::chrono::steady_clock;
using Params = std::vector<std::optional<std::string>>;

std::string dsn() {
  const char* env = std::getenv("TRACKER_PG_DSN");
  return env != nullptr && *env != '\0' ? env
                                        : "host=127.0.0.1 port=55432 user=tracker dbname=tracker";
}

ConnectionOptions options() { return ConnectionOptions{.dsn = dsn()}; }

std::string unique_name(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(++counter) + "_" +
         std::to_string(Clock::now().time_since_epoch().count() % 1000000);
}

// Runs the coroutine `body()` on a fresh io_context and rethrows what it threw.
template <class Body>
void run(Body body) {
  asio::io_context io;
  std::exception_ptr error;
  asio::co_spawn(io, body(), [&](std::exception_ptr e) { error = e; });
  io.run();
  if (error) std::rethrow_exception(error);
}

// What `operation` threw, or null.
template <class T>
asio::awaitable<std::exception_ptr> error_of(asio::awaitable<T> operation) {
  try {
    co_await std::move(operation);
  } catch (...) {
    co_return std::current_exception();
  }
  co_return nullptr;
}

// The exception as E, or nullopt when it is not one.
template <class E>
std::optional<E> as(std::exception_ptr error) {
  try {
    if (error) std::rethrow_exception(error);
  } catch (const E& e) {
    return e;
  } catch (...) {
  }
  return std::nullopt;
}

// The SQLSTATE of an SqlError, or a description of what else it was.
std::string sqlstate_of(std::exception_ptr error) {
  if (auto sql = as<SqlError>(error)) return sql->sqlstate();
  return error ? "(not an SqlError)" : "(nothing thrown)";
}

asio::awaitable<void> sleep_for(Clock::duration duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(asio::use_awaitable);
}

asio::awaitable<std::unique_ptr<Connection>> connect() {
  co_return co_await Connection::connect(co_await asio::this_coro::executor, options());
}

asio::awaitable<std::int64_t> count_rows(Connection& connection, const std::string& table) {
  Result result = co_await connection.execute("select count(*) from " + table);
  co_return result.as_int64(0, 0);
}

// Creates uniquely named tables (visible to other connections, unlike temp tables)
// and drops them after the test.
class PostgresTest : public ::testing::Test {
 protected:
  std::string table(const std::string& prefix) {
    tables_.push_back(unique_name(prefix));
    return tables_.back();
  }
  void TearDown() override {
    if (tables_.empty()) return;
    run([&]() -> asio::awaitable<void> {
      auto connection = co_await connect();
      for (const auto& table : tables_)
        co_await connection->execute("drop table if exists " + table);
    });
  }

 private:
  std::vector<std::string> tables_;
};

TEST_F(PostgresTest, QueryWithParamsAndNulls) {
  run([&]() -> asio::awaitable<void> {
    auto connection = co_await connect();
    Params params{"41", std::nullopt, "h\xC3\xA9llo, 'world'"};
    Result result = co_await connection->execute(
        "select $1::int + 1 as answer, $2::text as nothing, $3::text as greeting, null::int",
        params);
    EXPECT_EQ(result.rows(), 1);
    EXPECT_EQ(result.columns(), 4);
    EXPECT_EQ(result.as_int64(0, 0), 42);
    EXPECT_TRUE(result.is_null(0, 1));
    EXPECT_EQ(result.text(0, 1), "");
    EXPECT_FALSE(result.is_null(0, 2));
    EXPECT_EQ(result.text(0, 2), "h\xC3\xA9llo, 'world'");
    EXPECT_TRUE(result.is_null(0, 3));
    EXPECT_THROW(result.as_int64(0, 3), ports::StoreRejected);
    EXPECT_THROW(result.as_int64(0, 2), ports::StoreRejected);
    EXPECT_THROW(result.text(1, 0), ports::StoreRejected);  // answered 503, not 500

    Result series = co_await connection->execute("select g from generate_series(1, 3) g");
    EXPECT_EQ(series.rows(), 3);
    EXPECT_EQ(series.as_int64(2, 0), 3);
    EXPECT_EQ(series.affected_rows(), 3);
    EXPECT_EQ(series.command_status(), "SELECT 3");
    EXPECT_FALSE(connection->broken());
  });
}

TEST_F(PostgresTest, ResultOfCommandsWithoutRows) {
  run([&]() -> asio::awaitable<void> {
    auto connection = co_await connect();
    Result begin = co_await connection->execute("begin");
    EXPECT_EQ(begin.command_status(), "BEGIN");
    EXPECT_EQ(begin.affected_rows(), 0);
    EXPECT_EQ(begin.rows(), 0);
    EXPECT_TRUE(connection->in_transaction());
    co_await connection->execute("create temp table t (id int)");
    Result insert = co_await connection->execute("insert into t select generate_series(1, 5)");
    EXPECT_EQ(insert.command_status(), "INSERT 0 5");
    EXPECT_EQ(insert.affected_rows(), 5);
    Result commit = co_await connection->execute("commit");
    EXPECT_EQ(commit.command_status(), "COMMIT");
    EXPECT_FALSE(connection->in_transaction());
  });
}

TEST_F(PostgresTest, LargeResultIsReadCompletely) {
  run([&]() -> asio::awaitable<void> {
    auto connection = co_await connect();
    // ~20 MB: many socket reads, most of the data already waiting in the kernel.
    Result result = co_await connection->execute(
        "select g, repeat('x', 1000) from generate_series(1, 20000) g", {}, 20s);
    EXPECT_EQ(result.rows(), 20000);
    EXPECT_EQ(result.as_int64(19999, 0), 20000);
    EXPECT_EQ(result.text(19999, 1).size(), 1000u);
  });
}

TEST_F(PostgresTest, SqlErrorKeepsConnectionUsable) {
  run([&]() -> asio::awaitable<void> {
    auto connection = co_await connect();
    EXPECT_EQ(sqlstate_of(co_await error_of(connection->execute("select 1/0"))), "22012");

    EXPECT_EQ(sqlstate_of(co_await error_of(connection->execute("selec 1"))), "42601");
    EXPECT_FALSE(connection->broken());
    Result result = co_await connection->execute("select 7");
    EXPECT_EQ(result.as_int64(0, 0), 7);
  });
}

// A refusal that passes (read-only, serialization failure, deadlock) is SqlBusy, an
// unavailable store (503), and the connection stays usable; a data error stays an SqlError.
TEST_F(PostgresTest, TransientRefusalsAreSqlBusy) {
  std::string name = table("busy");
  run([&]() -> asio::awaitable<void> {
    auto connection = co_await connect();
    co_await connection->execute("create table " + name + " (i int)");
    co_await connection->execute("set default_transaction_read_only = on");
    auto read_only = co_await error_of(connection->execute("insert into " + name + " values (1)"));
    auto busy = as<tracker::postgres::SqlBusy>(read_only);
    EXPECT_TRUE(busy.has_value()) << sqlstate_of(read_only);
    EXPECT_EQ(busy ? busy->sqlstate() : "", "25006");
    EXPECT_TRUE(as<ports::StoreUnavailable>(read_only));
    EXPECT_FALSE(as<SqlError>(read_only));
    EXPECT_FALSE(connection->broken());
    co_await connection->execute("set default_transaction_read_only = off");

    co_await connection->execute("begin isolation level serializable");
    auto serialization = co_await error_of(
        connection->execute("do $$ begin raise exception using errcode = 'serialization_failure'; end $$"));
    co_await connection->execute("rollback");
    EXPECT_TRUE(as<tracker::postgres::SqlBusy>(serialization));

    auto data = co_await error_of(connection->execute("insert into " + name + " values ('x')"));
    EXPECT_EQ(sqlstate_of(data), "22P02");
    EXPECT_TRUE(as<SqlError>(data)->is_data_error());
    EXPECT_EQ((co_await connection->execute("select 7")).as_int64(0, 0), 7);
  });
}

// A prepared statement is prepared once per connection and run by name after that
// (pg_prepared_statements shows it); its errors are those of execute().
TEST_F(PostgresTest, PreparedStatementsArePreparedOncePerConnection) {
  run([&]() -> asio::awaitable<void> {
    auto connection = co_await connect();
    const std::string sql = "select $1::int * 2, $2::text";
    for (int i = 1; i <= 3; ++i) {
      Params params{std::to_string(i), std::nullopt};
      Result result = co_await connection->execute_prepared("test.double", sql, params);
      EXPECT_EQ(result.as_int64(0, 0), 2 * i);
      EXPECT_TRUE(result.is_null(0, 1));
    }
    Result prepared = co_await connection->execute(
        "select count(*), min(statement) from pg_prepared_statements where name = 'test.double'");
    EXPECT_EQ(prepared.as_int64(0, 0), 1);
    EXPECT_EQ(prepared.text(0, 1), sql);

    // An error while running it, and one while preparing another: the connection stays
    // usable, and the statement that failed to prepare is tried again next time.
    Params zero{"0"};
    EXPECT_EQ(sqlstate_of(co_await error_of(connection->execute_prepared("test.divide", "select 1 / $1::int",
                                                                           zero))),
              "22012");
    EXPECT_EQ(sqlstate_of(co_await error_of(connection->execute_prepared("test.bad", "selec $1", zero))),
              "42601");
    EXPECT_EQ(sqlstate_of(co_await error_of(connection->execute_prepared("test.bad", "selec $1", zero))),
              "42601");
    EXPECT_FALSE(connection->broken());
    Params two{"2"};
    EXPECT_EQ((co_await connection->execute_prepared("test.divide", "select 1 / $1::int", two)).as_int64(0, 0), 0);

    // Another connection prepares it for itself.
    auto other = co_await connect();
    Params five{"5", "x"};
    Result result = co_await other->execute_prepared("test.double", sql, five);
    EXPECT_EQ(result.as_int64(0, 0), 10);
    EXPECT_EQ(result.text(0, 1), "x");
  });
}

TEST_F(PostgresTest, ErrorInsideTransactionLetsCallerRollBack) {
  run([&]() -> asio::awaitable<void> {
    auto connection = co_await connect();
    co_await connection->execute("create temp table t (id int primary key)");
    co_await connection->execute("begin");
    co_await connection->execute("insert into t values (1)");
    EXPECT_EQ(sqlstate_of(co_await error_of(connection->execute("insert into t values (1)"))),
              "23505");
    EXPECT_TRUE(connection->in_transaction());

    EXPECT_EQ(sqlstate_of(co_await error_of(connection->execute("select 1"))), "25P02");
    co_await connection->execute("rollback");
    EXPECT_FALSE(connection->in_transaction());
    EXPECT_EQ(co_await count_rows(*connection, "t"), 0);

    // The same for a pipeline inside the caller's own transaction: it is left to them.
    co_await connection->execute("begin");
    std::vector<Statement> statements{{"insert into t values (2)", {}},
                                      {"insert into t values (2)", {}}};
    EXPECT_TRUE(as<SqlError>(co_await error_of(connection->pipeline(statements))));
    EXPECT_TRUE(connection->in_transaction());
    co_await connection->execute("rollback");
    EXPECT_EQ(co_await count_rows(*connection, "t"), 0);
  });
}

TEST_F(PostgresTest, PipelineCommitsInOneCall) {
  std::string events = table("pgtest_pipeline");
  run([&]() -> asio::awaitable<void> {
    auto connection = co_await connect();
    co_await connection->execute("create table " + events + " (id int primary key, note text)");
    std::vector<Statement> statements{
        {"begin", {}},
        {"insert into " + events + " values ($1, $2)", {"1", "one"}},
        {"select $1::int * 2", {"21"}},
        {"insert into " + events + " values ($1, $2)", {"2", std::nullopt}},
        {"commit", {}},
    };
    std::vector<Result> results = co_await connection->pipeline(statements);
    EXPECT_EQ(results.size(), 5u);
    if (results.size() == 5) {
      EXPECT_EQ(results[0].command_status(), "BEGIN");
      EXPECT_EQ(results[1].affected_rows(), 1);
      EXPECT_EQ(results[2].as_int64(0, 0), 42);
      EXPECT_EQ(results[3].command_status(), "INSERT 0 1");
      EXPECT_EQ(results[4].command_status(), "COMMIT");
    }
    EXPECT_FALSE(connection->in_transaction());

    auto other = co_await connect();
    EXPECT_EQ(co_await count_rows(*other, events), 2);
    Result null_note = co_await other->execute("select note from " + events + " where id = 2");
    EXPECT_TRUE(null_note.is_null(0, 0));

    // The connection is back to normal mode.
    Result after = co_await connection->execute("select 1");
    EXPECT_EQ(after.as_int64(0, 0), 1);
  });
}

TEST_F(PostgresTest, FailingPipelineStatementCommitsNothing) {
  std::string events = table("pgtest_pipeline_fail");
  run([&]() -> asio::awaitable<void> {
    auto connection = co_await connect();
    co_await connection->execute("create table " + events + " (id int primary key)");
    std::string insert = "insert into " + events + " values ($1)";
    std::vector<Statement> explicit_transaction{
        {"begin", {}}, {insert, {"1"}}, {insert, {"1"}}, {insert, {"3"}}, {"commit", {}}};
    EXPECT_EQ(sqlstate_of(co_await error_of(connection->pipeline(explicit_transaction))), "23505");
    EXPECT_FALSE(connection->broken());
    EXPECT_FALSE(connection->in_transaction());  // the pipeline rolled its transaction back

    // Without BEGIN, the statements up to the sync form one implicit transaction.
    std::vector<Statement> implicit_transaction{{insert, {"1"}}, {insert, {"x"}}, {insert, {"2"}}};
    EXPECT_EQ(sqlstate_of(co_await error_of(connection->pipeline(implicit_transaction))), "22P02");

    auto other = co_await connect();
    EXPECT_EQ(co_await count_rows(*other, events), 0);
    EXPECT_EQ(co_await count_rows(*connection, events), 0);
  });
}

TEST_F(PostgresTest, CopyInManyRows) {
  run([&]() -> asio::awaitable<void> {
    auto connection = co_await connect();
    co_await connection->execute("create temp table copied (id bigint, payload text, note text)");
    constexpr int kRows = 100000;
    const std::string payload(90, 'p');
    std::string data;
    data.reserve(kRows * 110);
    for (int i = 0; i < kRows; ++i) {
      // A tab inside a value is escaped in COPY text format; \N is NULL.
      data += std::to_string(i) + "\t" + payload + "\\t" + std::to_string(i % 10) + "\t\\N\n";
    }
    EXPECT_GT(data.size(), 9'000'000u);
    auto start = Clock::now();
    std::int64_t copied =
        co_await connection->copy_in("copy copied (id, payload, note) from stdin", data, 30s);
    EXPECT_EQ(copied, kRows);
    EXPECT_LT(Clock::now() - start, 20s);

    Result check = co_await connection->execute(
        "select count(*), count(note), sum(id), min(length(payload)) from copied");
    EXPECT_EQ(check.as_int64(0, 0), kRows);
    EXPECT_EQ(check.as_int64(0, 1), 0);
    EXPECT_EQ(check.as_int64(0, 2), std::int64_t{kRows} * (kRows - 1) / 2);
    EXPECT_EQ(check.as_int64(0, 3), 92);  // payload, tab, digit
  });
}

TEST_F(PostgresTest, CopyInErrorsKeepConnectionUsable) {
  run([&]() -> asio::awaitable<void> {
    auto connection = co_await connect();
    co_await connection->execute("create temp table copied (id bigint)");
    EXPECT_EQ(sqlstate_of(co_await error_of(
                  connection->copy_in("copy copied from stdin", "1\n2\nthree\n4\n"))),
              "22P02");
    EXPECT_FALSE(connection->broken());
    EXPECT_EQ(co_await count_rows(*connection, "copied"), 0);

    EXPECT_EQ(
        sqlstate_of(co_await error_of(connection->copy_in("copy no_such_table from stdin", "1\n"))),
        "42P01");
    auto not_copy = co_await error_of(connection->copy_in("select 1", "1\n"));
    EXPECT_TRUE(as<ports::StoreRejected>(not_copy));
    EXPECT_FALSE(as<SqlError>(not_copy));
    EXPECT_FALSE(connection->broken());

    EXPECT_EQ(co_await connection->copy_in("copy copied from stdin", "5\n6\n"), 2);
    EXPECT_EQ(co_await connection->copy_in("copy copied from stdin", ""), 0);
    EXPECT_EQ(co_await count_rows(*connection, "copied"), 2);

    // execute() cannot feed COPY data: refused, and the connection is given up.
    auto via_execute = co_await error_of(connection->execute("copy copied from stdin"));
    EXPECT_TRUE(as<ports::StoreRejected>(via_execute));
    EXPECT_TRUE(connection->broken());
  });
}

TEST_F(PostgresTest, TimeoutCancelsStatementAndBreaksConnection) {
  run([&]() -> asio::awaitable<void> {
    auto connection = co_await connect();
    std::string marker = unique_name("sleep");
    auto start = Clock::now();
    auto error =
        co_await error_of(connection->execute("select pg_sleep(5) -- " + marker, {}, 200ms));
    auto elapsed = Clock::now() - start;
    EXPECT_TRUE(as<ports::StoreTimeout>(error));
    EXPECT_GE(elapsed, 190ms);
    EXPECT_LT(elapsed, 1s);
    EXPECT_TRUE(connection->broken());
    EXPECT_TRUE(as<ports::StoreUnavailable>(co_await error_of(connection->execute("select 1"))));

    // The cancel request stops the server-side statement well before its 5 s.
    auto observer = co_await connect();
    Params pattern{"%" + marker};
    std::int64_t running = 1;
    for (int i = 0; i < 40 && running > 0; ++i) {
      Result active = co_await observer->execute(
          "select count(*) from pg_stat_activity where state = 'active' and query like $1",
          pattern);
      running = active.as_int64(0, 0);
      if (running > 0) co_await sleep_for(50ms);
    }
    EXPECT_EQ(running, 0);
    EXPECT_LT(Clock::now() - start, 3s);
  });
}

TEST_F(PostgresTest, ConnectToClosedPortIsUnavailableFast) {
  unsigned short port = 0;
  {
    asio::io_context io;
    asio::ip::tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
    port = probe.local_endpoint().port();
  }  // closed again: nothing listens there
  run([&]() -> asio::awaitable<void> {
    ConnectionOptions refused{
        .dsn = "host=127.0.0.1 port=" + std::to_string(port) + " user=tracker dbname=tracker",
        .connect_timeout = 3s};
    auto start = Clock::now();
    auto error =
        co_await error_of(Connection::connect(co_await asio::this_coro::executor, refused));
    EXPECT_TRUE(as<ports::StoreUnavailable>(error));
    EXPECT_FALSE(as<ports::StoreTimeout>(error));
    EXPECT_LT(Clock::now() - start, 500ms);
  });
}

TEST_F(PostgresTest, ConnectToSilentServerTimesOut) {
  asio::io_context io;
  // The kernel completes the handshake into the backlog, but no one ever answers.
  asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});
  unsigned short port = silent.local_endpoint().port();
  run([&]() -> asio::awaitable<void> {
    ConnectionOptions mute{.dsn = "host=127.0.0.1 port=" + std::to_string(port) +
                                  " user=tracker dbname=tracker sslmode=disable",
                           .connect_timeout = 300ms};
    auto start = Clock::now();
    auto error = co_await error_of(Connection::connect(co_await asio::this_coro::executor, mute));
    auto elapsed = Clock::now() - start;
    EXPECT_TRUE(as<ports::StoreTimeout>(error));
    EXPECT_GE(elapsed, 290ms);
    EXPECT_LT(elapsed, 1s);
  });
}

TEST_F(PostgresTest, BadCredentialsAreUnavailable) {
  run([&]() -> asio::awaitable<void> {
    ConnectionOptions wrong{.dsn = dsn() + " dbname=no_such_database_here"};
    auto error = co_await error_of(Connection::connect(co_await asio::this_coro::executor, wrong));
    auto unavailable = as<ports::StoreUnavailable>(error);
    EXPECT_TRUE(unavailable.has_value());
    EXPECT_NE(std::string(unavailable ? unavailable->what() : "").find("no_such_database_here"),
              std::string::npos);
  });
}

TEST_F(PostgresTest, PoolMakesThirdAcquirerWait) {
  tracker::metrics::Registry registry;
  asio::io_context io;
  Pool pool(io.get_executor(), options(), 2, 4, registry);
  std::vector<Clock::duration> waited(3);
  std::size_t most_open = 0;
  std::exception_ptr failure;
  auto on_done = [&](std::exception_ptr e) {
    if (e) failure = e;
  };
  for (int i = 0; i < 3; ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          auto start = Clock::now();
          Lease lease = co_await pool.acquire(3s);
          waited[i] = Clock::now() - start;
          most_open = std::max(most_open, pool.open_connections());
          co_await lease->execute("select pg_sleep(0.3)");
        },
        on_done);
  }
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await sleep_for(150ms);
        EXPECT_EQ(pool.open_connections(), 2u);
        EXPECT_EQ(pool.waiting(), 1u);
      },
      on_done);
  io.run();
  if (failure) std::rethrow_exception(failure);

  EXPECT_LT(waited[0], 250ms);
  EXPECT_LT(waited[1], 250ms);
  EXPECT_GE(waited[2], 250ms);  // until one of the first two finished its 0.3 s
  EXPECT_EQ(most_open, 2u);
  EXPECT_EQ(pool.open_connections(), 2u);
  EXPECT_EQ(pool.idle_connections(), 2u);
  EXPECT_EQ(registry.counter("tracker_pg_connects_total", "").value(), 2u);
}

TEST_F(PostgresTest, PoolRejectsWhenTooManyWait) {
  tracker::metrics::Registry registry;
  asio::io_context io;
  Pool pool(io.get_executor(), options(), 1, 1, registry);
  std::exception_ptr failure;
  auto on_done = [&](std::exception_ptr e) {
    if (e) failure = e;
  };
  bool waiter_served = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        Lease held = co_await pool.acquire(1s);
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
              Lease lease = co_await pool.acquire(2s);
              Result result = co_await lease->execute("select 1");
              waiter_served = result.as_int64(0, 0) == 1;
            },
            on_done);
        co_await sleep_for(50ms);
        EXPECT_EQ(pool.waiting(), 1u);

        auto start = Clock::now();
        auto error = co_await error_of(pool.acquire(1s));
        EXPECT_LT(Clock::now() - start, 50ms);
        auto overloaded = as<ports::Overloaded>(error);
        EXPECT_EQ(overloaded ? overloaded->reason() : "(not Overloaded)", "pg_pool_exhausted");
        EXPECT_EQ(
            registry.counter("tracker_pg_acquire_rejected_total", "", "reason=\"pool_exhausted\"")
                .value(),
            1u);

        held = Lease();  // the waiter gets this connection
        co_await sleep_for(100ms);
        EXPECT_TRUE(waiter_served);
      },
      on_done);
  io.run();
  if (failure) std::rethrow_exception(failure);
  EXPECT_EQ(registry.counter("tracker_pg_connects_total", "").value(), 1u);
}

TEST_F(PostgresTest, PoolAcquireTimesOut) {
  tracker::metrics::Registry registry;
  run([&]() -> asio::awaitable<void> {
    Pool pool(co_await asio::this_coro::executor, options(), 1, 4, registry);
    Lease held = co_await pool.acquire(1s);
    auto start = Clock::now();
    auto error = co_await error_of(pool.acquire(150ms));
    auto elapsed = Clock::now() - start;
    EXPECT_TRUE(as<ports::StoreTimeout>(error));
    EXPECT_GE(elapsed, 140ms);
    EXPECT_LT(elapsed, 500ms);
    EXPECT_EQ(pool.waiting(), 0u);
  });
}

TEST_F(PostgresTest, PoolReplacesBrokenAndMidTransactionConnections) {
  tracker::metrics::Registry registry;
  run([&]() -> asio::awaitable<void> {
    Pool pool(co_await asio::this_coro::executor, options(), 1, 4, registry);
    {
      Lease lease = co_await pool.acquire(1s);
      co_await error_of(lease->execute("select pg_sleep(2)", {}, 50ms));
      EXPECT_TRUE(lease->broken());
    }
    {
      Lease lease = co_await pool.acquire(1s);
      EXPECT_FALSE(lease->broken());
      co_await lease->execute("begin");  // returned without COMMIT
    }
    {
      Lease lease = co_await pool.acquire(1s);
      EXPECT_FALSE(lease->in_transaction());
      Result result = co_await lease->execute("select 1");
      EXPECT_EQ(result.as_int64(0, 0), 1);
    }
    EXPECT_EQ(pool.open_connections(), 1u);
  });
  EXPECT_EQ(registry.counter("tracker_pg_connects_total", "").value(), 3u);
  EXPECT_EQ(registry.counter("tracker_pg_connections_discarded_total", "").value(), 2u);
}

}  // namespace
