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

std::string shape_field(std::string_view event_type, std::int64_t component_id,
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

std::vector<std::string> event_shapes(std::string_view event_type, std::int64_t component_id,
                                      std::optional<std::int64_t> post_id,
                                      const std::optional<std::string>& keyword) {
  std::vector<std::string> shapes;
  shapes.reserve(5);
  shapes.push_back(shape_field(event_type, 0, std::nullopt, std::nullopt));
  shapes.push_back(shape_field(event_type, component_id, std::nullopt, std::nullopt));
  if (post_id) shapes.push_back(shape_field(event_type, component_id, post_id, std::nullopt));
  if (keyword) {
    shapes.push_back(shape_field(event_type, component_id, std::nullopt, keyword));
    if (post_id) shapes.push_back(shape_field(event_type, component_id, post_id, keyword));
  }
  return shapes;
}

std::optional<ports::CounterDelta> parse_minute_field(std::string_view field, std::int64_t delta) {
  auto last_bar = field.rfind('|');
  if (last_bar == std::string_view::npos) return std::nullopt;
  auto minute = to_int(field.substr(last_bar + 1));
  std::vector<std::string_view> parts;
  if (!minute || !split_fields(field.substr(0, last_bar), 3, parts) || parts[0].empty()) return std::nullopt;
  ports::CounterDelta out;
  out.bucket_ms = *minute;
  out.event_type = std::string(parts[0]);
  auto component = parts[1] == "*" ? std::optional<std::int64_t>(0) : to_int(parts[1]);
  if (!component) return std::nullopt;
  out.component_id = *component;
  if (parts[2] != "*") {
    out.post_id = to_int(parts[2]);
    if (!out.post_id) return std::nullopt;
  }
  if (parts[3] != "*") out.keyword = std::string(parts[3]);
  out.delta = delta;
  return out;
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
  std::string minutes_key = keys::snapshot_minutes(flush_id);
  const std::string_view command[] = {"HGETALL", minutes_key};
  Reply minutes = co_await connection_->execute(command, timeout_);
  ports::CounterSnapshot snapshot;
  snapshot.flush_id = flush_id;
  snapshot.deltas = parse_hash(minutes, parse_minute_field);
  co_return snapshot;
}

asio::awaitable<void> CounterSource::drop_snapshot(const std::string& flush_id) {
  std::string totals_key = keys::snapshot_totals(flush_id);
  std::string minutes_key = keys::snapshot_minutes(flush_id);
  std::string index_key = keys::snapshot_minute_index(flush_id);
  const std::string_view del[] = {"DEL", totals_key, minutes_key, index_key};
  const std::string_view forget[] = {"ZREM", keys::kSnapshots, flush_id};
  // Hashes first: a crash in between leaves an id whose (empty) snapshot the ledger
  // already knows, which is then just dropped again.
  co_await connection_->execute(del, timeout_);
  co_await connection_->execute(forget, timeout_);
}

}  // namespace tracker::redis
