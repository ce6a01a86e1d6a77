#pragma once
#include "redis/commands.hpp"

#include <string>
#include <string_view>

namespace tracker::redis {

// A Lua script called by its SHA1 (EVALSHA); when the server does not know it (first
// use, a restart, SCRIPT FLUSH: a NOSCRIPT error) its text is sent once with EVAL, which
// caches it again.
class Script {
 public:
  explicit Script(std::string_view body);
  const std::string& sha() const { return sha_; }

  asio::awaitable<Reply> run(Commands& connection, std::span<const std::string_view> keys,
                             std::span<const std::string_view> args) const;
  asio::awaitable<Reply> run(Commands& connection, std::span<const std::string_view> keys,
                             std::span<const std::string_view> args, milliseconds timeout) const;

 private:
  std::string_view body_;
  std::string sha_;
};

}  // namespace tracker::redis
