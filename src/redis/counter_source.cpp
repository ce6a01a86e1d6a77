#include "redis/counter_source.hpp"

#include "domain/query_shape.hpp"
#include "ports/errors.hpp"
#include "redis/keys.hpp"
#include "redis/lua_scripts.hpp"

#include <charconv>
#include <chrono>
#include <iterator>

namespace tracker::redis {

namespace {

std::optional<std::int64_t> to_int(std::string_view text) {
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::vector<ports::CounterDelta> parse_hash(const Reply& reply,
                                            std::optional<ports::CounterDelta> (*parse)(std::string_view, std::int64_t)) {
  std::vector<ports::CounterDelta> deltas;
  deltas.reserve(reply.elements.size() / 2);
  for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    auto count = to_int(reply.elements[i + 1].text);
    auto delta = count ? parse(reply.elements[i].text, *count) : std::nullopt;
    if (!delta) throw ports::StoreRejected("malformed counter field: " + reply.elements[i].text);
    if (delta->delta != 0) deltas.push_back(std::move(*delta));
  }
  return deltas;
}

}  // namespace

std::optional<ports::CounterDelta> parse_minute_field(std::string_view field, std::int64_t delta) {
  auto parsed = domain::parse_minute_field(field);
  if (!parsed) return std::nullopt;
  domain::QueryShape& shape = parsed->shape;
  ports::CounterDelta out;
  out.bucket_ms = parsed->minute_ms;
  out.event_type = std::move(shape.event_type);
  out.component_id = shape.component_id;
  if (shape.post_id != 0) out.post_id = shape.post_id;
  if (!shape.keyword.empty()) out.keyword = std::move(shape.keyword);
  out.delta = delta;
  return out;
}

CounterSource::CounterSource(std::shared_ptr<Commands> connection, milliseconds timeout, std::uint32_t shard)
    : connection_(std::move(connection)),
      timeout_(timeout),
      shard_(shard),
      tag_(keys::shard_tag(shard)),
      take_script_(lua::take_snapshot) {}

asio::awaitable<std::optional<std::string>> CounterSource::take_snapshot() {
  using namespace std::chrono;
  auto now_ms = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  char suffix[17];
  std::snprintf(suffix, sizeof suffix, "%016llx", static_cast<unsigned long long>(random_()));
  // Shard 0 keeps the form of ids made before shards.
  std::string flush_id = std::to_string(now_ms);
  flush_id += '-';
  if (shard_ != 0) {
    flush_id += 's';
    flush_id += std::to_string(shard_);
    flush_id += '-';
  }
  flush_id += suffix;
  const std::string script_keys[] = {keys::snapshots(tag_),
                                     keys::live_totals(tag_),
                                     keys::live_minutes(tag_),
                                     keys::live_minute_index(tag_),
                                     keys::snapshot_totals(tag_, flush_id),
                                     keys::snapshot_minutes(tag_, flush_id),
                                     keys::snapshot_minute_index(tag_, flush_id)};
  const std::vector<std::string_view> key_views(std::begin(script_keys), std::end(script_keys));
  const std::string_view args[] = {flush_id};
  Reply reply = co_await take_script_.run(*connection_, key_views, args, timeout_);
  if (reply.as_int() == 0) co_return std::nullopt;
  co_return flush_id;
}

asio::awaitable<std::vector<std::string>> CounterSource::open_snapshots() {
  std::string snapshots_key = keys::snapshots(tag_);
  const std::string_view command[] = {"ZRANGE", snapshots_key, "0", "-1"};
  Reply reply = co_await connection_->execute(command, timeout_);
  std::vector<std::string> ids;
  for (auto& element : reply.elements) ids.push_back(std::move(element.text));
  co_return ids;
}

asio::awaitable<ports::CounterSnapshot> CounterSource::read_snapshot(const std::string& flush_id) {
  std::string minutes_key = keys::snapshot_minutes(tag_, flush_id);
  const std::string_view command[] = {"HGETALL", minutes_key};
  Reply minutes = co_await connection_->execute(command, timeout_);
  ports::CounterSnapshot snapshot;
  snapshot.flush_id = flush_id;
  snapshot.deltas = parse_hash(minutes, parse_minute_field);
  co_return snapshot;
}

asio::awaitable<void> CounterSource::drop_snapshot(const std::string& flush_id) {
  std::string totals_key = keys::snapshot_totals(tag_, flush_id);
  std::string minutes_key = keys::snapshot_minutes(tag_, flush_id);
  std::string index_key = keys::snapshot_minute_index(tag_, flush_id);
  std::string snapshots_key = keys::snapshots(tag_);
  const std::string_view del[] = {"DEL", totals_key, minutes_key, index_key};
  const std::string_view forget[] = {"ZREM", snapshots_key, flush_id};
  // Hashes first: a crash in between leaves an id whose (empty) snapshot the ledger
  // already knows, which is then just dropped again.
  co_await connection_->execute(del, timeout_);
  co_await connection_->execute(forget, timeout_);
}

}  // namespace tracker::redis
