#pragma once
#include "domain/event_query.hpp"

#include <boost/asio/awaitable.hpp>

namespace tracker::ports {

// Reads stored events back (PostgreSQL: only events already moved out of Redis).
// Failures are ports::StoreError subclasses.
class EventReader {
 public:
  virtual ~EventReader() = default;
  // The events matching `query`, newest first by (server time, id), after query.after,
  // at most query.limit; `next` is set when more may follow.
  virtual boost::asio::awaitable<domain::EventPage> list(const domain::EventQuery& query) = 0;
};

}  // namespace tracker::ports
