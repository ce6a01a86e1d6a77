#include "postgres/user_data_archive.hpp"

#include "postgres/erasure_lock.hpp"

#include <string>

namespace tracker::postgres {

namespace {

class Erasure final : public ports::ArchiveErasure {
 public:
  Erasure(Lease lease, milliseconds timeout, ports::BacklogPosition stored_up_to)
      : lease_(std::move(lease)), timeout_(timeout), stored_up_to_(stored_up_to) {}

  // Not committed: the pool discards a connection returned inside a transaction, and the
  // server rolls back and releases the lock as it goes.
  ~Erasure() override = default;

  ports::BacklogPosition stored_up_to() const override { return stored_up_to_; }

  asio::awaitable<void> erase_stored(ports::UserErasure& erasure) override {
    const std::string user = std::to_string(erasure.user_id);
    // events_rejected keeps a refused event's COPY row as text: its third column is the user.
    // posts.like_count stays (an aggregate), so it counts erased users' likes too.
    const Statement erase[] = {
        {"delete from events where user_id = $1::bigint", {user}},
        {"delete from events_rejected where split_part(record, E'\\t', 3) = $1::text", {user}},
        {"delete from likes where user_id = $1::bigint", {user}},
    };
    auto results = co_await lease_->pipeline(erase, timeout_);
    erasure.stored_events = results.at(0).affected_rows();
    erasure.rejected_events = results.at(1).affected_rows();
    erasure.likes = results.at(2).affected_rows();
  }

  asio::awaitable<void> commit(const ports::UserErasure& erasure) override {
    const Statement record[] = {
        {"insert into user_deletions (user_id, events_stored, events_unflushed, events_rejected, "
         "recent_keywords, likes) values ($1::bigint, $2::bigint, $3::bigint, $4::bigint, $5::bigint, $6::bigint)",
         {std::to_string(erasure.user_id), std::to_string(erasure.stored_events),
          std::to_string(erasure.unflushed_events), std::to_string(erasure.rejected_events),
          std::to_string(erasure.recent_keywords), std::to_string(erasure.likes)}},
        {"commit", {}}};
    co_await lease_->pipeline(record, timeout_);
  }

 private:
  Lease lease_;
  milliseconds timeout_;
  ports::BacklogPosition stored_up_to_;
};

}  // namespace

asio::awaitable<std::unique_ptr<ports::ArchiveErasure>> UserDataArchive::begin_erasure(
    const std::string& backlog_source, std::uint32_t shard) {
  Lease lease = co_await pool_.acquire(timeout_);
  // The mark is read after the lock is granted: every batch that read the backlog before
  // has committed by then, so entries past the mark are not in PostgreSQL and no batch
  // holds them in flight.
  const Statement begin[] = {
      {"begin", {}},
      {std::string(kErasureLock), {}},
      {"select last_ms, last_seq from stream_watermark where stream = $1 and shard = $2",
       {backlog_source, std::to_string(shard)}}};
  auto results = co_await lease->pipeline(begin, timeout_);
  const Result& mark = results.at(2);
  ports::BacklogPosition stored_up_to;
  if (mark.rows() > 0) {
    stored_up_to = {static_cast<std::uint64_t>(mark.as_int64(0, 0)), static_cast<std::uint64_t>(mark.as_int64(0, 1))};
  }
  co_return std::make_unique<Erasure>(std::move(lease), timeout_, stored_up_to);
}

}  // namespace tracker::postgres
