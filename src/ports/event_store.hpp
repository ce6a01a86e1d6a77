#pragma once
#include "domain/event.hpp"

#include <boost/asio/awaitable.hpp>

#include <span>
#include <string>
#include <vector>

namespace tracker::ports {

struct StoredEvent {
  std::string event_id;  // for a duplicate: the id its first copy was stored under
  bool duplicate = false;
};

// Where accepted events go first. When append returns, every event is stored durably
// (it survives a restart of the server) with its real-time counters updated, each
// event atomically. Throws a ports::StoreError on failure, in which case none or some
// of the events may be stored, never part of one.
class EventStore {
 public:
  virtual ~EventStore() = default;
  virtual boost::asio::awaitable<std::vector<StoredEvent>> append(
      std::span<const domain::Event> events) = 0;
};

}  // namespace tracker::ports
