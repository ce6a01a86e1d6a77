#pragma once
#include "ports/errors.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct pg_result;  // libpq's PGresult

namespace tracker::postgres {

// What a SQLSTATE (the five-character code of a server error) says, by class, once
// (PostgreSQL manual, appendix A).
namespace sqlstate {
// Class 22 (data exception) and 23 (integrity violation): this data, not the database.
bool is_data_error(std::string_view code);
// The session is over: connection exceptions (class 08) and operator intervention (57P01
// admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now, ...).
bool ends_session(std::string_view code);
// Retrying later may work: a session that ended, too many connections or out of
// resources (class 53), a read-only transaction (25006: a standby, or
// default_transaction_read_only), a serialization failure or deadlock (40001, 40P01), a
// lock or statement timeout (55P03, 57014).
bool is_transient(std::string_view code);
}  // namespace sqlstate

// The server refused a statement; the connection stays usable, and inside a transaction
// the caller must ROLLBACK. Base is the ports error it counts as.
template <class Base>
class BasicSqlError : public Base {
 public:
  BasicSqlError(std::string sqlstate, const std::string& message)
      : Base(message), sqlstate_(std::move(sqlstate)) {}
  // e.g. "23505" for a unique violation.
  const std::string& sqlstate() const { return sqlstate_; }
  bool is_data_error() const { return sqlstate::is_data_error(sqlstate_); }

 private:
  std::string sqlstate_;
};

// A refusal that retrying will not fix: syntax, a constraint, bad data, ...
using SqlError = BasicSqlError<ports::StoreRejected>;
// A refusal that passes (sqlstate::is_transient): answered like an unavailable store.
using SqlBusy = BasicSqlError<ports::StoreBusy>;

// The outcome of one statement, in text format. Rows and columns are 0-based.
class Result {
 public:
  Result() = default;
  explicit Result(pg_result* result);

  int rows() const;
  int columns() const;
  bool is_null(int row, int column) const;
  // Valid as long as this Result lives. Empty for NULL.
  std::string_view text(int row, int column) const;
  // Throws ports::StoreRejected when the value is NULL or not an integer, or the cell is
  // not in the result (so does text()).
  std::int64_t as_int64(int row, int column) const;
  // Rows inserted, updated, deleted, copied or returned; 0 for commands that
  // report none (BEGIN, CREATE, ...).
  std::int64_t affected_rows() const;
  // The command tag, e.g. "INSERT 0 1", "COPY 100", "BEGIN".
  std::string_view command_status() const;

 private:
  struct Clear {
    void operator()(pg_result* result) const;
  };
  void check(int row, int column) const;

  std::unique_ptr<pg_result, Clear> result_;
};

}  // namespace tracker::postgres
