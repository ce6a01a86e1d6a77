#include "redis/counter_source.hpp"

#include "ports/errors.hpp"
#include "redis/keys.hpp"
#include "redis/lua_scripts.hpp"

#include <charconv>
#include <chrono>

namespace tracker::redis {

namespace {

std::optional<std::int64_t> to_int(std::string_view text) {
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Splits off `count` '|'-separated parts; the rest (which may contain '|') is last.
bool split_fields(std::string_view field, std::size_t count, std::vector<std::string_view>& parts) {
  parts.clear();
  for (std::size_t i = 0; i < count; ++i) {
    auto bar = field.find('|');
    if (bar == std::string_view::npos) return false;
    parts.push_back(field.substr(0, bar));
    field.remove_prefix(bar + 1);
  }
  parts.push_back(field);
  return true;
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
  std::vector<std::string_view> parts;
  if (!split_fields(field, 4, parts)) return std::nullopt;
  ports::CounterDelta out;
  auto minute = to_int(parts[0]);
  auto component = to_int(parts[2]);
  if (!minute || !component || parts[1].empty()) return std::nullopt;
  out.bucket_ms = *minute;
  out.event_type = std::string(parts[1]);
  out.component_id = *component;
  if (!parts[3].empty()) {
    out.post_id = to_int(parts[3]);
    if (!out.post_id) return std::nullopt;
  }
  if (!parts[4].empty()) out.keyword = std::string(parts[4]);
  out.delta = delta;
  return out;
}

std::optional<ports::CounterDelta> parse_total_field(std::string_view field, std::int64_t delta) {
  std::vector<std::string_view> parts;
  if (!split_fields(field, 3, parts)) return std::nullopt;
  ports::CounterDelta out;
  auto component = parts[1] == "*" ? std::optional<std::int64_t>(0) : to_int(parts[1]);
  if (!component || parts[0].empty()) return std::nullopt;
  out.event_type = std::string(parts[0]);
  out.component_id = *component;
  if (parts[2] != "*") {
    out.post_id = to_int(parts[2]);
    if (!out.post_id) return std::nullopt;
  }
  if (parts[3] != "*") out.keyword = std::string(parts[3]);
  out.delta = delta;
  return out;
}

std::string total_field(std::string_view event_type, std::int64_t component_id,
                        std::optional<std::int64_t> post_id, const std::optional<std::string>& keyword) {
  std::string field(event_type);
  field += '|';
  field += component_id == 0 ? "*" : std::to_string(component_id);
  field += '|';
  field += post_id ? std::to_string(*post_id) : "*";
  field += '|';
  field += keyword ? *keyword : "*";
  return field;
}

CounterSource::CounterSource(std::shared_ptr<Connection> connection, milliseconds timeout)
    : connection_(std::move(connection)), timeout_(timeout), take_script_(lua::take_snapshot) {}

asio::awaitable<std::optional<std::string>> CounterSource::take_snapshot() {
  using namespace std::chrono;
  auto now_ms = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  char suffix[17];
  std::snprintf(suffix, sizeof suffix, "%016llx", static_cast<unsigned long long>(random_()));
  std::string flush_id = std::to_string(now_ms) + "-" + suffix;
  const std::string_view args[] = {flush_id};
  Reply reply = co_await take_script_.run(*connection_, {}, args, timeout_);
  if (reply.is_error()) throw ports::StoreRejected("taking a counter snapshot failed: " + reply.text);
  if (reply.as_int() == 0) co_return std::nullopt;
  co_return flush_id;
}

asio::awaitable<std::vector<std::string>> CounterSource::open_snapshots() {
  const std::string_view command[] = {"ZRANGE", keys::kSnapshots, "0", "-1"};
  Reply reply = co_await connection_->execute(command, timeout_);
  std::vector<std::string> ids;
  for (auto& element : reply.elements) ids.push_back(std::move(element.text));
  co_return ids;
}

asio::awaitable<ports::CounterSnapshot> CounterSource::read_snapshot(const std::string& flush_id) {
  std::string stats_key = keys::snapshot_stats(flush_id);
  std::string totals_key = keys::snapshot_totals(flush_id);
  const std::string_view stats_command[] = {"HGETALL", stats_key};
  const std::string_view totals_command[] = {"HGETALL", totals_key};
  Reply stats = co_await connection_->execute(stats_command, timeout_);
  Reply totals = co_await connection_->execute(totals_command, timeout_);
  ports::CounterSnapshot snapshot;
  snapshot.flush_id = flush_id;
  snapshot.minute_deltas = parse_hash(stats, parse_minute_field);
  snapshot.total_deltas = parse_hash(totals, parse_total_field);
  co_return snapshot;
}

asio::awaitable<void> CounterSource::drop_snapshot(const std::string& flush_id) {
  std::string stats_key = keys::snapshot_stats(flush_id);
  std::string totals_key = keys::snapshot_totals(flush_id);
  std::string series_key = keys::snapshot_series(flush_id);
  const std::string_view del[] = {"DEL", stats_key, totals_key, series_key};
  const std::string_view forget[] = {"ZREM", keys::kSnapshots, flush_id};
  // Hashes first: a crash in between leaves an id whose (empty) snapshot the ledger
  // already knows, which is then just dropped again.
  co_await connection_->execute(del, timeout_);
  co_await connection_->execute(forget, timeout_);
}

}  // namespace tracker::redis
