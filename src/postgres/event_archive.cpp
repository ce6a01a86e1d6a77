#include "postgres/event_archive.hpp"

#include "domain/event_record.hpp"
#include "domain/time_format.hpp"
#include "postgres/erasure_lock.hpp"

#include <spdlog/spdlog.h>

namespace tracker::postgres {

namespace {

// Shard 0's lock is the one taken before shards: a server of an older version and one of
// this never write shard 0's events at once.
std::string lock_name(const std::string& source, std::uint32_t shard) {
  return shard == 0 ? source : source + " shard " + std::to_string(shard);
}
constexpr std::string_view kWriterLock = "select pg_try_advisory_lock(hashtext('event-tracker flusher ' || $1))";
constexpr std::string_view kMarkUpdate =
    "update stream_watermark set last_ms = $1, last_seq = $2 where stream = $3 and shard = $4";

std::string copy_events_sql() {
  return "copy events (" + std::string(domain::kEventRecordColumns) + ", stream_id) from stdin";
}

// The stream_id column: the backlog entry's id and the event's place in it ("ms-seq/i").
// Other shards than 0 prefix it with "<shard>:" (their entry ids may be the same).
void append_record(std::string& out, const ports::BacklogEntry& entry, std::size_t index, std::uint32_t shard) {
  out += entry.records[index];
  out += '\t';
  if (shard != 0) {
    out += std::to_string(shard);
    out += ':';
  }
  out += entry.position.to_string();
  out += '/';
  out += std::to_string(index);
  out += '\n';
}

// Rows of the staging table: bucket, event_type, component_id, post_id, keyword, delta,
// with "any" spelled 0 / '' as in event_stats and event_totals.
std::string delta_rows(const std::vector<ports::CounterDelta>& deltas) {
  std::string out;
  out.reserve(deltas.size() * 80);
  for (const auto& d : deltas) {
    out += domain::format_rfc3339_ms(d.bucket_ms);
    out += '\t';
    domain::append_copy_escaped(out, d.event_type);
    out += '\t';
    out += std::to_string(d.component_id);
    out += '\t';
    out += std::to_string(d.post_id.value_or(0));
    out += '\t';
    domain::append_copy_escaped(out, d.keyword.value_or(""));
    out += '\t';
    out += std::to_string(d.delta);
    out += '\n';
  }
  return out;
}


}  // namespace

EventArchive::EventArchive(asio::any_io_executor executor, ConnectionOptions options,
                           metrics::Registry& metrics, std::uint32_t shard)
    : executor_(std::move(executor)),
      options_(std::move(options)),
      shard_(shard),
      shard_text_(std::to_string(shard)),
      rejected_rows_(metrics.counter("tracker_flush_rows_rejected_total",
                                     "Backlog entries PostgreSQL refused, kept in events_rejected")) {}

asio::awaitable<Connection*> EventArchive::connection() {
  if (connection_ && connection_->broken()) drop_connection();
  if (!connection_) {
    auto fresh = co_await Connection::connect(executor_, options_);
    co_await fresh->execute(
        "create temp table if not exists stats_delta (bucket timestamptz, event_type text, "
        "component_id bigint, post_id bigint, keyword text, delta bigint) on commit delete rows");
    connection_ = std::move(fresh);
    locked_source_.clear();
  }
  co_return connection_.get();
}

asio::awaitable<Connection*> EventArchive::writer(const std::string& source) {
  Connection* db = co_await connection();
  if (locked_source_ != source) {
    if (!locked_source_.empty()) {  // a new source: its old lock is no longer ours to hold
      const std::optional<std::string> old[] = {lock_name(locked_source_, shard_)};
      co_await db->execute("select pg_advisory_unlock(hashtext('event-tracker flusher ' || $1))", old);
      locked_source_.clear();
    }
    const std::optional<std::string> lock_params[] = {lock_name(source, shard_)};
    Result lock = co_await db->execute(kWriterLock, lock_params);
    if (lock.text(0, 0) != "t") {
      throw ports::Overloaded("flusher_lock",
                              "another flusher is writing " + source + " shard " + shard_text_ + "; waiting");
    }
    const std::optional<std::string> params[] = {source, shard_text_};
    co_await db->execute("insert into stream_watermark (stream, shard, last_ms, last_seq) values ($1, $2, 0, 0) "
                         "on conflict do nothing",
                         params);
    locked_source_ = source;
    spdlog::info("flusher: writing the events of {} shard {}", source, shard_);
  }
  co_return db;
}

void EventArchive::drop_connection() {
  connection_.reset();
  batch_open_ = false;
}

asio::awaitable<ports::BacklogPosition> EventArchive::stored_up_to(const std::string& source) {
  Connection& db = *co_await writer(source);
  const std::optional<std::string> params[] = {source, shard_text_};
  Result mark = co_await db.execute(
      "select last_ms, last_seq from stream_watermark where stream = $1 and shard = $2", params);
  if (mark.rows() == 0) co_return ports::BacklogPosition{};
  co_return ports::BacklogPosition{static_cast<std::uint64_t>(mark.as_int64(0, 0)),
                                   static_cast<std::uint64_t>(mark.as_int64(0, 1))};
}

asio::awaitable<void> EventArchive::begin_batch(const std::string& source) {
  try {
    Connection* db = co_await connection();
    if (db->in_transaction()) co_await db->execute("rollback");  // left open by a failed step
    db = co_await writer(source);
    // The savepoint lets a batch with a row PostgreSQL refuses be stored row by row in the
    // same transaction, still holding the lock.
    const Statement open[] = {{"begin", {}}, {std::string(kBatchLock), {}}, {"savepoint batch", {}}};
    co_await db->pipeline(open);
    batch_open_ = true;
  } catch (...) {
    drop_connection();
    throw;
  }
}

asio::awaitable<void> EventArchive::end_batch() {
  if (!batch_open_) co_return;
  batch_open_ = false;
  if (!connection_ || connection_->broken()) co_return;
  try {
    co_await connection_->execute("rollback");
  } catch (const std::exception&) {
    drop_connection();
  }
}

asio::awaitable<void> EventArchive::store_events(const std::string& source,
                                                const std::vector<ports::BacklogEntry>& entries) {
  if (entries.empty()) co_return;
  if (!batch_open_) co_await begin_batch(source);
  Connection& db = *connection_;
  std::string data;
  std::size_t bytes = 0;
  for (const auto& entry : entries) {
    for (const auto& record : entry.records) bytes += record.size() + 32;
  }
  data.reserve(bytes);
  for (const auto& entry : entries) {
    for (std::size_t i = 0; i < entry.records.size(); ++i) append_record(data, entry, i, shard_);
  }
  const auto& last = entries.back().position;
  std::vector<Statement> finish = {
      {std::string(kMarkUpdate), {std::to_string(last.ms), std::to_string(last.seq), source, shard_text_}},
      {"commit", {}}};
  bool fall_back = false;
  try {
    co_await db.copy_in(copy_events_sql(), data);
    co_await db.pipeline(finish);
    batch_open_ = false;
  } catch (const SqlError& error) {
    if (!error.is_data_error()) {
      drop_connection();
      throw;
    }
    spdlog::error("flusher: PostgreSQL refused a batch ({}); storing it row by row", error.what());
    fall_back = true;
  } catch (...) {
    // Leaves nothing half-done: the transaction dies with the connection.
    drop_connection();
    throw;
  }
  if (fall_back) co_await store_one_by_one(source, entries);
}

// The slow path for a batch with a row PostgreSQL refuses: back to the batch's savepoint,
// then every row in its own savepoint; refused rows go to events_rejected, so the backlog
// never blocks. The same transaction, so the batch keeps the erasure lock throughout.
asio::awaitable<void> EventArchive::store_one_by_one(const std::string& source,
                                                    const std::vector<ports::BacklogEntry>& entries) {
  Connection& db = *connection_;
  try {
    co_await db.execute("rollback to savepoint batch");
    for (const auto& entry : entries) {
      for (std::size_t i = 0; i < entry.records.size(); ++i) {
        std::string row;
        append_record(row, entry, i, shard_);
        co_await db.execute("savepoint one_row");
        std::optional<std::string> refusal;
        try {
          co_await db.copy_in(copy_events_sql(), row);
        } catch (const SqlError& error) {
          refusal = error.what();
        }
        if (!refusal) {
          co_await db.execute("release savepoint one_row");
          continue;
        }
        co_await db.execute("rollback to savepoint one_row");
        const std::optional<std::string> params[] = {(shard_ == 0 ? "" : shard_text_ + ":") +
                                                         entry.position.to_string() + "/" + std::to_string(i),
                                                     entry.records[i], refusal};
        co_await db.execute(
            "insert into events_rejected (stream_id, record, error) values ($1, $2, $3) on conflict do nothing",
            params);
        rejected_rows_.inc();
      }
    }
    const auto& last = entries.back().position;
    const std::optional<std::string> mark[] = {std::to_string(last.ms), std::to_string(last.seq), source,
                                               shard_text_};
    co_await db.execute(kMarkUpdate, mark);
    co_await db.execute("commit");
    batch_open_ = false;
  } catch (...) {
    drop_connection();
    throw;
  }
}

asio::awaitable<bool> EventArchive::apply_counters(const ports::CounterSnapshot& snapshot) {
  Connection& db = *co_await connection();
  try {
    co_await db.execute("begin");
    const std::optional<std::string> ledger[] = {snapshot.flush_id, std::to_string(snapshot.deltas.size())};
    Result recorded = co_await db.execute(
        "insert into flush_ledger (flush_id, kind, rows) values ($1, 'counters', $2) on conflict do nothing",
        ledger);
    if (recorded.affected_rows() == 0) {
      co_await db.execute("rollback");
      co_return false;
    }
    if (!snapshot.deltas.empty()) {
      co_await db.copy_in("copy stats_delta from stdin", delta_rows(snapshot.deltas));
    }
    const Statement apply[] = {
        {"insert into event_stats as s (bucket, event_type, component_id, post_id, keyword, count) "
         "select bucket, event_type, component_id, post_id, keyword, delta from stats_delta "
         "on conflict (event_type, component_id, post_id, keyword, bucket) "
         "do update set count = s.count + excluded.count",
         {}},
        {"insert into event_totals as t (event_type, component_id, post_id, keyword, count) "
         "select event_type, component_id, post_id, keyword, sum(delta) from stats_delta "
         "group by event_type, component_id, post_id, keyword "
         "on conflict (event_type, component_id, post_id, keyword) do update set count = t.count + excluded.count",
         {}},
        {"commit", {}}};
    co_await db.pipeline(apply);
    co_return true;
  } catch (...) {
    drop_connection();
    throw;
  }
}

asio::awaitable<std::int64_t> EventArchive::maintain_partitions(int days_ahead, int retention_days) {
  Connection& db = *co_await connection();
  const std::optional<std::string> ahead[] = {std::to_string(days_ahead + 2)};
  co_await db.execute("select ensure_event_partitions((now() at time zone 'UTC')::date - 1, $1::int)", ahead);
  if (retention_days > 0) {
    const std::optional<std::string> keep[] = {std::to_string(retention_days)};
    co_await db.execute("select drop_event_partitions_before((now() at time zone 'UTC')::date - $1::int)", keep);
  }
  Result stray = co_await db.execute("select count(*) from events_default");
  co_return stray.as_int64(0, 0);
}

}  // namespace tracker::postgres
