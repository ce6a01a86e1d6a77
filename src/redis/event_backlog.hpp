#pragma once
#include "ports/event_backlog.hpp"
#include "redis/commands.hpp"
#include "redis/script.hpp"

namespace tracker::redis {

// The backlog's name, "et:stream@<id>": the id is made once per Redis data set and kept in
// et:instance (EventBacklog::source()).
asio::awaitable<std::string> backlog_source(Commands& connection, milliseconds timeout);

// One shard's backlog: the stream et:{s}:stream read through one consumer group. A single
// consumer name is used on purpose: only one flusher runs per shard at a time (the
// archive holds the shard's lock), and a new one must take over the entries its crashed
// predecessor left.
class EventBacklog final : public ports::EventBacklog {
 public:
  explicit EventBacklog(std::shared_ptr<Commands> connection, milliseconds timeout = milliseconds{5000},
                        std::uint32_t shard = 0);
  asio::awaitable<std::vector<ports::BacklogEntry>> next_batch(std::size_t max) override;
  asio::awaitable<void> acknowledge(const std::vector<ports::BacklogEntry>& entries) override;
  asio::awaitable<std::size_t> size() override;
  asio::awaitable<std::optional<ports::BacklogPosition>> oldest() override;
  // "et:stream@<id>": the id is made once per Redis data set and kept in et:instance. The
  // same for every shard: the archive keeps a mark per (source, shard).
  asio::awaitable<std::string> source() override;

 private:
  asio::awaitable<void> ensure_group();
  asio::awaitable<std::vector<ports::BacklogEntry>> read_group(std::size_t max, std::string_view from);

  std::shared_ptr<Commands> connection_;
  milliseconds timeout_;
  std::string stream_;   // the shard's stream
  std::string backlog_;  // and its length in events
  Script ack_script_;
  bool group_ready_ = false;
  // Whether entries may have been handed out and not acknowledged (true at start: a
  // predecessor may have crashed). Those are always handed out again first, in order.
  bool maybe_unacknowledged_ = true;
  bool more_after_this_batch_ = false;  // the last re-read filled a whole batch
  double events_per_entry_ = 10;        // running average, to size reads in events
};

}  // namespace tracker::redis
