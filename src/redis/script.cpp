#include "redis/script.hpp"

#include "redis/errors.hpp"

#include <boost/uuid/detail/sha1.hpp>

#include <cstdio>
#include <vector>

namespace tracker::redis {

namespace {
std::string sha1_hex(std::string_view text) {
  boost::uuids::detail::sha1 hash;
  hash.process_bytes(text.data(), text.size());
  boost::uuids::detail::sha1::digest_type digest;
  hash.get_digest(digest);
  std::string out;
  char part[9];
  for (unsigned word : digest) {
    std::snprintf(part, sizeof part, "%08x", word);
    out += part;
  }
  return out;
}
}  // namespace

Script::Script(std::string_view body) : body_(body), sha_(sha1_hex(body)) {}

asio::awaitable<Reply> Script::run(Commands& connection, std::span<const std::string_view> keys,
                                   std::span<const std::string_view> args) const {
  return run(connection, keys, args, milliseconds{0});
}

asio::awaitable<Reply> Script::run(Commands& connection, std::span<const std::string_view> keys,
                                   std::span<const std::string_view> args,
                                   milliseconds timeout) const {
  std::string key_count = std::to_string(keys.size());
  std::vector<std::string_view> command;
  command.reserve(3 + keys.size() + args.size());
  command.push_back("EVALSHA");
  command.push_back(sha_);
  command.push_back(key_count);
  command.insert(command.end(), keys.begin(), keys.end());
  command.insert(command.end(), args.begin(), args.end());
  auto send = [&]() {
    return timeout.count() > 0 ? connection.execute(command, timeout) : connection.execute(command);
  };
  try {
    co_return co_await send();
  } catch (const ScriptMissing&) {
    // Unknown to the server (first use, a restart, SCRIPT FLUSH): its text caches it again.
  }
  command[0] = "EVAL";
  command[1] = body_;
  co_return co_await send();
}

}  // namespace tracker::redis
