#include "app/user_data.hpp"

namespace tracker::app {

boost::asio::awaitable<ports::UserErasure> UserDataService::erase(std::int64_t user_id) {
  const std::string source = co_await unflushed_.backlog_source();
  std::unique_ptr<ports::ArchiveErasure> erasure = co_await archive_.begin_erasure(source, unflushed_.shard_of(user_id));
  ports::UserErasure erased;
  erased.user_id = user_id;
  co_await erasure->erase_stored(erased);
  // A named local: GCC 12 frees a temporary argument of a coroutine twice.
  const ports::BacklogPosition stored_up_to = erasure->stored_up_to();
  const ports::UnflushedErasure unflushed = co_await unflushed_.erase_user(user_id, stored_up_to);
  erased.unflushed_events = unflushed.events;
  erased.recent_keywords = unflushed.recent_keywords;
  co_await erasure->commit(erased);
  co_return erased;
}

}  // namespace tracker::app
