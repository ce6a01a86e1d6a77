#pragma once
#include "ports/errors.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct pg_result;  // libpq's PGresult

namespace tracker::postgres {

// The server rejected a statement (syntax, constraint, bad COPY data, ...). The
// connection stays usable; inside a transaction the caller must ROLLBACK.
class SqlError : public ports::StoreRejected {
 public:
  SqlError(std::string sqlstate, const std::string& message)
      : ports::StoreRejected(message), sqlstate_(std::move(sqlstate)) {}
  // The five-character SQLSTATE code, e.g. "23505" for a unique violation.
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  std::string sqlstate_;
};

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
  // Throws ports::StoreRejected when the value is NULL or not an integer.
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
