#include "redis/event_backlog.hpp"

#include <algorithm>
#include <cstdio>
#include <random>

#include "ports/errors.hpp"
#include "redis/errors.hpp"
#include "redis/keys.hpp"
#include "redis/lua_scripts.hpp"

namespace tracker::redis {

namespace {
constexpr std::string_view kConsumer = "flusher";

void split_rows(std::string_view rows, std::vector<std::string>& records) {
  while (!rows.empty()) {
    auto end = rows.find('\n');
    records.emplace_back(rows.substr(0, end));
    if (end == std::string_view::npos) break;
    rows.remove_prefix(end + 1);
  }
}
}  // namespace

EventBacklog::EventBacklog(std::shared_ptr<Commands> connection, milliseconds timeout, std::uint32_t shard)
    : connection_(std::move(connection)),
      timeout_(timeout),
      stream_(keys::stream(keys::shard_tag(shard))),
      backlog_(keys::backlog(keys::shard_tag(shard))),
      ack_script_(lua::ack_entries) {}

asio::awaitable<void> EventBacklog::ensure_group() {
  if (group_ready_) co_return;
  const std::string_view create[] = {"XGROUP", "CREATE", stream_, keys::kStreamGroup, "0", "MKSTREAM"};
  try {
    co_await connection_->execute(create, timeout_);
  } catch (const ReplyError& error) {
    if (error.prefix() != "BUSYGROUP") throw;  // created before: what we wanted
  }
  group_ready_ = true;
}

asio::awaitable<std::vector<ports::BacklogEntry>> EventBacklog::read_group(std::size_t max,
                                                                         std::string_view from) {
  std::string count = std::to_string(max);
  const std::string_view command[] = {"XREADGROUP", "GROUP", keys::kStreamGroup, kConsumer, "COUNT",
                                      count, "STREAMS", stream_, from};
  Reply reply;
  try {
    reply = co_await connection_->execute(command, timeout_);
  } catch (const ReplyError& error) {
    if (error.prefix() == "NOGROUP") group_ready_ = false;  // the stream was deleted
    throw;
  }
  std::vector<ports::BacklogEntry> entries;
  if (reply.is_nil() || reply.elements.empty()) co_return entries;
  // [[stream, [[id, [field, value, ...]] | [id, nil], ...]]]
  Reply& items = reply.elements.at(0).elements.at(1);
  entries.reserve(items.elements.size());
  for (Reply& item : items.elements) {
    ports::BacklogEntry entry;
    entry.position = ports::BacklogPosition::parse(item.elements.at(0).text);
    // The field "rows": the events' COPY rows, one per line. Entries written by earlier
    // versions hold one row per field r0, r1, ... instead. A deleted entry has none.
    Reply& fields = item.elements.at(1);
    for (std::size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
      const std::string& name = fields.elements[i].text;
      std::string& value = fields.elements[i + 1].text;
      if (name == "rows") {
        split_rows(value, entry.records);
      } else if (name.starts_with('r')) {
        entry.records.push_back(std::move(value));
      }
    }
    entries.push_back(std::move(entry));
  }
  co_return entries;
}

asio::awaitable<std::vector<ports::BacklogEntry>> EventBacklog::next_batch(std::size_t max_events) {
  // An entry holds the events of one ingest call, from one to a thousand: ask for as many
  // entries as, at the recent average size, make up about max_events events.
  const std::size_t max = std::clamp<std::size_t>(
      static_cast<std::size_t>(static_cast<double>(max_events) / std::max(1.0, events_per_entry_)), 1, 10'000);
  co_await ensure_group();
  if (maybe_unacknowledged_) {
    // "0" re-reads what was handed to this consumer and never acknowledged.
    auto pending = co_await read_group(max, "0");
    more_after_this_batch_ = pending.size() == max;
    if (!pending.empty()) co_return pending;
  }
  more_after_this_batch_ = false;
  auto fresh = co_await read_group(max, ">");
  maybe_unacknowledged_ = !fresh.empty();
  if (!fresh.empty()) {
    std::size_t events = 0;
    for (const auto& entry : fresh) events += entry.records.size();
    events_per_entry_ = 0.7 * events_per_entry_ + 0.3 * static_cast<double>(events) / static_cast<double>(fresh.size());
  }
  co_return fresh;
}

asio::awaitable<void> EventBacklog::acknowledge(const std::vector<ports::BacklogEntry>& entries) {
  if (entries.empty()) co_return;
  std::size_t events = 0;
  for (const auto& entry : entries) events += entry.records.size();
  std::vector<std::string> ids;
  ids.reserve(entries.size() + 2);
  ids.emplace_back(keys::kStreamGroup);
  ids.push_back(std::to_string(events));
  for (const auto& entry : entries) ids.push_back(entry.position.to_string());
  std::vector<std::string_view> args(ids.begin(), ids.end());
  const std::string_view script_keys[] = {stream_, backlog_};
  co_await ack_script_.run(*connection_, script_keys, args, timeout_);
  // Batches are acknowledged whole and in order, so nothing handed out is left over.
  maybe_unacknowledged_ = more_after_this_batch_;
}

asio::awaitable<std::string> backlog_source(Commands& connection, milliseconds timeout) {
  std::random_device random;
  char id[17];
  std::snprintf(id, sizeof id, "%08x%08x", random(), random());
  const std::string_view claim[] = {"SET", keys::kInstance, id, "NX"};
  co_await connection.execute(claim, timeout);
  const std::string_view get[] = {"GET", keys::kInstance};
  Reply reply = co_await connection.execute(get, timeout);
  if (!reply.is_string() || reply.text.empty()) throw ports::StoreRejected("cannot read " + std::string(keys::kInstance));
  co_return std::string(keys::kBacklogSource) + "@" + reply.text;
}

asio::awaitable<std::string> EventBacklog::source() { co_return co_await backlog_source(*connection_, timeout_); }

asio::awaitable<std::size_t> EventBacklog::size() {
  const std::string_view command[] = {"GET", backlog_};
  Reply reply = co_await connection_->execute(command, timeout_);
  co_return static_cast<std::size_t>(std::max<std::int64_t>(0, reply.as_int()));
}

// Acknowledged entries are deleted from the stream (lua/ack_entries.lua), so its first
// entry is the oldest one not yet in PostgreSQL.
asio::awaitable<std::optional<ports::BacklogPosition>> EventBacklog::oldest() {
  const std::string_view command[] = {"XRANGE", stream_, "-", "+", "COUNT", "1"};
  Reply reply = co_await connection_->execute(command, timeout_);
  if (reply.elements.empty() || reply.elements.front().elements.empty()) co_return std::nullopt;
  try {
    co_return ports::BacklogPosition::parse(reply.elements.front().elements.front().text);
  } catch (const std::invalid_argument& error) {
    throw ports::StoreRejected(error.what());
  }
}

}  // namespace tracker::redis
