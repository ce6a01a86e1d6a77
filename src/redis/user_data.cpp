#include "redis/user_data.hpp"

#include "ports/errors.hpp"
#include "redis/event_backlog.hpp"
#include "redis/keys.hpp"
#include "redis/lua_scripts.hpp"

#include <algorithm>

namespace tracker::redis {

UnflushedUserData::UnflushedUserData(std::shared_ptr<Commands> connection, milliseconds timeout,
                                     std::size_t entries_per_call, Shards shards)
    : connection_(std::move(connection)),
      timeout_(timeout),
      entries_per_call_(std::max<std::size_t>(entries_per_call, 1)),
      script_(lua::erase_user),
      shards_(std::move(shards)),
      group_(keys::kStreamGroup) {}

void UnflushedUserData::use_keys(std::string stream, std::string backlog, std::string group) {
  stream_ = std::move(stream);
  backlog_ = std::move(backlog);
  group_ = std::move(group);
}

asio::awaitable<std::string> UnflushedUserData::backlog_source() {
  co_return co_await redis::backlog_source(*connection_, timeout_);
}

asio::awaitable<ports::UnflushedErasure> UnflushedUserData::erase_user(std::int64_t user_id,
                                                                       ports::BacklogPosition stored_up_to) {
  const std::string user = std::to_string(user_id);
  const std::string& tag = shards_.tag(shards_.of_user(user_id));
  const std::string recent = keys::recent_keywords(tag, user_id);
  const std::string stream = stream_.empty() ? keys::stream(tag) : stream_;
  const std::string backlog = backlog_.empty() ? keys::backlog(tag) : backlog_;
  const std::string per_call = std::to_string(entries_per_call_);
  std::string from = "(";  // appended, not "(" + ...: GCC 12 warns (-Wrestrict) on that falsely
  from += stored_up_to.to_string();
  std::string last;  // the stream's last entry when the first call ran
  const std::string_view keys[] = {stream, backlog, recent};
  ports::UnflushedErasure erased;
  for (;;) {
    const std::string_view args[] = {group_, user, from, last, per_call};
    Reply reply = co_await script_.run(*connection_, keys, args, timeout_);
    if (reply.elements.size() != 4) throw ports::StoreRejected("erase_user.lua answered an unexpected reply");
    erased.events += reply.elements[0].as_int();
    erased.recent_keywords += reply.elements[1].as_int();
    from = std::move(reply.elements[2].text);
    last = std::move(reply.elements[3].text);
    if (from.empty()) break;
  }
  co_return erased;
}

}  // namespace tracker::redis
