#pragma once
#include <boost/asio/awaitable.hpp>

#include <charconv>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace tracker::ports {

// Position in the backlog (a Redis stream entry id "ms-seq"), ordered.
struct BacklogPosition {
  std::uint64_t ms = 0;
  std::uint64_t seq = 0;
  auto operator<=>(const BacklogPosition&) const = default;
  std::string to_string() const { return std::to_string(ms) + "-" + std::to_string(seq); }
  // "ms-seq"; throws std::invalid_argument otherwise.
  static BacklogPosition parse(std::string_view text) {
    BacklogPosition position;
    auto dash = text.find('-');
    auto ok = [](std::string_view part, std::uint64_t& out) {
      auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), out);
      return !part.empty() && error == std::errc{} && end == part.data() + part.size();
    };
    if (dash == std::string_view::npos || !ok(text.substr(0, dash), position.ms) ||
        !ok(text.substr(dash + 1), position.seq)) {
      throw std::invalid_argument("not a stream entry id: " + std::string(text));
    }
    return position;
  }
};

// One backlog entry: the events one ingest call stored together, in order.
struct BacklogEntry {
  BacklogPosition position;
  std::vector<std::string> records;  // each an event's COPY row (domain/event_record.hpp)
};

// Accepted events waiting to be persisted, oldest first. Entries handed out stay in the
// backlog until acknowledged; after a crash they are handed out again.
class EventBacklog {
 public:
  virtual ~EventBacklog() = default;
  // Entries handed out earlier but never acknowledged first, then new ones; about
  // `max_events` events in all.
  virtual boost::asio::awaitable<std::vector<BacklogEntry>> next_batch(std::size_t max_events) = 0;
  // Removes the entries for good: call only once they are persisted.
  virtual boost::asio::awaitable<void> acknowledge(const std::vector<BacklogEntry>& entries) = 0;
  virtual boost::asio::awaitable<std::size_t> size() = 0;  // events not yet acknowledged
  // Where the oldest entry not yet acknowledged stands (its ms is when it was stored);
  // nothing when the backlog is empty.
  virtual boost::asio::awaitable<std::optional<BacklogPosition>> oldest() = 0;
  // A name that stays the same as long as the positions do (for one Redis data set),
  // so that marks kept elsewhere are never compared with another backlog's positions.
  virtual boost::asio::awaitable<std::string> source() = 0;
};

}  // namespace tracker::ports
