#include "postgres/result.hpp"

#include <libpq-fe.h>

#include <charconv>

namespace tracker::postgres {

namespace sqlstate {

bool is_data_error(std::string_view code) { return code.starts_with("22") || code.starts_with("23"); }

bool ends_session(std::string_view code) { return code.starts_with("08") || code.starts_with("57P"); }

bool is_transient(std::string_view code) {
  return ends_session(code) || code.starts_with("53") || code == "25006" || code == "40001" ||
         code == "40P01" || code == "55P03" || code == "57014";
}

}  // namespace sqlstate

void Result::Clear::operator()(pg_result* result) const { PQclear(result); }

Result::Result(pg_result* result) : result_(result) {}

int Result::rows() const { return result_ ? PQntuples(result_.get()) : 0; }

int Result::columns() const { return result_ ? PQnfields(result_.get()) : 0; }

void Result::check(int row, int column) const {
  if (row < 0 || row >= rows() || column < 0 || column >= columns()) {
    throw ports::StoreRejected("postgres: the result has no cell (" + std::to_string(row) + ", " +
                            std::to_string(column) + ")");
  }
}

bool Result::is_null(int row, int column) const {
  check(row, column);
  return PQgetisnull(result_.get(), row, column) != 0;
}

std::string_view Result::text(int row, int column) const {
  check(row, column);
  return {PQgetvalue(result_.get(), row, column),
          static_cast<std::size_t>(PQgetlength(result_.get(), row, column))};
}

std::int64_t Result::as_int64(int row, int column) const {
  if (is_null(row, column)) {
    throw ports::StoreRejected("postgres: expected an integer, got NULL in column " +
                               std::string(PQfname(result_.get(), column)));
  }
  std::string_view value = text(row, column);
  std::int64_t out = 0;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (error != std::errc() || end != value.data() + value.size()) {
    throw ports::StoreRejected("postgres: expected an integer, got '" + std::string(value) +
                               "' in column " + PQfname(result_.get(), column));
  }
  return out;
}

std::int64_t Result::affected_rows() const {
  if (!result_) return 0;
  std::string_view tuples = PQcmdTuples(result_.get());  // "" when the command reports none
  std::int64_t out = 0;
  std::from_chars(tuples.data(), tuples.data() + tuples.size(), out);
  return out;
}

std::string_view Result::command_status() const {
  return result_ ? PQcmdStatus(result_.get()) : "";
}

}  // namespace tracker::postgres
