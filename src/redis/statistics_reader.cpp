#include "redis/statistics_reader.hpp"

#include "domain/time_format.hpp"
#include "ports/errors.hpp"
#include "redis/counter_source.hpp"
#include "redis/keys.hpp"
#include "redis/lua_scripts.hpp"

namespace tracker::redis {

namespace {

std::vector<std::int64_t> numbers(const Reply& reply) {
  std::vector<std::int64_t> values;
  values.reserve(reply.elements.size());
  for (const Reply& element : reply.elements) values.push_back(element.as_int());
  return values;
}

std::string field_of(const ports::CounterKey& key) {
  return shape_field(key.event_type, key.component_id,
                     key.post_id ? std::optional<std::int64_t>(key.post_id) : std::nullopt,
                     key.keyword.empty() ? std::nullopt : std::optional<std::string>(key.keyword));
}

void check(const Reply& reply, std::string_view what) {
  if (reply.is_error()) throw ports::StoreRejected(std::string(what) + ": " + reply.text);
}

}  // namespace

StatisticsReader::StatisticsReader(std::shared_ptr<Connection> connection, milliseconds timeout)
    : connection_(std::move(connection)),
      timeout_(timeout),
      read_counts_(lua::read_counts) {}

asio::awaitable<ports::LiveReading> StatisticsReader::totals(std::span<const ports::CounterKey> keys) {
  std::vector<std::string> fields;
  fields.reserve(keys.size());
  for (const auto& key : keys) fields.push_back(field_of(key));
  std::vector<std::string_view> args;
  args.reserve(fields.size() + 1);
  args.push_back("totals");
  args.insert(args.end(), fields.begin(), fields.end());
  Reply reply = co_await read_counts_.run(*connection_, {}, args, timeout_);
  check(reply, "reading counters");
  if (reply.elements.empty()) throw ports::StoreRejected("reading counters: empty reply");
  ports::LiveReading reading;
  reading.live = numbers(reply.elements[0]);
  for (std::size_t i = 1; i + 1 < reply.elements.size(); i += 2) {
    reading.snapshots.push_back({reply.elements[i].text, numbers(reply.elements[i + 1])});
  }
  co_return reading;
}

asio::awaitable<ports::LiveReading> StatisticsReader::minutes(const ports::CounterKey& key, std::int64_t from_ms,
                                                              std::int64_t to_ms) {
  // The script answers only the minutes each hash holds, as (minute, value) pairs.
  std::string prefix = field_of(key) + "|";
  std::string from = std::to_string(from_ms);
  std::string to = std::to_string(to_ms);
  const std::string_view args[] = {"minutes", prefix, from, to};
  Reply reply = co_await read_counts_.run(*connection_, {}, args, timeout_);
  check(reply, "reading counters");
  if (reply.elements.empty()) throw ports::StoreRejected("reading counters: empty reply");
  const std::int64_t span = std::max<std::int64_t>(0, to_ms - from_ms);
  const auto minutes = static_cast<std::size_t>((span + domain::kMinuteMs - 1) / domain::kMinuteMs);
  auto dense = [&](const Reply& pairs) {
    std::vector<std::int64_t> values(minutes, 0);
    for (std::size_t i = 0; i + 1 < pairs.elements.size(); i += 2) {
      std::int64_t index = (pairs.elements[i].as_int() - from_ms) / domain::kMinuteMs;
      if (index >= 0 && static_cast<std::size_t>(index) < minutes) values[index] += pairs.elements[i + 1].as_int();
    }
    return values;
  };
  ports::LiveReading reading;
  reading.live = dense(reply.elements[0]);
  for (std::size_t i = 1; i + 1 < reply.elements.size(); i += 2) {
    reading.snapshots.push_back({reply.elements[i].text, dense(reply.elements[i + 1])});
  }
  co_return reading;
}

asio::awaitable<std::int64_t> StatisticsReader::unique_users(const std::string& event_type,
                                                             const std::string& day) {
  std::string key = "et:uu:" + event_type + ":" + day;
  const std::string_view command[] = {"PFCOUNT", key};
  Reply reply = co_await connection_->execute(command, timeout_);
  check(reply, "PFCOUNT");
  co_return reply.as_int();
}

asio::awaitable<std::vector<std::int64_t>> StatisticsReader::events_in_minute(
    const std::vector<std::string>& event_types, std::int64_t minute_start) {
  std::vector<std::string> keys;
  for (const auto& type : event_types) keys.push_back("et:rt:" + type + ":" + std::to_string(minute_start));
  std::vector<std::string_view> command{"MGET"};
  command.insert(command.end(), keys.begin(), keys.end());
  Reply reply = co_await connection_->execute(command, timeout_);
  check(reply, "MGET");
  co_return numbers(reply);
}

asio::awaitable<std::int64_t> StatisticsReader::backlog() {
  const std::string_view command[] = {"GET", keys::kBacklog};
  Reply reply = co_await connection_->execute(command, timeout_);
  check(reply, "GET");
  co_return std::max<std::int64_t>(0, reply.as_int());
}

}  // namespace tracker::redis
