#pragma once
#include "ports/user_data.hpp"

#include <boost/asio/awaitable.hpp>

namespace tracker::app {

// Erases a user's raw data: their events in PostgreSQL, in events_rejected and still in
// the Redis backlog, their recent keywords and their likes; records that it happened.
// Aggregates stay (counters, rankings, unique-user sketches, the posts' like counts).
//
// Order: the archive's erasure opens first (it waits for the flush batch in flight and
// keeps the next one out), deletes the stored rows, then the backlog drops the user's
// events past the archive's mark, and only then does the archive record and commit. A
// failure before the commit leaves PostgreSQL unchanged; one after the backlog step has
// removed those events (the answer is 503 and a repeat removes the rest). Any number of
// erasures may run at once: they take turns on the archive's lock.
class UserDataService {
 public:
  UserDataService(ports::UserDataArchive& archive, ports::UnflushedUserData& unflushed)
      : archive_(archive), unflushed_(unflushed) {}

  boost::asio::awaitable<ports::UserErasure> erase(std::int64_t user_id);

 private:
  ports::UserDataArchive& archive_;
  ports::UnflushedUserData& unflushed_;
};

}  // namespace tracker::app
