#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tracker::redis {

// A RESP2 reply, owned (converted from hiredis's reply tree as it is read).
struct Reply {
  enum class Type { String, Array, Integer, Nil, Status, Error };
  Type type = Type::Nil;
  std::string text;  // String, Status, Error
  std::int64_t integer = 0;
  std::vector<Reply> elements;

  bool is_nil() const { return type == Type::Nil; }
  bool is_error() const { return type == Type::Error; }
  bool is_string() const { return type == Type::String || type == Type::Status; }
  // Integer replies and numeric strings (HGET, GET) both read as numbers; nil is 0.
  std::int64_t as_int() const;
};

}  // namespace tracker::redis
