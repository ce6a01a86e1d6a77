#pragma once
#include "ports/event_reader.hpp"
#include "postgres/pool.hpp"

namespace tracker::postgres {

// Lists events from the events table, newest first, by keyset pagination on
// (server_time, id). The SQL names only the filters a query uses, so that PostgreSQL
// picks the index of the most selective one; each such shape is a prepared statement of
// its own. Owned by one I/O thread.
class EventReader final : public ports::EventReader {
 public:
  EventReader(Pool& pool, milliseconds timeout) : pool_(pool), timeout_(timeout) {}
  asio::awaitable<domain::EventPage> list(const domain::EventQuery& query) override;

 private:
  Pool& pool_;
  milliseconds timeout_;
};

}  // namespace tracker::postgres
