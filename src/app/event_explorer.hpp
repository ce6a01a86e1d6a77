#pragma once
#include "domain/event_query.hpp"
#include "ports/event_reader.hpp"

namespace tracker::app {

// Browsing stored events page by page (GET /api/events). Events still in Redis, not yet
// moved to PostgreSQL, are not listed yet: the flusher moves them within seconds, and the
// statistics (which count them) say how many are pending. One instance per I/O thread.
class EventExplorer {
 public:
  explicit EventExplorer(ports::EventReader& reader) : reader_(reader) {}
  // Store failures propagate as ports::StoreError.
  boost::asio::awaitable<domain::EventPage> page(const domain::EventQuery& query);

 private:
  ports::EventReader& reader_;
};

}  // namespace tracker::app
