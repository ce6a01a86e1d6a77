#include "redis/statistics_reader.hpp"

#include "domain/query_shape.hpp"
#include "domain/time_format.hpp"
#include "ports/errors.hpp"
#include "redis/keys.hpp"
#include "redis/lua_scripts.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace tracker::redis {

namespace {

std::vector<std::int64_t> numbers(const Reply& reply) {
  std::vector<std::int64_t> values;
  values.reserve(reply.elements.size());
  for (const Reply& element : reply.elements) values.push_back(element.as_int());
  return values;
}

metrics::Counter& snapshot_reads(metrics::Registry& metrics, std::string_view result) {
  return metrics.counter("tracker_statistics_snapshot_reads_total",
                         "Counter snapshots a statistics read met: read from Redis, remembered from an "
                         "earlier read, or skipped (already in the PostgreSQL reading)",
                         "result=\"" + std::string(result) + "\"");
}

}  // namespace

StatisticsReader::StatisticsReader(std::shared_ptr<Commands> connection, metrics::Registry& metrics,
                                   milliseconds timeout, Shards shards)
    : connection_(std::move(connection)),
      timeout_(timeout),
      shards_(std::move(shards)),
      read_counts_(lua::read_counts),
      snapshots_remembered_(snapshot_reads(metrics, "remembered")),
      snapshots_read_(snapshot_reads(metrics, "read")),
      snapshots_skipped_(snapshot_reads(metrics, "skipped")) {}

asio::awaitable<StatisticsReader::Counts> StatisticsReader::read(const std::string& request, std::string_view kind,
                                                                 std::span<const std::string_view> arguments,
                                                                 std::span<const std::string> skip) {
  // A copy: another request of this thread may change the memo while this one waits.
  auto known = request.empty() ? decltype(memo_.known(request)){} : memo_.known(request);
  auto skipped = [&](const std::string& flush_id) { return std::find(skip.begin(), skip.end(), flush_id) != skip.end(); };
  std::string known_count = std::to_string(known.size() + skip.size());
  std::vector<std::string_view> args;
  args.reserve(2 + known.size() + skip.size() + arguments.size());
  args.push_back(kind);
  args.push_back(known_count);
  for (const auto& [flush_id, values] : known) args.push_back(flush_id);
  args.insert(args.end(), skip.begin(), skip.end());
  args.insert(args.end(), arguments.begin(), arguments.end());
  Counts counts;
  std::vector<std::string> listed;
  const bool totals = kind == "totals";
  std::vector<Reply> replies;
  if (shards_.count() == 1) {
    replies.push_back(co_await read_shard(shards_.tag(0), totals, args));
  } else {
    // All shards at once: on one connection the calls go out together (one round trip),
    // in a Cluster to several masters in parallel.
    using Call = decltype(asio::co_spawn(connection_->executor(), read_shard(shards_.tag(0), totals, args),
                                         asio::deferred));
    std::vector<Call> calls;
    calls.reserve(shards_.count());
    for (const std::string& tag : shards_.tags()) {
      calls.push_back(asio::co_spawn(connection_->executor(), read_shard(tag, totals, args), asio::deferred));
    }
    auto [order, failures, answers] = co_await asio::experimental::make_parallel_group(std::move(calls))
                                          .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    for (const std::exception_ptr& failure : failures) {
      if (failure) std::rethrow_exception(failure);
    }
    replies = std::move(answers);
  }
  for (Reply& reply : replies) {
    if (reply.elements.empty()) throw ports::StoreRejected("reading counters: empty reply");
    // Live values add up over the shards: totals one per field, minutes as (minute, value)
    // pairs, which the caller sums per bucket anyway.
    SnapshotMemo::Values live = numbers(reply.elements[0]);
    if (counts.live.empty()) {
      counts.live = std::move(live);
    } else if (totals) {
      for (std::size_t i = 0; i < live.size() && i < counts.live.size(); ++i) counts.live[i] += live[i];
    } else {
      counts.live.insert(counts.live.end(), live.begin(), live.end());
    }
    for (std::size_t i = 1; i + 1 < reply.elements.size(); i += 2) {
      std::string& flush_id = reply.elements[i].text;
      const Reply& values = reply.elements[i + 1];
      listed.push_back(flush_id);
      if (values.is_nil() && skipped(flush_id)) {
        snapshots_skipped_.inc();
      } else if (values.is_nil()) {
        auto it = std::find_if(known.begin(), known.end(), [&](const auto& entry) { return entry.first == flush_id; });
        if (it == known.end()) throw ports::StoreRejected("reading counters: a snapshot left out that was not known");
        snapshots_remembered_.inc();
        counts.snapshots.emplace_back(std::move(flush_id), std::move(it->second));
      } else {
        snapshots_read_.inc();
        if (!request.empty()) memo_.keep(flush_id, request, numbers(values));
        counts.snapshots.emplace_back(std::move(flush_id), numbers(values));
      }
    }
  }
  if (!request.empty()) memo_.retain_only(listed);
  co_return counts;
}

// One shard's counters (lua/read_counts.lua), `arguments` being the script's ARGV.
asio::awaitable<Reply> StatisticsReader::read_shard(const std::string& tag, bool totals,
                                                    std::span<const std::string_view> arguments) {
  const std::string script_keys[] = {totals ? keys::live_totals(tag) : keys::live_minutes(tag),
                                     keys::live_minute_index(tag), keys::snapshots(tag),
                                     totals ? keys::snapshot_totals_prefix(tag) : keys::snapshot_minutes_prefix(tag),
                                     keys::snapshot_minute_index_prefix(tag)};
  const std::vector<std::string_view> key_views(std::begin(script_keys), std::end(script_keys));
  co_return co_await read_counts_.run(*connection_, key_views, arguments, timeout_);
}

asio::awaitable<ports::LiveReading> StatisticsReader::totals(std::span<const ports::CounterKey> keys,
                                                             std::span<const std::string> skip) {
  std::vector<std::string> fields;
  fields.reserve(keys.size());
  for (const auto& key : keys) fields.push_back(domain::shape_field(key));
  std::vector<std::string_view> arguments(fields.begin(), fields.end());
  // Not remembered: a snapshot costs a totals read one field lookup, little more than
  // naming it, and keeping the answers of many different counts cost more than it saved.
  Counts counts = co_await read({}, "totals", arguments, skip);
  ports::LiveReading reading;
  reading.live = std::move(counts.live);
  for (auto& [flush_id, values] : counts.snapshots) reading.snapshots.push_back({std::move(flush_id), std::move(values)});
  co_return reading;
}

asio::awaitable<ports::LiveReading> StatisticsReader::buckets(const ports::CounterKey& key, std::int64_t from_ms,
                                                              std::int64_t to_ms, std::int64_t width_ms,
                                                              std::span<const std::string> skip) {
  // The script answers only the minutes each hash holds, as (minute, value) pairs.
  std::string prefix = domain::minute_field(domain::shape_field(key), "");
  std::string from = std::to_string(from_ms);
  std::string to = std::to_string(to_ms);
  const std::string_view arguments[] = {prefix, from, to};
  std::string request = "minutes\n" + prefix + "\n" + from + "\n" + to;
  Counts counts = co_await read(request, "minutes", arguments, skip);
  const std::int64_t span = std::max<std::int64_t>(0, to_ms - from_ms);
  const std::int64_t width = std::max<std::int64_t>(width_ms, domain::kMinuteMs);
  const auto buckets = static_cast<std::size_t>((span + width - 1) / width);
  auto dense = [&](const SnapshotMemo::Values& pairs) {
    std::vector<std::int64_t> values(buckets, 0);
    for (std::size_t i = 0; i + 1 < pairs.size(); i += 2) {
      if (pairs[i] < from_ms) continue;
      const auto index = static_cast<std::size_t>((pairs[i] - from_ms) / width);
      if (index < buckets) values[index] += pairs[i + 1];
    }
    return values;
  };
  ports::LiveReading reading;
  reading.live = dense(counts.live);
  for (const auto& [flush_id, pairs] : counts.snapshots) reading.snapshots.push_back({flush_id, dense(pairs)});
  co_return reading;
}

// A user's events all go to the user's shard, so the shards' sets of users are disjoint
// and the number of unique users is the sum of the shards' counts (each as exact as a
// HyperLogLog is: about 0.8 %).
asio::awaitable<std::int64_t> StatisticsReader::unique_users(const std::string& event_type,
                                                             const std::string& day) {
  std::int64_t users = 0;
  for (const std::string& tag : shards_.tags()) {
    std::string key = keys::unique_users(tag, event_type, day);
    const std::string_view command[] = {"PFCOUNT", key};
    Reply reply = co_await connection_->execute(command, timeout_);
    users += reply.as_int();
  }
  co_return users;
}

asio::awaitable<std::vector<std::int64_t>> StatisticsReader::events_in_minute(
    const std::vector<std::string>& event_types, std::int64_t minute_start) {
  std::vector<std::int64_t> counts(event_types.size(), 0);
  for (const std::string& tag : shards_.tags()) {  // one MGET per shard: one slot each
    std::vector<std::string> counter_keys;
    for (const auto& type : event_types) counter_keys.push_back(keys::minute_count(tag, type, minute_start));
    std::vector<std::string_view> command{"MGET"};
    command.insert(command.end(), counter_keys.begin(), counter_keys.end());
    Reply reply = co_await connection_->execute(command, timeout_);
    std::vector<std::int64_t> values = numbers(reply);
    for (std::size_t i = 0; i < values.size() && i < counts.size(); ++i) counts[i] += values[i];
  }
  co_return counts;
}

asio::awaitable<std::int64_t> StatisticsReader::backlog() {
  std::int64_t waiting = 0;
  for (const std::string& tag : shards_.tags()) {
    std::string key = keys::backlog(tag);
    const std::string_view command[] = {"GET", key};
    Reply reply = co_await connection_->execute(command, timeout_);
    waiting += std::max<std::int64_t>(0, reply.as_int());
  }
  co_return waiting;
}

}  // namespace tracker::redis
